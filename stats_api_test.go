package echelon

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

const testSecret = "s3cret-token"

func bearer(token string) http.Header {
	if token == "" {
		return nil
	}
	return http.Header{"Authorization": {"Bearer " + token}}
}

// apiCall sends method path with the bearer token and decodes the JSON
// answer into a generic value.
func apiCall(t *testing.T, method, path, body, token string) (int, any, string) {
	t.Helper()
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	} else {
		rd = strings.NewReader("")
	}
	h := bearer(token)
	if body != "" {
		if h == nil {
			h = http.Header{}
		}
		h.Set("Content-Type", "application/json")
	}
	status, _, raw := do(t, method, baseURL+path, rd, h)
	var v any
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			t.Fatalf("%s %s: body is not JSON: %q", method, path, raw)
		}
	}
	return status, v, raw
}

// keysOf lists an object's keys, sorted.
func keysOf(t *testing.T, v any) []string {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("not an object: %#v", v)
	}
	return slices.Sorted(maps.Keys(m))
}

func sortedKeys(keys ...string) []string { return slices.Sorted(slices.Values(keys)) }

// addRecords buffers views and events in the running module and flushes.
func addRecords(t *testing.T, dir string, views []storage.View, events []storage.Event) {
	t.Helper()
	sh := sharedOf(t, dir)
	for _, v := range views {
		if !sh.writer.AddView(v) {
			t.Fatalf("view refused: %+v", v)
		}
	}
	for _, e := range events {
		if !sh.writer.AddEvent(e) {
			t.Fatalf("event refused: %+v", e)
		}
	}
	if err := sh.writer.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestStatsAPI_AuthAndErrors(t *testing.T) {
	startCaddy(t, "secret "+testSecret)
	paths := []string{
		"/_echelon/api/stats/overview?site_id=s", "/_echelon/api/stats/dashboard?site_id=s",
		"/_echelon/api/stats/realtime?site_id=s", "/_echelon/api/stats/summary",
	}
	for _, p := range paths {
		for _, tok := range []string{"", "wrong"} {
			status, _, raw := apiCall(t, "GET", p, "", tok)
			if status != 401 || raw != `{"error":"unauthorized"}` {
				t.Errorf("GET %s token %q: %d %s, want 401 unauthorized", p, tok, status, raw)
			}
		}
		if status, _, _ := apiCall(t, "GET", p, "", testSecret); status != 200 {
			t.Errorf("GET %s with the secret: %d", p, status)
		}
		if status, _, _ := apiCall(t, "POST", p, "", testSecret); status != 405 {
			t.Errorf("POST %s: %d, want 405", p, status)
		}
	}
	for _, p := range paths[:3] {
		base := p[:strings.Index(p, "?")]
		status, _, raw := apiCall(t, "GET", base, "", testSecret)
		if status != 400 || raw != `{"error":"missing_param","message":"site_id required"}` {
			t.Errorf("GET %s without site_id: %d %s", base, status, raw)
		}
		status, v, _ := apiCall(t, "GET", base+"?site_id=bad%20site", "", testSecret)
		if status != 400 || v.(map[string]any)["error"] != "invalid_site_id" {
			t.Errorf("GET %s with a bad site_id: %d %v", base, status, v)
		}
	}
}

func TestStatsAPI_NoAuthConfigured(t *testing.T) {
	startCaddy(t, "")
	status, _, raw := apiCall(t, "GET", "/_echelon/api/stats/overview?site_id=s", "", "")
	if status != 401 || raw != `{"error":"unauthorized","message":"Auth must be configured"}` {
		t.Fatalf("%d %s", status, raw)
	}
}

func TestStatsAPI_PublicModeReadsWithoutCredentialsAndHidesBuffers(t *testing.T) {
	startCaddy(t, "public_mode\n\t\tsecret "+testSecret)
	status, v, _ := apiCall(t, "GET", "/_echelon/api/stats/summary", "", "")
	if status != 200 {
		t.Fatalf("summary in public mode: %d", status)
	}
	if got := keysOf(t, v); !slices.Equal(got, []string{"last_24h", "live", "sites"}) {
		t.Errorf("public summary keys %v, want last_24h, live and sites (no buffers)", got)
	}
	status, _, raw := apiCall(t, "POST", "/_echelon/api/stats/summary", "", "")
	if status != 405 {
		t.Errorf("POST summary: %d %s", status, raw)
	}
	status, _, _ = apiCall(t, "GET", "/_echelon/api/stats/overview?site_id=s", "", "")
	if status != 200 {
		t.Errorf("overview in public mode: %d", status)
	}
}

func TestStatsAPI_ShapesAndCounts(t *testing.T) {
	_, dir := startCaddy(t, "secret "+testSecret)
	now := time.Now().UTC()
	yesterday := now.Add(-24 * time.Hour)
	view := func(at time.Time, visitor, path string, score int) storage.View {
		return storage.View{
			CreatedAt: at, SiteID: "shop", VisitorID: visitor, Path: path,
			DeviceType: "desktop", OSName: "Linux", BrowserName: "Firefox", BrowserVersion: "125",
			CountryCode: "FI", ReferrerType: "search", Referrer: "https://www.google.com",
			ScreenWidth: 1920, ScreenHeight: 1080, InteractionMS: 1000, BotScore: score,
			BotScoreDetail: map[bool]string{true: `{"pow":0,"pow_result":"valid"}`, false: `{"headers":10,"pow":0,"pow_result":"expired"}`}[score == 0],
		}
	}
	addRecords(t, dir, []storage.View{
		view(yesterday, "aaaaaaaaaaaaaaaa", "/", 0),
		view(now.Add(-2*time.Minute), "bbbbbbbbbbbbbbbb", "/", 0),
		view(now.Add(-time.Minute), "bbbbbbbbbbbbbbbb", "/pricing", 10),
		view(now.Add(-time.Minute), "cccccccccccccccc", "/", 80),
	}, []storage.Event{
		{CreatedAt: now.Add(-time.Minute), SiteID: "shop", VisitorID: "bbbbbbbbbbbbbbbb", EventType: "click"},
	})

	status, v, raw := apiCall(t, "GET", "/_echelon/api/stats/overview?site_id=shop&days=abc", "", testSecret)
	if status != 200 {
		t.Fatalf("overview: %d %s", status, raw)
	}
	o := v.(map[string]any)
	if got, want := keysOf(t, o), sortedKeys("site_id", "period_days", "visits", "verified_visits", "unique_visitors", "avg_interaction_ms",
		"top_paths", "devices", "countries", "referrers", "os_systems", "browsers", "resolutions", "daily_trend"); !slices.Equal(got, want) {
		t.Fatalf("overview keys %v, want %v", got, want)
	}
	if o["period_days"] != 30.0 || o["visits"] != 3.0 || o["verified_visits"] != 2.0 || o["unique_visitors"] != 2.0 || o["avg_interaction_ms"] != 1000.0 {
		t.Errorf("overview totals: %s", raw)
	}
	top := o["top_paths"].([]any)
	if len(top) != 2 || keysOf(t, top[0])[0] != "path" {
		t.Fatalf("top_paths %v", top)
	}
	if p := top[0].(map[string]any); p["path"] != "/" || p["views"] != 2.0 || p["visitors"] != 2.0 {
		t.Errorf("top path %v", p)
	}
	for field, keys := range map[string][]string{
		"devices": {"device_type", "visits"}, "countries": {"country_code", "visitors", "visits"},
		"referrers": {"referrer_type", "views"}, "os_systems": {"os_name", "views"}, "browsers": {"browser", "views"},
		"resolutions": {"resolution", "views"}, "daily_trend": {"date", "visitors", "visits"},
	} {
		list := o[field].([]any)
		if len(list) == 0 || !slices.Equal(keysOf(t, list[0]), keys) {
			t.Errorf("%s: %v, want items with %v", field, list, keys)
		}
	}
	if b := o["browsers"].([]any)[0].(map[string]any); b["browser"] != "Firefox 125" {
		t.Errorf("browser label %v", b)
	}
	if trend := o["daily_trend"].([]any); len(trend) != 2 || trend[0].(map[string]any)["date"] != yesterday.Format(time.DateOnly) {
		t.Errorf("daily_trend %v: yesterday and today, ascending", trend)
	}
	if status, v, _ := apiCall(t, "GET", "/_echelon/api/stats/overview?site_id=shop&days=1", "", testSecret); status != 200 || v.(map[string]any)["visits"] != 3.0 {
		t.Errorf("days=1 covers yesterday and today (no gap before the rollup): %v", v)
	}

	status, v, raw = apiCall(t, "GET", "/_echelon/api/stats/realtime?site_id=shop", "", testSecret)
	if status != 200 || raw != `{"site_id":"shop","active_visitors":1,"pageviews":2,"active_paths":[{"path":"/","views":1},{"path":"/pricing","views":1}]}` {
		t.Errorf("realtime: %d %s", status, raw)
	}

	status, v, raw = apiCall(t, "GET", "/_echelon/api/stats/dashboard?site_id=shop", "", testSecret)
	if status != 200 {
		t.Fatalf("dashboard: %d", status)
	}
	d := v.(map[string]any)
	if got := keysOf(t, d); !slices.Equal(got, []string{"daily", "hourly", "now", "recentEvents", "recentVisitors"}) {
		t.Fatalf("dashboard keys %v", got)
	}
	if n := d["now"].(map[string]any); n["activeVisitors"] != 1.0 || n["estimatedBots"] != 1.0 || n["pageviews"] != 2.0 {
		t.Errorf("now: %v", n)
	}
	rv := d["recentVisitors"].([]any)
	if len(rv) != 1 || !slices.Equal(keysOf(t, rv[0]), sortedKeys("visitor_id", "device_type", "os_name", "browser", "country_code", "created_at", "view_count")) ||
		rv[0].(map[string]any)["view_count"] != 2.0 {
		t.Errorf("recentVisitors %v", rv)
	}
	re := d["recentEvents"].([]any)
	if len(re) != 1 || !slices.Equal(keysOf(t, re[0]), sortedKeys("event_type", "site_id", "visitor_id", "created_at")) {
		t.Errorf("recentEvents %v", re)
	}
	for _, part := range []string{"hourly", "daily"} {
		p := d[part].(map[string]any)
		if len(p["visitors"].([]any)) == 0 || len(p["events"].([]any)) != 1 {
			t.Errorf("%s: %v", part, p)
		}
	}

	status, v, raw = apiCall(t, "GET", "/_echelon/api/stats/summary", "", testSecret)
	if status != 200 {
		t.Fatalf("summary %d", status)
	}
	want := `{"buffers":{"views":0,"events":0},"last_24h":{"total_views":3,"human_views":2,"bot_views":1,"unique_visitors":2},` +
		`"live":{"minutes":10,"human_views":2,"bot_views":1,"unique_visitors":2},` +
		`"sites":[{"site_id":"shop","total_views":3,"human_views":2,"bot_views":1,"unique_visitors":2,"hourly_views":[`
	// Yesterday's view is 24 h old: outside the current hour and the 23
	// before it, so it is not counted.
	if !strings.HasPrefix(raw, want) {
		t.Errorf("summary %s, want it to start with %s", raw, want)
	}
	site := v.(map[string]any)["sites"].([]any)[0].(map[string]any)
	hourly, sum := site["hourly_views"].([]any), 0.0
	for _, n := range hourly {
		sum += n.(float64)
	}
	if len(hourly) != 24 || sum != 2 {
		t.Errorf("hourly_views %v: want 24 buckets holding the 2 clean views", hourly)
	}
	if status, v, raw = apiCall(t, "GET", "/_echelon/api/stats/summary?minutes=1", "", testSecret); status != 200 ||
		!strings.Contains(raw, `"live":{"minutes":1,`) {
		t.Errorf("summary?minutes=1: %d %s", status, raw)
	}
}
