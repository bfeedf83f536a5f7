package echelon

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// The operations API (docs/api.md: Performance metrics, Settings, Vitals)
// through real Caddy: perf
// metrics, telemetry, debug and request vitals, with their errors, auth
// and public mode.

const opsSecret = "ops-secret"

var opsBearer = http.Header{"Authorization": {"Bearer " + opsSecret}}

func withBearer(h http.Header) http.Header {
	out := http.Header{"Authorization": opsBearer["Authorization"]}
	for k, v := range h {
		out[k] = v
	}
	return out
}

// jsonKeys returns the sorted keys of a JSON object text.
func jsonKeys(t *testing.T, body string) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, body)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestPerfAPI_StoreListAndTrends(t *testing.T) {
	startCaddy(t, "secret "+opsSecret)
	post := func(body string) (int, string) {
		code, _, got := do(t, "POST", baseURL+"/_echelon/api/perf", strings.NewReader(body), withBearer(http.Header{"Content-Type": {"application/json"}}))
		return code, got
	}
	code, body := post(`[{"category":"build","metric":"time","value":12.5,"unit":"s","commit_hash":"abc123","branch":"main","metadata":{"runner":"ci","cores":2}},
		{"category":"bundle","metric":"size","value":4096,"unit":"B"}]`)
	if code != 200 || body != `{"inserted":2}` {
		t.Fatalf("POST: %d %s", code, body)
	}
	time.Sleep(2 * time.Millisecond)
	if code, body = post(`[{"category":"build","metric":"time","value":11,"unit":"s"}]`); code != 200 || body != `{"inserted":1}` {
		t.Fatalf("second POST: %d %s", code, body)
	}

	code, _, body = do(t, "GET", baseURL+"/_echelon/api/perf", nil, opsBearer)
	var rows []map[string]any
	if err := json.Unmarshal([]byte(body), &rows); code != 200 || err != nil || len(rows) != 3 {
		t.Fatalf("GET /api/perf: %d %v %s", code, err, body)
	}
	if rows[0]["value"] != 11.0 || rows[2]["value"] != 12.5 {
		t.Fatalf("not newest first: %s", body)
	}
	first, _ := json.Marshal(rows[2])
	want := []string{"branch", "category", "commit_hash", "id", "metadata", "metric", "recorded_at", "unit", "value"}
	if got := jsonKeys(t, string(first)); !reflect.DeepEqual(got, want) {
		t.Fatalf("item keys %v; want %v", got, want)
	}
	// Metadata comes back as the JSON value that was sent, not a string.
	if meta, ok := rows[2]["metadata"].(map[string]any); !ok || meta["runner"] != "ci" || meta["cores"] != 2.0 {
		t.Fatalf("metadata %#v", rows[2]["metadata"])
	}
	if rows[0]["commit_hash"] != nil || rows[0]["metadata"] != nil || rows[2]["commit_hash"] != "abc123" {
		t.Fatalf("nullable fields: %s", body)
	}
	if ts, _ := rows[0]["recorded_at"].(string); len(ts) != 24 || !strings.HasSuffix(ts, "Z") {
		t.Fatalf("recorded_at %q", ts)
	}

	for _, tc := range []struct {
		query string
		n     int
	}{
		{"?category=build", 2},
		{"?category=build&metric=time&limit=1", 1},
		{"?metric=size", 1},
		{"?limit=0", 3},   // 0 → default 100
		{"?limit=-5", 1},  // clamped to 1
		{"?limit=abc", 3}, // NaN → default
		{"?since=2999-01-01", 0},
		{"?since=2000-01-01T00:00:00.000Z", 3},
	} {
		_, _, b := do(t, "GET", baseURL+"/_echelon/api/perf"+tc.query, nil, opsBearer)
		var got []any
		if err := json.Unmarshal([]byte(b), &got); err != nil || len(got) != tc.n {
			t.Errorf("GET /api/perf%s: %d rows (%v); want %d: %s", tc.query, len(got), err, tc.n, b)
		}
	}

	code, _, body = do(t, "GET", baseURL+"/_echelon/api/perf/trends?limit=5", nil, opsBearer)
	var trends map[string][]map[string]any
	if err := json.Unmarshal([]byte(body), &trends); code != 200 || err != nil {
		t.Fatalf("trends: %d %v %s", code, err, body)
	}
	if len(trends) != 2 || len(trends["build/time"]) != 2 || len(trends["bundle/size"]) != 1 {
		t.Fatalf("trends series: %s", body)
	}
	if trends["build/time"][0]["value"] != 12.5 || trends["build/time"][1]["value"] != 11.0 {
		t.Fatalf("trends not oldest first: %s", body)
	}
	_, _, body = do(t, "GET", baseURL+"/_echelon/api/perf/trends?limit=1", nil, opsBearer)
	if err := json.Unmarshal([]byte(body), &trends); err != nil || len(trends["build/time"]) != 1 || trends["build/time"][0]["value"] != 11.0 {
		t.Fatalf("trends limit=1 keeps the latest: %s", body)
	}
}

func TestPerfAPI_Errors(t *testing.T) {
	startCaddy(t, "secret "+opsSecret)
	item := `{"category":"c","metric":"m","value":1,"unit":"u"}`
	many := "[" + strings.TrimSuffix(strings.Repeat(item+",", 101), ",") + "]"
	big := `[{"category":"c","metric":"m","value":1,"unit":"u","metadata":"` + strings.Repeat("x", 70000) + `"}]`
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"not JSON", `nope`, 400, "invalid_payload"},
		{"object, not array", item, 400, "invalid_payload"},
		{"101 items", many, 400, "invalid_payload"},
		{"missing category", `[{"metric":"m","value":1,"unit":"u"}]`, 400, "invalid_payload"},
		{"empty metric", `[{"category":"c","metric":"","value":1,"unit":"u"}]`, 400, "invalid_payload"},
		{"numeric unit", `[{"category":"c","metric":"m","value":1,"unit":5}]`, 400, "invalid_payload"},
		{"string value", `[{"category":"c","metric":"m","value":"1","unit":"u"}]`, 400, "invalid_payload"},
		{"overflowing value", `[{"category":"c","metric":"m","value":1e999,"unit":"u"}]`, 400, "invalid_payload"},
		{"numeric branch", `[{"category":"c","metric":"m","value":1,"unit":"u","branch":3}]`, 400, "invalid_payload"},
		{"metadata over 2048", `[{"category":"c","metric":"m","value":1,"unit":"u","metadata":"` + strings.Repeat("y", 2100) + `"}]`, 400, "invalid_payload"},
		{"one bad item among good", "[" + item + `,{"category":"c"}]`, 400, "invalid_payload"},
		{"body over 64 KiB", big, 413, "payload_too_large"},
	} {
		code, _, body := do(t, "POST", baseURL+"/_echelon/api/perf", strings.NewReader(tc.body), opsBearer)
		var e struct{ Error, Message string }
		if err := json.Unmarshal([]byte(body), &e); code != tc.status || err != nil || e.Error != tc.code || e.Message == "" {
			t.Errorf("%s: %d %s; want %d %s with a message", tc.name, code, body, tc.status, tc.code)
		}
	}
	// Nothing of the refused batches was stored.
	if _, _, body := do(t, "GET", baseURL+"/_echelon/api/perf", nil, opsBearer); body != "[]" {
		t.Fatalf("refused batches stored something: %s", body)
	}
	// Auth: none or a wrong token is 401.
	for _, h := range []http.Header{nil, {"Authorization": {"Bearer wrong"}}} {
		if code, _, body := do(t, "GET", baseURL+"/_echelon/api/perf", nil, h); code != 401 || body != `{"error":"unauthorized"}` {
			t.Errorf("GET with %v: %d %s", h, code, body)
		}
	}
	if code, hdr, _ := do(t, "DELETE", baseURL+"/_echelon/api/perf", nil, opsBearer); code != 405 || hdr.Get("Allow") != "GET, HEAD, POST, OPTIONS" {
		t.Errorf("DELETE: %d Allow %q", code, hdr.Get("Allow"))
	}
}

func TestTelemetryAPI(t *testing.T) {
	startCaddy(t, "secret "+opsSecret)
	url := baseURL + "/_echelon/api/telemetry"
	if code, _, body := do(t, "GET", url, nil, opsBearer); code != 200 || body != `{"telemetry":"undecided","envOverride":null}` {
		t.Fatalf("GET: %d %s", code, body)
	}
	if code, _, body := do(t, "POST", url, strings.NewReader(`{"optin":true}`), opsBearer); code != 200 || body != `{"telemetry":"on"}` {
		t.Fatalf("POST true: %d %s", code, body)
	}
	if _, _, body := do(t, "GET", url, nil, opsBearer); body != `{"telemetry":"on","envOverride":null}` {
		t.Fatalf("GET after opt-in: %s", body)
	}
	if _, _, body := do(t, "POST", url, strings.NewReader(`{"optin":false}`), opsBearer); body != `{"telemetry":"off"}` {
		t.Fatalf("POST false: %s", body)
	}
	for _, bad := range []string{``, `{}`, `{"optin":"yes"}`, `[true]`, `{"optin":null}`} {
		code, _, body := do(t, "POST", url, strings.NewReader(bad), opsBearer)
		if code != 400 || !strings.HasPrefix(body, `{"error":"invalid_body"`) {
			t.Errorf("POST %q: %d %s", bad, code, body)
		}
	}
	if code, _, _ := do(t, "POST", url, strings.NewReader(`{"optin":true}`), nil); code != 401 {
		t.Errorf("POST without auth: %d", code)
	}
}

func TestTelemetryAPI_LockedByConfig(t *testing.T) {
	startCaddy(t, "secret "+opsSecret+"\n\t\ttelemetry false")
	url := baseURL + "/_echelon/api/telemetry"
	if _, _, body := do(t, "GET", url, nil, opsBearer); body != `{"telemetry":"off","envOverride":"off"}` {
		t.Fatalf("GET: %s", body)
	}
	if code, _, body := do(t, "POST", url, strings.NewReader(`{"optin":true}`), opsBearer); code != 409 || !strings.HasPrefix(body, `{"error":"locked"`) {
		t.Fatalf("POST: %d %s", code, body)
	}
}

func TestDebugAPI(t *testing.T) {
	startCaddy(t, "secret "+opsSecret)
	url := baseURL + "/_echelon/api/debug"
	if code, _, body := do(t, "GET", url, nil, opsBearer); code != 200 || body != `{"debug":false,"envOverride":false}` {
		t.Fatalf("GET: %d %s", code, body)
	}
	if _, _, body := do(t, "POST", url, strings.NewReader(`{"enabled":true}`), opsBearer); body != `{"debug":true}` {
		t.Fatalf("POST: %s", body)
	}
	// The switch reaches the tracking observer: the beacon is still stored
	// and counted while debug logging is on.
	if code, _, _ := do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "dbg", nil), nil, nil); code != 200 {
		t.Fatalf("beacon: %d", code)
	}
	if _, _, body := do(t, "GET", url, nil, opsBearer); body != `{"debug":true,"envOverride":false}` {
		t.Fatalf("GET after POST: %s", body)
	}
	if code, _, body := do(t, "POST", url, strings.NewReader(`{"enabled":1}`), opsBearer); code != 400 || !strings.HasPrefix(body, `{"error":"invalid_body"`) {
		t.Fatalf("bad POST: %d %s", code, body)
	}
}

func TestDebugAPI_LockedByConfig(t *testing.T) {
	startCaddy(t, "secret "+opsSecret+"\n\t\tdebug true")
	url := baseURL + "/_echelon/api/debug"
	if _, _, body := do(t, "GET", url, nil, opsBearer); body != `{"debug":true,"envOverride":true}` {
		t.Fatalf("GET: %s", body)
	}
	if code, _, body := do(t, "POST", url, strings.NewReader(`{"enabled":false}`), opsBearer); code != 409 || !strings.HasPrefix(body, `{"error":"locked"`) {
		t.Fatalf("POST: %d %s", code, body)
	}
}

func TestVitalsAPI_CountsRequests(t *testing.T) {
	startCaddy(t, "secret "+opsSecret)
	for i := 0; i < 5; i++ {
		do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "v", nil), nil, nil)
	}
	do(t, "GET", baseURL+"/", nil, nil)     // the upstream file server
	do(t, "GET", baseURL+"/nope", nil, nil) // 404 from upstream
	code, _, body := do(t, "GET", baseURL+"/_echelon/api/stats/vitals", nil, opsBearer)
	if code != 200 {
		t.Fatalf("vitals: %d %s", code, body)
	}
	want := []string{"avgResponseMs", "errorRate", "maxMs", "p50Ms", "p95Ms", "p99Ms", "recentRequests", "rps", "slowPaths", "totalErrors", "totalRequests", "uptimeSeconds"}
	if got := jsonKeys(t, body); !reflect.DeepEqual(got, want) {
		t.Fatalf("keys %v; want %v", got, want)
	}
	var v struct {
		TotalRequests, TotalErrors, RecentRequests int
		P50Ms, MaxMs, RPS                          float64
		SlowPaths                                  []struct {
			Path  string
			AvgMs float64
			Count int
		}
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	// The vitals request itself is recorded after it answers.
	if v.TotalRequests < 7 || v.RecentRequests != v.TotalRequests || v.TotalErrors != 0 || v.MaxMs < v.P50Ms || v.RPS <= 0 {
		t.Fatalf("vitals %+v", v)
	}
	counts := map[string]int{}
	for _, p := range v.SlowPaths {
		counts[p.Path] = p.Count
	}
	if len(v.SlowPaths) != 3 || counts["/b.gif"] != 5 || counts["/"] != 1 || counts["/nope"] != 1 {
		t.Fatalf("slowPaths %+v", v.SlowPaths)
	}
}

func TestOpsAPI_PublicMode(t *testing.T) {
	startCaddy(t, "secret "+opsSecret+"\n\t\tpublic_mode true")
	for _, tc := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"GET", "/_echelon/api/perf", "", 200, "[]"},
		{"GET", "/_echelon/api/perf/trends", "", 200, "{}"},
		{"POST", "/_echelon/api/perf", `[]`, 403, `{"error":"read_only"`},
		{"GET", "/_echelon/api/stats/vitals", "", 403, `{"error":"redacted","message":"Not available in public mode"}`},
		{"GET", "/_echelon/api/telemetry", "", 200, `{"telemetry":"undecided","envOverride":null}`},
		// Public mode does not open telemetry writes: they need
		// credentials.
		{"POST", "/_echelon/api/telemetry", `{"optin":true}`, 401, `{"error":"unauthorized"}`},
		{"POST", "/_echelon/api/debug", `{"enabled":true}`, 403, `{"error":"read_only"`},
	} {
		code, _, body := do(t, tc.method, baseURL+tc.path, strings.NewReader(tc.body), nil)
		if code != tc.status || !strings.HasPrefix(body, tc.want) {
			t.Errorf("%s %s: %d %s; want %d %s", tc.method, tc.path, code, body, tc.status, tc.want)
		}
	}
	if code, _, body := do(t, "POST", baseURL+"/_echelon/api/telemetry", strings.NewReader(`{"optin":true}`), opsBearer); code != 200 || body != `{"telemetry":"on"}` {
		t.Errorf("authenticated telemetry POST in public mode: %d %s", code, body)
	}
}

// TestVitals_UpstreamErrorsCount checks that a failing next handler counts
// as an error with its status.
func TestVitals_UpstreamErrorsCount(t *testing.T) {
	dir := t.TempDir()
	cfg := globalOpt + fmt.Sprintf(`
%s {
	route {
		echelon {
			db_path %s/db
			secret %s
		}
		error /boom 503
		respond "fine"
	}
}
`, baseURL, dir, opsSecret)
	newTester(t).InitServer(cfg, "caddyfile")
	t.Cleanup(func() { unload(t) })
	do(t, "GET", baseURL+"/boom", nil, nil)
	do(t, "GET", baseURL+"/ok", nil, nil)
	_, _, body := do(t, "GET", baseURL+"/_echelon/api/stats/vitals", nil, opsBearer)
	var v struct {
		TotalRequests, TotalErrors int
		ErrorRate                  float64
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil || v.TotalErrors != 1 || v.TotalRequests != 2 || v.ErrorRate != 50 {
		t.Fatalf("vitals %+v (%v): %s", v, err, body)
	}
}
