package handlers

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

func TestBots_SuspiciousExcludeVisitorShapes(t *testing.T) {
	st := listsStore(t)
	b := &Bots{Store: st, Now: fixedClock(statsNow)}
	rows := call(t, b.Suspicious, "GET", "/?min_score=50&limit=abc", "").list(t)
	if len(rows) == 0 {
		t.Fatal("no suspicious visitors over 50")
	}
	wantKeys(t, "suspicious", rows[0], "visitor_id", "max_bot_score", "pageviews", "first_seen", "last_seen",
		"sites", "devices", "countries", "os_names", "browsers", "is_excluded")
	id := rows[0].(map[string]any)["visitor_id"].(string)

	var reply map[string]string
	call(t, b.Exclude, "POST", "/", `{"visitor_id":"`+id+`","label":"crawler"}`).wantJSON(t, http.StatusCreated, &reply)
	if reply["excluded"] != id {
		t.Fatalf("exclude %v", reply)
	}
	ex := call(t, b.Excluded, "GET", "/", "").list(t)
	if len(ex) != 1 {
		t.Fatalf("excluded %v", ex)
	}
	wantKeys(t, "excluded", ex[0], "visitor_id", "label", "created_at", "pageviews", "max_bot_score")
	if e := ex[0].(map[string]any); e["label"] != "crawler" || e["created_at"] != "2026-04-01T10:10:00.000Z" || e["pageviews"].(float64) == 0 {
		t.Errorf("excluded row %v", e)
	}

	v := call(t, byID(b.Visitor, id), "GET", "/", "").object(t)
	wantKeys(t, "visitor", v, "visitor_id", "is_excluded", "exclusion", "views", "events")
	wantKeys(t, "exclusion", v["exclusion"], "visitor_id", "label", "created_at")
	views, events := v["views"].([]any), v["events"].([]any)
	if v["is_excluded"] != true || len(views) == 0 || len(events) == 0 {
		t.Fatalf("visitor %v", v)
	}
	wantKeys(t, "view", views[0], "id", "path", "site_id", "interaction_ms", "device_type", "os_name",
		"browser_name", "browser_version", "country_code", "referrer_type", "bot_score", "is_pwa", "created_at")
	wantKeys(t, "event", events[0], "id", "event_type", "site_id", "data", "device_type", "bot_score", "created_at")

	viewID := strconv.FormatFloat(views[0].(map[string]any)["id"].(float64), 'f', 0, 64)
	d := call(t, b.ScoreDetail, "GET", "/?view_id="+viewID, "").object(t)
	wantKeys(t, "score detail", d, "score", "detail")

	call(t, byID(b.Include, id), "DELETE", "/", "").wantJSON(t, 200, &reply)
	if reply["included"] != id {
		t.Errorf("include %v", reply)
	}
	if v := call(t, byID(b.Visitor, id), "GET", "/", "").object(t); v["is_excluded"] != false || v["exclusion"] != nil {
		t.Errorf("after include %v", v)
	}
	if v := call(t, byID(b.Visitor, "nobody"), "GET", "/", "").body; v != `{"visitor_id":"nobody","is_excluded":false,"exclusion":null,"views":[],"events":[]}` {
		t.Errorf("unknown visitor %s", v)
	}
}

func TestBots_Errors(t *testing.T) {
	b := &Bots{Store: openStore(t), Now: fixedClock(statsNow)}
	call(t, b.Suspicious, "GET", "/?site_id=a%20b", "").
		wantError(t, 400, "invalid_site_id", "site_id must be 1-64 characters of A-Z a-z 0-9 . _ -")
	for _, body := range []string{`nope`, `[]`} {
		call(t, b.Exclude, "POST", "/", body).wantError(t, 400, "invalid_payload", "body is not a JSON object")
	}
	for _, body := range []string{`{}`, `{"visitor_id":""}`, `{"visitor_id":7}`} {
		call(t, b.Exclude, "POST", "/", body).wantError(t, 400, "invalid_payload", "visitor_id must be a non-empty string")
	}
	call(t, b.ScoreDetail, "GET", "/", "").wantError(t, 400, "missing_param", "view_id or event_id required")
	call(t, b.ScoreDetail, "GET", "/?view_id=99", "").wantError(t, 404, "not_found", "no row with that id")
	call(t, b.ScoreDetail, "GET", "/?event_id=x", "").wantError(t, 404, "not_found", "no row with that id")

	failing := &Bots{Store: closedStore(t), Now: fixedClock(statsNow)}
	const msg = "the store could not answer"
	call(t, failing.Suspicious, "GET", "/", "").wantError(t, 500, "internal", msg)
	call(t, failing.Excluded, "GET", "/", "").wantError(t, 500, "internal", msg)
	call(t, failing.Exclude, "POST", "/", `{"visitor_id":"v"}`).wantError(t, 500, "internal", msg)
	call(t, failing.ScoreDetail, "GET", "/?event_id=1", "").wantError(t, 500, "internal", msg)
	call(t, byID(failing.Visitor, "v"), "GET", "/", "").wantError(t, 500, "internal", msg)

	// Include writes only when the visitor is excluded: exclude, then fail.
	st, err := storage.Open(storage.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Exclude("v", "", false, statsNow); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	b.Store = st
	call(t, byID(b.Include, "v"), "DELETE", "/", "").wantError(t, 500, "internal", msg)
}

// byID binds the visitor id the route passes to the bots handlers.
func byID(serve func(http.ResponseWriter, *http.Request, string), id string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { serve(w, r, id) }
}
