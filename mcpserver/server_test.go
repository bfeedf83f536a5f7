package mcpserver

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// fakeAPI records the requests an API server receives and answers each
// with the status and body of its path.
type fakeAPI struct {
	mu       sync.Mutex
	requests []*http.Request
	answer   func(r *http.Request) (int, string)
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r)
	f.mu.Unlock()
	status, body := f.answer(r)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// connect runs the server on an in-memory transport and returns a client.
func connect(t *testing.T, api API) *mcp.ClientSession {
	t.Helper()
	ct, st := mcp.NewInMemoryTransports()
	ctx := context.Background()
	if _, err := New(api).Connect(ctx, st, nil); err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func call(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) (bool, string) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var b strings.Builder
	for _, c := range res.Content {
		b.WriteString(c.(*mcp.TextContent).Text)
	}
	return res.IsError, b.String()
}

// TestRemote_ToolsMapToGETsWithBearer: each tool is one GET of its API
// path under the base URL, arguments as the documented query, the secret
// as bearer; the JSON comes back indented, key order and numbers kept.
func TestRemote_ToolsMapToGETsWithBearer(t *testing.T) {
	f := &fakeAPI{answer: func(*http.Request) (int, string) { return 200, `{"b":1.50,"a":[1,{"z":null}]}` }}
	srv := httptest.NewServer(f)
	defer srv.Close()
	cs := connect(t, Remote{Base: srv.URL + "/_echelon", Secret: "s3"})
	cases := []struct {
		tool string
		args map[string]any
		want string
	}{
		{"analytics_overview", map[string]any{"site_id": "demo"}, "/_echelon/api/stats/overview?days=30&site_id=demo"},
		{"analytics_campaigns", map[string]any{"campaign_id": "x y"}, "/_echelon/api/stats/campaigns?days=30&id=x+y"},
		{"analytics_campaign_detail", map[string]any{"campaign_id": "c", "days": 9}, "/_echelon/api/stats/campaigns?days=9&id=c"},
		{"analytics_experiments", nil, "/_echelon/api/stats/experiments"},
		{"analytics_campaign_events", map[string]any{"site_id": "s", "event_type": "click"}, "/_echelon/api/stats/campaign-events?days=30&event_type=click&site_id=s"},
		{"list_campaigns", nil, "/_echelon/api/campaigns"},
		{"list_experiments", nil, "/_echelon/api/experiments"},
		{"bots_suspicious", map[string]any{"min_score": -3}, "/_echelon/api/bots/suspicious?limit=50&min_score=-3"},
		{"bots_visitor", map[string]any{"visitor_id": "a/b?c"}, "/_echelon/api/bots/visitor/a%2Fb%3Fc"},
		{"analytics_vitals", nil, "/_echelon/api/stats/vitals"},
	}
	for i, c := range cases {
		isErr, text := call(t, cs, c.tool, c.args)
		if isErr || text != "{\n  \"b\": 1.50,\n  \"a\": [\n    1,\n    {\n      \"z\": null\n    }\n  ]\n}" {
			t.Errorf("%s: %v %q", c.tool, isErr, text)
		}
		r := f.requests[i]
		if r.Method != "GET" || r.URL.RequestURI() != c.want || r.Header.Get("Authorization") != "Bearer s3" {
			t.Errorf("%s: %s %s auth %q, want GET %s", c.tool, r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), c.want)
		}
	}
}

// TestRemote_ErrorsAndRedirects: a non-2xx answer is "API <status>:
// <body>"; a redirect is not followed (the bearer stays home); a 429 is
// retried.
func TestRemote_ErrorsAndRedirects(t *testing.T) {
	var busy int
	f := &fakeAPI{answer: func(r *http.Request) (int, string) {
		switch r.URL.Path {
		case "/api/stats/realtime":
			return 400, `{"error":"invalid_site_id"}`
		case "/api/campaigns":
			if busy++; busy < 3 {
				return 429, `{"error":"too_many_requests"}`
			}
			return 200, `[]`
		}
		return 200, `{}`
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	redirect := httptest.NewServer(http.RedirectHandler(srv.URL+"/elsewhere", http.StatusFound))
	defer redirect.Close()

	cs := connect(t, Remote{Base: srv.URL, Secret: "s3"})
	if isErr, text := call(t, cs, "analytics_realtime", map[string]any{"site_id": "x"}); !isErr || text != `API 400: {"error":"invalid_site_id"}` {
		t.Errorf("400: %v %q", isErr, text)
	}
	if isErr, text := call(t, cs, "list_campaigns", nil); isErr || text != "[]" || busy != 3 {
		t.Errorf("429 then 200: %v %q after %d tries", isErr, text, busy)
	}
	n := len(f.requests)
	cs2 := connect(t, Remote{Base: redirect.URL, Secret: "s3"})
	if isErr, text := call(t, cs2, "list_experiments", nil); !isErr || !strings.HasPrefix(text, "API 302: ") {
		t.Errorf("redirect: %v %q", isErr, text)
	}
	if len(f.requests) != n {
		t.Error("the redirect was followed")
	}
}

// TestCallers_RefuseNonToolPaths: neither caller sends anything but a GET
// of a tool's path, so no tool can reach a write endpoint.
func TestCallers_RefuseNonToolPaths(t *testing.T) {
	f := &fakeAPI{answer: func(*http.Request) (int, string) { return 200, `{}` }}
	srv := httptest.NewServer(f)
	defer srv.Close()
	for _, api := range []API{Remote{Base: srv.URL}, Local{API: f}} {
		for _, p := range []string{"/api/bots/exclude", "/api/ingest", "/api/perf", "/api/bots/visitor/", "/api/stats/overview/x", "/api/experiments/x"} {
			if _, _, err := api.Get(context.Background(), p, nil, nil); err == nil {
				t.Errorf("%T sent %s", api, p)
			}
		}
	}
	if len(f.requests) != 0 {
		t.Errorf("%d requests sent", len(f.requests))
	}
}

// TestLocal_ForwardsCredentialsOnly: an in-process call is a GET under
// the prefix carrying the MCP request's credentials and nothing else.
func TestLocal_ForwardsCredentialsOnly(t *testing.T) {
	f := &fakeAPI{answer: func(*http.Request) (int, string) { return 200, `[1]` }}
	h := http.Header{"Authorization": {"Bearer x"}, "Cookie": {"echelon_session=y"}, "X-Other": {"z"}, "Mcp-Session-Id": {"s"}}
	status, body, err := Local{API: f, Prefix: "/p"}.Get(context.Background(), "/api/campaigns", nil, h)
	if err != nil || status != 200 || string(body) != "[1]" {
		t.Fatalf("%d %q %v", status, body, err)
	}
	r := f.requests[0]
	if r.Method != "GET" || r.URL.Path != "/p/api/campaigns" || r.Header.Get("Authorization") != "Bearer x" ||
		r.Header.Get("Cookie") != "echelon_session=y" || r.Header.Get("X-Other") != "" || r.Header.Get("Mcp-Session-Id") != "" {
		t.Errorf("%s %s %v", r.Method, r.URL, r.Header)
	}
}

func TestParseBase(t *testing.T) {
	for in, want := range map[string]string{
		"https://a.example/_echelon/":  "https://a.example/_echelon",
		" http://127.0.0.1:8080 ":      "http://127.0.0.1:8080",
		"http://a.example/":            "http://a.example",
		"":                             "",
		"a.example/_echelon":           "",
		"ftp://a.example":              "",
		"https://u:p@a.example":        "",
		"https://a.example/?x=1":       "",
		"https://a.example/#f":         "",
		"https:///_echelon":            "",
		"https://a.example/%zz":        "",
		"https://a.example/a%2Fb/":     "https://a.example/a/b",
		"HTTPS://A.example/_echelon//": "https://A.example/_echelon",
	} {
		got, err := ParseBase(in)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("ParseBase(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := FromEnv(func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "ECHELON_URL") {
		t.Errorf("missing ECHELON_URL: %v", err)
	}
}
