package handlers

import (
	"net/http"
	"testing"
	"time"
)

func TestVitals_ShapeAndPublicModeRedacts(t *testing.T) {
	now := listsT0
	rs := NewRequestStats(func() time.Time { return now })
	now = now.Add(time.Minute)
	v := call(t, rs.ServeVitals(false), "GET", "/", "").object(t)
	wantKeys(t, "vitals", v, "totalRequests", "totalErrors", "recentRequests", "avgResponseMs", "p50Ms", "p95Ms",
		"p99Ms", "maxMs", "rps", "errorRate", "slowPaths", "uptimeSeconds")
	if v["uptimeSeconds"] != 60.0 {
		t.Errorf("uptime %v; want 60", v["uptimeSeconds"])
	}
	call(t, rs.ServeVitals(true), "GET", "/", "").wantError(t, 403, "redacted", "Not available in public mode")
}

func TestHealth_Body(t *testing.T) {
	a := call(t, ServeHealth, "GET", "/", "")
	if a.code != 200 || a.ct != "application/json" || a.body != `{"status":"ok","service":"Echelon Analytics"}` {
		t.Fatalf("%d %s %s", a.code, a.ct, a.body)
	}
}

func TestLists_FailingStoreIs500(t *testing.T) {
	l := &Lists{Store: closedStore(t)}
	for name, h := range map[string]http.HandlerFunc{
		"visitors": l.ServeVisitors, "pageviews": l.ServePageviews, "events": l.ServeEvents,
		"visitor": byID(l.ServeVisitor, "v00"),
	} {
		t.Run(name, func(t *testing.T) {
			call(t, h, "GET", "/?site_id=a", "").wantError(t, 500, "internal", "list query failed")
		})
	}
}
