package echelon

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/echelon-analytics/caddy-echelon/internal/seed"
	"github.com/echelon-analytics/caddy-echelon/mcpserver"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// mcpEndpoint is the Streamable HTTP endpoint under the default admin_path.
var mcpEndpoint = baseURL + "/_echelon/api/mcp"

// mcpReadOnlyTools is the whole tool set: the nine tools of docs/mcp.md's
// first table and the three reads added for bots and vitals. Nothing else
// may ever be listed.
var mcpReadOnlyTools = []string{
	"analytics_overview", "analytics_realtime", "analytics_campaigns", "analytics_campaign_detail",
	"analytics_experiments", "analytics_dashboard", "analytics_campaign_events", "list_campaigns",
	"list_experiments", "bots_suspicious", "bots_visitor", "analytics_vitals",
}

// mcpCase is one tool call and the API query that must answer the same.
type mcpCase struct {
	tool string
	args map[string]any
	api  string // path and query under /_echelon
}

// seedMCP starts Caddy with a secret over seeded history (views, bots,
// events), a campaign and an active experiment, and returns the calls to
// compare, one or more per tool.
func seedMCP(t *testing.T, extra string) []mcpCase {
	t.Helper()
	_, dir := startCaddy(t, "secret "+testSecret+"\n"+extra)
	st := sharedOf(t, dir).store
	if _, err := seed.Write(st, seed.Options{Site: "demo", Days: 3, Views: 6000, End: time.Now().Add(-time.Second), Seed: 9}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateCampaign(storage.Campaign{ID: "spring", Name: "Spring", UTMCampaign: "spring-sale", SiteID: "demo"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if s, _, raw := apiCall(t, "POST", "/_echelon/api/experiments", `{"experiment_id":"cta","name":"CTA","metric_event_type":"signup",
		"variants":[{"variant_id":"a","name":"A","weight":1,"is_control":true},{"variant_id":"b","name":"B","weight":1}]}`, testSecret); s != 201 {
		t.Fatalf("create experiment: %d %s", s, raw)
	}
	if s, _, raw := apiCall(t, "PATCH", "/_echelon/api/experiments/cta", `{"status":"active"}`, testSecret); s != 200 {
		t.Fatalf("activate experiment: %d %s", s, raw)
	}
	s, sus, raw := apiCall(t, "GET", "/_echelon/api/bots/suspicious?site_id=demo&min_score=50&limit=5", "", testSecret)
	list, _ := sus.([]any)
	if s != 200 || len(list) == 0 {
		t.Fatalf("seeded history has no suspicious visitor: %d %s", s, raw)
	}
	visitor := list[0].(map[string]any)["visitor_id"].(string)
	return []mcpCase{
		{"analytics_overview", map[string]any{"site_id": "demo"}, "/api/stats/overview?site_id=demo&days=30"},
		{"analytics_overview", map[string]any{"site_id": "demo", "days": 2}, "/api/stats/overview?site_id=demo&days=2"},
		{"analytics_realtime", map[string]any{"site_id": "demo"}, "/api/stats/realtime?site_id=demo"},
		{"analytics_campaigns", map[string]any{}, "/api/stats/campaigns?days=30"},
		{"analytics_campaigns", map[string]any{"days": 7, "campaign_id": "spring"}, "/api/stats/campaigns?days=7&id=spring"},
		{"analytics_campaign_detail", map[string]any{"campaign_id": "spring"}, "/api/stats/campaigns?id=spring&days=30"},
		{"analytics_experiments", map[string]any{}, "/api/stats/experiments"},
		{"analytics_experiments", map[string]any{"experiment_id": "cta"}, "/api/stats/experiments?experiment_id=cta"},
		{"analytics_dashboard", map[string]any{"site_id": "demo"}, "/api/stats/dashboard?site_id=demo"},
		{"analytics_campaign_events", map[string]any{"site_id": "demo"}, "/api/stats/campaign-events?site_id=demo&days=30"},
		{"analytics_campaign_events", map[string]any{"site_id": "demo", "days": 90, "event_type": "click"}, "/api/stats/campaign-events?site_id=demo&days=90&event_type=click"},
		{"list_campaigns", nil, "/api/campaigns"},
		{"list_experiments", nil, "/api/experiments"},
		{"bots_suspicious", map[string]any{}, "/api/bots/suspicious?min_score=25&limit=50"},
		{"bots_suspicious", map[string]any{"site_id": "demo", "min_score": 60, "limit": 3}, "/api/bots/suspicious?site_id=demo&min_score=60&limit=3"},
		{"bots_visitor", map[string]any{"visitor_id": visitor}, "/api/bots/visitor/" + url.PathEscape(visitor)},
		{"analytics_vitals", nil, "/api/stats/vitals"},
	}
}

// toolText calls a tool and returns its text, failing on a tool error.
func toolText(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) string {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if res.IsError || len(res.Content) != 1 {
		t.Fatalf("%s: error result %s", name, contentText(res))
	}
	return contentText(res)
}

func contentText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// compactJSON is a JSON text without insignificant whitespace.
func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("not JSON: %v: %q", err, s)
	}
	return b.String()
}

// assertToolMatchesAPI checks that every case's tool output is the API's
// JSON for the same query, byte for byte once whitespace is removed. The
// API is read before and after the tool, and the tool must equal one of
// the two reads (a minute may turn in between); vitals count requests, so
// there the tool must have the API's fields and a request count between
// the two reads.
func assertToolMatchesAPI(t *testing.T, cs *mcp.ClientSession, cases []mcpCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.tool, func(t *testing.T) {
			before := mcpAPIBody(t, c.api)
			got := compactJSON(t, toolText(t, cs, c.tool, c.args))
			after := mcpAPIBody(t, c.api)
			if c.tool == "analytics_vitals" {
				assertVitalsBetween(t, got, before, after)
				return
			}
			if got != before && got != after {
				t.Errorf("%s %v\n tool %s\n  api %s", c.tool, c.args, got, after)
			}
		})
	}
}

func mcpAPIBody(t *testing.T, path string) string {
	t.Helper()
	status, _, raw := apiCall(t, "GET", "/_echelon"+path, "", testSecret)
	if status != 200 {
		t.Fatalf("GET %s: %d %s", path, status, raw)
	}
	return compactJSON(t, raw)
}

func assertVitalsBetween(t *testing.T, got, before, after string) {
	t.Helper()
	// Decoded one by one: two of the three texts may well be equal.
	var g, b, a map[string]any
	for _, d := range []struct {
		text string
		into *map[string]any
	}{{got, &g}, {before, &b}, {after, &a}} {
		if err := json.Unmarshal([]byte(d.text), d.into); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(keysOf(t, g), keysOf(t, b)) {
		t.Fatalf("vitals fields: tool %v, api %v", keysOf(t, g), keysOf(t, b))
	}
	n, lo, hi := g["totalRequests"].(float64), b["totalRequests"].(float64), a["totalRequests"].(float64)
	if n < lo || n > hi {
		t.Errorf("vitals totalRequests %v not within the API's %v..%v", n, lo, hi)
	}
}

// bearerTransport adds a bearer to every request.
type bearerTransport struct{ token string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// connectHTTP connects the Go SDK's client to the Streamable HTTP endpoint.
func connectHTTP(t *testing.T, token string) (*mcp.ClientSession, error) {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "echelon-test", Version: "1"}, nil)
	tr := &mcp.StreamableClientTransport{Endpoint: mcpEndpoint, HTTPClient: &http.Client{Transport: bearerTransport{token}}, MaxRetries: -1}
	if token == "" {
		tr.HTTPClient = &http.Client{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return client.Connect(ctx, tr, nil)
}

// connectStdio runs `caddy echelon mcp` (the cobra command itself, with
// its environment) on pipes and connects the Go SDK's client to it.
func connectStdio(t *testing.T, env map[string]string) *mcp.ClientSession {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	cmd := mcpCommand(func(k string) string { return env[k] })
	cmd.SetIn(inR)
	cmd.SetOut(outW)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(context.Background()); outW.Close() }()
	client := mcp.NewClient(&mcp.Implementation{Name: "echelon-test", Version: "1"}, nil)
	cs, err := client.Connect(context.Background(), &mcp.IOTransport{Reader: outR, Writer: inW}, nil)
	if err != nil {
		t.Fatalf("connect stdio: %v", err)
	}
	t.Cleanup(func() {
		cs.Close()
		inW.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("the stdio server did not stop when its input closed")
		}
	})
	return cs
}

// assertToolList checks the listed tools are exactly the read-only set,
// each marked read-only, with an object input schema.
func assertToolList(t *testing.T, cs *mcp.ClientSession) {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
		if tool.Annotations == nil || !tool.Annotations.ReadOnlyHint || tool.Annotations.DestructiveHint == nil || *tool.Annotations.DestructiveHint {
			t.Errorf("%s is not annotated read-only and non-destructive: %+v", tool.Name, tool.Annotations)
		}
		if m, _ := tool.InputSchema.(map[string]any); m["type"] != "object" || m["additionalProperties"] == nil {
			t.Errorf("%s input schema %v", tool.Name, tool.InputSchema)
		}
	}
	want := slices.Sorted(slices.Values(mcpReadOnlyTools))
	slices.Sort(names)
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("tools %v, want exactly %v", names, mcpReadOnlyTools)
	}
}

// TestMCP_HTTPToolsEqualAPI: over Streamable HTTP at <admin_path>/api/mcp,
// with the bearer, the SDK's client lists exactly the read-only tools and
// every tool answers the API's JSON for the same query.
func TestMCP_HTTPToolsEqualAPI(t *testing.T) {
	cases := seedMCP(t, "")
	cs, err := connectHTTP(t, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if got := cs.InitializeResult().ServerInfo.Name; got != mcpserver.Name {
		t.Errorf("server name %q", got)
	}
	assertToolList(t, cs)
	assertToolMatchesAPI(t, cs, cases)
}

// TestMCP_StdioToolsEqualAPI: `caddy echelon mcp`, configured by
// ECHELON_URL and ECHELON_SECRET, answers every tool with the API's JSON.
func TestMCP_StdioToolsEqualAPI(t *testing.T) {
	cases := seedMCP(t, "")
	cs := connectStdio(t, map[string]string{"ECHELON_URL": baseURL + "/_echelon/", "ECHELON_SECRET": testSecret})
	if got := cs.InitializeResult().ServerInfo.Name; got != "echelon-analytics" {
		t.Errorf("server name %q", got)
	}
	assertToolList(t, cs)
	assertToolMatchesAPI(t, cs, cases)
}
