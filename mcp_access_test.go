package echelon

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// initializeBody is a client's first MCP request.
const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

func mcpPost(t *testing.T, auth string) (int, string) {
	t.Helper()
	h := http.Header{}
	if auth != "" {
		h.Set("Authorization", auth)
	}
	status, _, body := mcpPostWith(t, h)
	return status, body
}

// mcpPostWith sends the initialize request with extra headers.
func mcpPostWith(t *testing.T, extra http.Header) (int, http.Header, string) {
	t.Helper()
	h := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json, text/event-stream"}}
	for k, v := range extra {
		h[k] = v
	}
	return do(t, "POST", mcpEndpoint, strings.NewReader(initializeBody), h)
}

// TestMCP_HTTPRefusesMissingOrWrongBearer: the endpoint is behind the
// API's access policy: no credential or a wrong bearer is a 401 with the
// API's JSON error, and the SDK's client cannot connect; the right bearer
// initializes.
func TestMCP_HTTPRefusesMissingOrWrongBearer(t *testing.T) {
	startCaddy(t, "secret "+testSecret)
	for _, auth := range []string{"", "Bearer wrong", "Bearer " + testSecret[:4], "Basic " + testSecret} {
		if status, body := mcpPost(t, auth); status != 401 || body != `{"error":"unauthorized"}` {
			t.Errorf("Authorization %q: %d %s", auth, status, body)
		}
	}
	for _, token := range []string{"", "wrong"} {
		if cs, err := connectHTTP(t, token); err == nil {
			cs.Close()
			t.Errorf("the SDK client connected with bearer %q", token)
		}
	}
	status, hdr, body := mcpPostWith(t, bearer(testSecret))
	if status != 200 || !strings.Contains(body, `"echelon-analytics"`) {
		t.Fatalf("initialize with the bearer: %d %s", status, body)
	}
	// The answer streams as server-sent events through the security
	// headers, and carries them.
	if ct := hdr.Get("Content-Type"); ct != "text/event-stream" || !strings.HasPrefix(body, "event: message\n") || hdr.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("initialize answer: Content-Type %q, nosniff %q, body %q", ct, hdr.Get("X-Content-Type-Options"), body)
	}
	// Stateless: no standalone stream, no session to delete.
	for _, m := range []string{"GET", "DELETE", "PUT"} {
		st, hdr, _ := do(t, m, mcpEndpoint, nil, bearer(testSecret))
		if st != 405 || hdr.Get("Allow") != "POST, OPTIONS" {
			t.Errorf("%s: %d Allow %q", m, st, hdr.Get("Allow"))
		}
	}
}

// TestMCP_ToolErrors: arguments outside a tool's schema are refused
// before any API call, and an API refusal is the tool error
// "API <status>: <body>".
func TestMCP_ToolErrors(t *testing.T) {
	startCaddy(t, "secret "+testSecret)
	cs, err := connectHTTP(t, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	_, _, apiBody := apiCall(t, "GET", "/_echelon/api/stats/overview?site_id=no+way", "", testSecret)
	_, _, notFound := apiCall(t, "GET", "/_echelon/api/stats/campaigns?id=nope", "", testSecret)
	for _, c := range []struct {
		tool string
		args map[string]any
		want string // the error text, or a part of it after "~"
	}{
		{"analytics_overview", map[string]any{"site_id": "no way"}, "API 400: " + apiBody},
		{"analytics_campaign_detail", map[string]any{"campaign_id": "nope"}, "API 404: " + notFound},
		{"analytics_overview", map[string]any{}, "~site_id"},
		{"analytics_overview", map[string]any{"site_id": "demo", "days": 0}, "~minimum"},
		{"analytics_overview", map[string]any{"site_id": "demo", "days": 731}, "~maximum"},
		{"analytics_campaigns", map[string]any{"days": 91}, "~maximum"},
		{"bots_suspicious", map[string]any{"limit": 201}, "~maximum"},
		{"analytics_realtime", map[string]any{"site_id": 7}, "~type"},
		{"bots_visitor", map[string]any{"visitor_id": ".."}, "~is not an id"},
		{"bots_visitor", map[string]any{"visitor_id": strings.Repeat("v", 129)}, "~maxLength"},
		// No argument turns a tool into a write.
		{"list_campaigns", map[string]any{"method": "POST", "body": `{"id":"x"}`}, "~unexpected additional properties"},
		{"analytics_overview", map[string]any{"site_id": "demo", "path": "/api/bots/exclude"}, "~unexpected additional properties"},
	} {
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: c.tool, Arguments: c.args})
		if err != nil {
			t.Errorf("%s %v: protocol error %v", c.tool, c.args, err)
			continue
		}
		got := contentText(res)
		ok := res.IsError && got == c.want
		if part, found := strings.CutPrefix(c.want, "~"); found {
			ok = res.IsError && strings.Contains(got, part)
		}
		if !ok {
			t.Errorf("%s %v: isError=%v %q, want %q", c.tool, c.args, res.IsError, got, c.want)
		}
	}
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "exclude_visitor", Arguments: map[string]any{}}); err == nil {
		t.Error("an unknown tool was called")
	}
}

// TestMCP_PublicModeReadsWithoutCredentials: in public mode the endpoint,
// like every read, needs no credential; vitals stay redacted.
func TestMCP_PublicModeReadsWithoutCredentials(t *testing.T) {
	startCaddy(t, "public_mode")
	cs, err := connectHTTP(t, "")
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	assertToolList(t, cs)
	if got := toolText(t, cs, "list_campaigns", nil); compactJSON(t, got) != "[]" {
		t.Errorf("list_campaigns: %s", got)
	}
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "analytics_vitals"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `API 403: {"error":"redacted","message":"Not available in public mode"}`; !res.IsError || contentText(res) != want {
		t.Errorf("vitals in public mode: %v %q", res.IsError, contentText(res))
	}
}

// TestMCP_DashboardLoginCookie: a dashboard login's cookie opens the
// endpoint from the dashboard's own origin; from another origin the
// API's CSRF check refuses it.
func TestMCP_DashboardLoginCookie(t *testing.T) {
	startCaddy(t, dashLogin)
	cookie := dashSession(t, "/_echelon")
	h := http.Header{"Cookie": {cookie.Name + "=" + cookie.Value}, "Origin": {baseURL}}
	if status, _, body := mcpPostWith(t, h); status != 200 || !strings.Contains(body, `"echelon-analytics"`) {
		t.Errorf("same origin: %d %s", status, body)
	}
	// A tool call reads the API with the same cookie.
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json, text/event-stream")
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_campaigns","arguments":{}}}`
	if status, _, body := do(t, "POST", mcpEndpoint, strings.NewReader(call), h); status != 200 || !strings.Contains(body, `"text":"[]"`) || strings.Contains(body, `"isError":true`) {
		t.Errorf("tool call with the cookie: %d %s", status, body)
	}
	h.Set("Origin", "https://evil.example")
	if status, _, body := mcpPostWith(t, h); status != 403 || !strings.Contains(body, "CSRF") {
		t.Errorf("other origin: %d %s", status, body)
	}
	if status, _, body := mcpPostWith(t, http.Header{"Origin": {baseURL}}); status != 401 {
		t.Errorf("no cookie: %d %s", status, body)
	}
}
