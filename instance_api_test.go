package echelon

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestPerfAPI_InsertListAndTrends(t *testing.T) {
	startCaddy(t, "secret "+manageSecret)
	s, _, b := callManage(t, "POST", "/api/perf", manageSecret, `[
		{"category":"api","metric":"p50","value":1.5,"unit":"ms","commit_hash":"abc123","branch":"main","metadata":{"runs":3,"note":"ok"}},
		{"category":"api","metric":"p95","value":9,"unit":"ms"}]`)
	wantReply(t, "insert", s, 200, b, `{"inserted":2}`)
	for i := range 4 {
		s, _, b = callManage(t, "POST", "/api/perf", manageSecret, fmt.Sprintf(`[{"category":"api","metric":"p50","value":%d,"unit":"ms"}]`, 10+i))
		wantReply(t, "insert one", s, 200, b, `{"inserted":1}`)
	}

	s, _, b = callManage(t, "GET", "/api/perf?metric=p50&limit=10", manageSecret, "")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(b), &rows); s != 200 || err != nil || len(rows) != 5 {
		t.Fatalf("list: %d %s %v", s, b, err)
	}
	// Newest first; the first stored row last, with its metadata as the
	// JSON object it was (not a string holding JSON).
	for i, want := range []float64{13, 12, 11, 10, 1.5} {
		if rows[i]["value"] != want {
			t.Errorf("row %d value %v, want %v", i, rows[i]["value"], want)
		}
	}
	first, _ := json.Marshal(rows[4])
	id, at := rows[4]["id"], rows[4]["recorded_at"]
	wantBodyJSON(t, "first row", string(first), fmt.Sprintf(`{"id":%v,"recorded_at":%q,"commit_hash":"abc123","branch":"main","category":"api","metric":"p50",
		"value":1.5,"unit":"ms","metadata":{"runs":3,"note":"ok"}}`, id, at))
	if rows[3]["commit_hash"] != nil || rows[3]["metadata"] != nil {
		t.Errorf("unset fields: %v", rows[3])
	}
	if s, _, b = callManage(t, "GET", "/api/perf?limit=2&category=api", manageSecret, ""); json.Unmarshal([]byte(b), &rows) != nil || len(rows) != 2 {
		t.Errorf("limit 2: %s", b)
	}
	if _, _, b = callManage(t, "GET", "/api/perf?since="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339), manageSecret, ""); b != "[]" {
		t.Errorf("since an hour ahead: %s", b)
	}
	s, _, b = callManage(t, "GET", "/api/perf?since=yesterday", manageSecret, "")
	wantReply(t, "bad since", s, 400, b, `{"error":"invalid_param","message":"since must be an ISO-8601 time or a YYYY-MM-DD date"}`)

	s, _, b = callManage(t, "GET", "/api/perf/trends?limit=3", manageSecret, "")
	var trends map[string][]map[string]any
	if err := json.Unmarshal([]byte(b), &trends); s != 200 || err != nil || len(trends) != 2 {
		t.Fatalf("trends: %d %s %v", s, b, err)
	}
	var p50 []float64
	for _, r := range trends["api/p50"] {
		p50 = append(p50, r["value"].(float64))
	}
	if fmt.Sprint(p50) != "[11 12 13]" || len(trends["api/p95"]) != 1 {
		t.Errorf("trends: p50 %v (want the latest 3, oldest first), p95 %v", p50, trends["api/p95"])
	}
}

func TestPerfAPI_Errors(t *testing.T) {
	startCaddy(t, "secret "+manageSecret)
	long := strings.Repeat("x", 2100)
	many := "[" + strings.TrimSuffix(strings.Repeat(`{"category":"a","metric":"b","value":1,"unit":"u"},`, 101), ",") + "]"
	for _, c := range []struct{ name, body, msg string }{
		{"object", `{"category":"a"}`, "Body must be a JSON array of metrics"},
		{"empty", `[]`, "Send 1 to 100 metrics, not 0"},
		{"too many", many, "Send 1 to 100 metrics, not 101"},
		{"no unit", `[{"category":"a","metric":"b","value":1}]`, "Metric 0 needs non-empty strings category, metric and unit"},
		{"string value", `[{"category":"a","metric":"b","value":1,"unit":"u"},{"category":"a","metric":"b","value":"2","unit":"u"}]`, "Metric 1: value must be a finite number"},
		{"big metadata", `[{"category":"a","metric":"b","value":1,"unit":"u","metadata":"` + long + `"}]`, "Metric 0: metadata is 2102 characters, over 2048"},
	} {
		s, _, b := callManage(t, "POST", "/api/perf", manageSecret, c.body)
		wantReply(t, c.name, s, 400, b, fmt.Sprintf(`{"error":"invalid_payload","message":%q}`, c.msg))
	}
	s, _, b := callManage(t, "POST", "/api/perf", manageSecret, "["+strings.Repeat(" ", 70000)+"]")
	wantReply(t, "too large", s, 413, b, `{"error":"payload_too_large","message":"Body exceeds 65536 bytes"}`)
	// Nothing of the refused batches was stored.
	if _, _, b := callManage(t, "GET", "/api/perf", manageSecret, ""); b != "[]" {
		t.Errorf("after refused posts: %s", b)
	}
	if s, _, b := callManage(t, "GET", "/api/perf", "", ""); s != 401 {
		t.Errorf("without the token: %d %s", s, b)
	}
}

func TestTelemetryAPI_StateAndLock(t *testing.T) {
	t.Run("undecided", func(t *testing.T) {
		startCaddy(t, "secret "+manageSecret)
		s, _, b := callManage(t, "GET", "/api/telemetry", manageSecret, "")
		wantReply(t, "fresh", s, 200, b, `{"telemetry":"undecided","envOverride":null}`)
		for _, c := range []struct {
			body, want string
			status     int
		}{
			{`{"optin":"yes"}`, `{"error":"invalid_body","message":"Body must be {\"optin\": true|false}"}`, 400},
			{`optin`, `{"error":"invalid_body","message":"Body must be {\"optin\": true|false}"}`, 400},
			{`{"optin":true}`, `{"telemetry":"on"}`, 200},
		} {
			s, _, b = callManage(t, "POST", "/api/telemetry", manageSecret, c.body)
			wantReply(t, "POST "+c.body, s, c.status, b, c.want)
		}
		_, _, b = callManage(t, "GET", "/api/telemetry", manageSecret, "")
		wantBodyJSON(t, "after opting in", b, `{"telemetry":"on","envOverride":null}`)
		callManage(t, "POST", "/api/telemetry", manageSecret, `{"optin":false}`)
		_, _, b = callManage(t, "GET", "/api/telemetry", manageSecret, "")
		wantBodyJSON(t, "after opting out", b, `{"telemetry":"off","envOverride":null}`)
		if s, _, _ := callManage(t, "POST", "/api/telemetry", "", `{"optin":true}`); s != 401 {
			t.Errorf("POST without the token: %d", s)
		}
	})
	t.Run("locked", func(t *testing.T) {
		startCaddy(t, "secret "+manageSecret+"\n\t\ttelemetry false")
		s, _, b := callManage(t, "GET", "/api/telemetry", manageSecret, "")
		wantReply(t, "locked off", s, 200, b, `{"telemetry":"off","envOverride":"off"}`)
		s, _, b = callManage(t, "POST", "/api/telemetry", manageSecret, `{"optin":true}`)
		wantReply(t, "POST when locked", s, 409, b, `{"error":"locked","message":"Telemetry is set by the telemetry option (ECHELON_TELEMETRY)"}`)
	})
	t.Run("public", func(t *testing.T) {
		// Public mode reads without credentials; the telemetry write is
		// not read_only, but still needs them.
		startCaddy(t, "secret "+manageSecret+"\n\t\tpublic_mode")
		if s, _, b := callManage(t, "GET", "/api/telemetry", "", ""); s != 200 {
			t.Errorf("public GET: %d %s", s, b)
		}
		s, _, b := callManage(t, "POST", "/api/telemetry", "", `{"optin":true}`)
		wantReply(t, "public POST without token", s, 401, b, `{"error":"unauthorized"}`)
		s, _, b = callManage(t, "POST", "/api/telemetry", manageSecret, `{"optin":true}`)
		wantReply(t, "public POST with token", s, 200, b, `{"telemetry":"on"}`)
	})
}

func TestDebugAPI_RuntimeSwitchAndLock(t *testing.T) {
	t.Run("switch", func(t *testing.T) {
		startCaddy(t, "secret "+manageSecret)
		s, _, b := callManage(t, "GET", "/api/debug", manageSecret, "")
		wantReply(t, "off", s, 200, b, `{"debug":false,"envOverride":false}`)
		s, _, b = callManage(t, "POST", "/api/debug", manageSecret, `{"enabled":true}`)
		wantReply(t, "on", s, 200, b, `{"debug":true}`)
		_, _, b = callManage(t, "GET", "/api/debug", manageSecret, "")
		wantBodyJSON(t, "after on", b, `{"debug":true,"envOverride":false}`)
		s, _, b = callManage(t, "POST", "/api/debug", manageSecret, `{"enabled":1}`)
		wantReply(t, "bad body", s, 400, b, `{"error":"invalid_body","message":"Body must be {\"enabled\": true|false}"}`)
	})
	t.Run("locked", func(t *testing.T) {
		startCaddy(t, "secret "+manageSecret+"\n\t\tdebug")
		_, _, b := callManage(t, "GET", "/api/debug", manageSecret, "")
		wantBodyJSON(t, "locked", b, `{"debug":true,"envOverride":true}`)
		s, _, b := callManage(t, "POST", "/api/debug", manageSecret, `{"enabled":false}`)
		wantReply(t, "POST when locked", s, 409, b, `{"error":"locked","message":"Debug is on by the debug option (ECHELON_DEBUG)"}`)
	})
}

func TestVitalsAPI_TimesRequestsAndRedactsInPublicMode(t *testing.T) {
	startCaddy(t, "secret "+manageSecret)
	for range 3 {
		do(t, "GET", baseURL+"/", nil, nil) // passed on to file_server
	}
	do(t, "GET", baseURL+"/missing.html", nil, nil) // 404 from file_server
	do(t, "GET", baseURL+"/api/health", nil, nil)
	s, _, b := callManage(t, "GET", "/api/stats/vitals", manageSecret, "")
	var v map[string]any
	if err := json.Unmarshal([]byte(b), &v); s != 200 || err != nil {
		t.Fatalf("vitals: %d %s %v", s, b, err)
	}
	want := []string{"avgResponseMs", "errorRate", "maxMs", "p50Ms", "p95Ms", "p99Ms", "recentRequests", "rps", "slowPaths", "totalErrors", "totalRequests", "uptimeSeconds"}
	if got := fieldNames(v); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("fields %v, want %v", got, want)
	}
	// The five requests before this one; it is recorded when it is done.
	if v["totalRequests"] != float64(5) || v["recentRequests"] != float64(5) || v["totalErrors"] != float64(0) || v["errorRate"] != float64(0) {
		t.Errorf("counts: %s", b)
	}
	paths := map[string]float64{}
	for _, p := range v["slowPaths"].([]any) {
		m := p.(map[string]any)
		paths[m["path"].(string)] = m["count"].(float64)
	}
	if paths["/"] != 3 || paths["/missing.html"] != 1 || paths["/api/health"] != 1 {
		t.Errorf("slowPaths %v", v["slowPaths"])
	}
	if p50, max := v["p50Ms"].(float64), v["maxMs"].(float64); p50 <= 0 || max < p50 {
		t.Errorf("p50 %v, max %v", p50, max)
	}
	if _, _, b = callManage(t, "GET", "/api/stats/vitals", manageSecret, ""); !strings.Contains(b, `"totalRequests":6`) {
		t.Errorf("the first vitals request was not counted: %s", b)
	}
}

func TestVitalsAPI_PublicModeRedacted(t *testing.T) {
	startCaddy(t, "secret "+manageSecret+"\n\t\tpublic_mode")
	s, _, b := callManage(t, "GET", "/api/stats/vitals", "", "")
	wantReply(t, "public", s, 403, b, `{"error":"redacted","message":"Not available in public mode"}`)
}
