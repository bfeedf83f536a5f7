package handlers

import (
	"net/http"
	"strings"
	"testing"
)

func TestPerf_AddListTrendsShapes(t *testing.T) {
	p := &Perf{Store: openStore(t), Now: fixedClock(listsT0)}
	body := `[{"category":"beacon","metric":"rps","value":1200,"unit":"req/s","branch":"main"},
		{"category":"beacon","metric":"rps","value":1300,"unit":"req/s","metadata":{"cpu":2}}]`
	if got := call(t, p.ServeAdd, "POST", "/", body).body; got != `{"inserted":2}` {
		t.Fatalf("add: %s", got)
	}
	rows := call(t, p.ServeList, "GET", "/?category=beacon", "").list(t)
	if len(rows) != 2 {
		t.Fatalf("list %v", rows)
	}
	keys := []string{"id", "recorded_at", "commit_hash", "branch", "category", "metric", "value", "unit", "metadata"}
	wantKeys(t, "metric", rows[0], keys...)
	if r := rows[0].(map[string]any); r["recorded_at"] != "2026-04-01T09:00:00.000Z" || r["commit_hash"] != nil {
		t.Errorf("row %v", r)
	}
	trends := call(t, p.ServeTrends, "GET", "/", "").object(t)
	series, ok := trends["beacon/rps"].([]any)
	if !ok || len(series) != 2 {
		t.Fatalf("trends %v", trends)
	}
	wantKeys(t, "trend point", series[0], keys...)
}

func TestPerf_Errors(t *testing.T) {
	p := &Perf{Store: openStore(t), Now: fixedClock(listsT0)}
	call(t, p.ServeAdd, "POST", "/", `{}`).wantError(t, 400, "invalid_payload", "Body must be a JSON array of metric objects")
	call(t, p.ServeAdd, "POST", "/", `[{"category":"c","metric":"m","unit":"u"}]`).
		wantError(t, 400, "invalid_payload", "Item 0: value must be a finite number")
	call(t, p.ServeAdd, "POST", "/", `[`+strings.Repeat(" ", perfMaxBody)+`]`).
		wantError(t, 413, "payload_too_large", "Body exceeds 65536 bytes")
	record(p.ServeAdd, unsizedPost(`[`+strings.Repeat(" ", perfMaxBody)+`]`)).
		wantError(t, http.StatusRequestEntityTooLarge, "payload_too_large", "Body exceeds 65536 bytes")

	failing := &Perf{Store: closedStore(t), Now: fixedClock(listsT0)}
	call(t, failing.ServeList, "GET", "/", "").wantError(t, 500, "internal", "")
	call(t, failing.ServeTrends, "GET", "/", "").wantError(t, 500, "internal", "")
	call(t, failing.ServeAdd, "POST", "/", `[{"category":"c","metric":"m","value":1,"unit":"u"}]`).wantError(t, 500, "internal", "")
}
