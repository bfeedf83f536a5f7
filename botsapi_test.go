package echelon

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// keysOf returns the sorted keys of a JSON object.
func sorted(keys ...string) []string {
	slices.Sort(keys)
	return keys
}

var isoMS = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// TestBotsAPI_ShapesAndErrors calls every bots endpoint through Caddy and
// checks its exact fields, types and values, and each bad input's status
// and error code.
func TestBotsAPI_ShapesAndErrors(t *testing.T) {
	_, dir := startCaddy(t, classicPoW("secret s3cret"))
	// A bot-ish visitor with a cookie id, so one id on two sites: no
	// Accept-Language (+10) and no proof of work (+15) = 25.
	noLang := http.Header{"Accept-Language": nil, "Cookie": {"_ev=0123456789abcdef"}}
	do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/a", "api1", map[string]string{"sw": "390", "sh": "844"}), nil, noLang)
	do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/b", "api2", nil), nil, noLang)
	do(t, "POST", baseURL+"/e", strings.NewReader(`{"siteId":"api1","events":[{"type":"click","data":{"x":1}}]}`), noLang)
	views := storedViews(t, dir, "api1")
	storedEvents(t, dir, "api1")
	if len(views) != 1 || views[0].BotScore != 25 {
		t.Fatalf("setup: %+v, want one view scoring 25", views)
	}
	bot := views[0].VisitorID
	if bot != "0123456789abcdef" {
		t.Fatalf("visitor %s, want the cookie id", bot)
	}

	t.Run("suspicious", func(t *testing.T) {
		status, body := apiDo(t, "GET", "/_echelon/api/bots/suspicious", "")
		var rows []map[string]any
		if err := json.Unmarshal([]byte(body), &rows); status != 200 || err != nil || len(rows) != 1 {
			t.Fatalf("%d %s", status, body)
		}
		r := rows[0]
		if got, want := keysOf(t, r), sorted("visitor_id", "max_bot_score", "pageviews", "first_seen", "last_seen",
			"sites", "devices", "countries", "os_names", "browsers", "is_excluded"); !slices.Equal(got, want) {
			t.Errorf("keys %v, want %v", got, want)
		}
		if r["visitor_id"] != bot || r["max_bot_score"] != 25.0 || r["pageviews"] != 2.0 || r["sites"] != "api1,api2" ||
			r["devices"] != "desktop,mobile" || r["countries"] != nil || r["os_names"] != "Windows 10/11" ||
			r["browsers"] != "Chrome" || r["is_excluded"] != 0.0 || !isoMS.MatchString(r["first_seen"].(string)) {
			t.Errorf("row %v", r)
		}
		for q, n := range map[string]int{"?min_score=26": 0, "?min_score=abc": 1, "?site_id=api2": 1, "?site_id=nosuch": 0, "?limit=0": 1, "?limit=-5": 1} {
			_, body := apiDo(t, "GET", "/_echelon/api/bots/suspicious"+q, "")
			var rows []any
			if err := json.Unmarshal([]byte(body), &rows); err != nil || len(rows) != n {
				t.Errorf("%s: %s, want %d rows", q, body, n)
			}
		}
		if status, body := apiDo(t, "GET", "/_echelon/api/bots/suspicious?site_id=bad%20site", ""); status != 400 || !strings.Contains(body, `"error":"invalid_site_id"`) {
			t.Errorf("bad site: %d %s", status, body)
		}
		// After a sweep the views come from the score index: same answer.
		sharedOf(t, dir).corr.sweep(time.Now())
		if _, again := apiDo(t, "GET", "/_echelon/api/bots/suspicious", ""); again != body {
			t.Errorf("from the index:\n%s\nfrom the scan:\n%s", again, body)
		}
	})

	t.Run("exclude and excluded", func(t *testing.T) {
		for body, want := range map[string]string{
			`not json`:                   "invalid_payload",
			`{}`:                         "invalid_payload",
			`{"visitor_id":""}`:          "invalid_payload",
			`{"visitor_id":42}`:          "invalid_payload",
			`{"label":"no id"}`:          "invalid_payload",
			`[{"visitor_id":"in-list"}]`: "invalid_payload",
		} {
			if status, got := apiDo(t, "POST", "/_echelon/api/bots/exclude", body); status != 400 || !strings.Contains(got, `"error":"`+want+`"`) {
				t.Errorf("POST %s: %d %s, want 400 %s", body, status, got, want)
			}
		}
		long := strings.Repeat("x", 200)
		if status, got := apiDo(t, "POST", "/_echelon/api/bots/exclude", `{"visitor_id":"`+long+`"}`); status != 201 || got != `{"excluded":"`+long[:128]+`"}` {
			t.Errorf("long id: %d %s, want it cut to 128", status, got)
		}
		if status, got := apiDo(t, "POST", "/_echelon/api/bots/exclude", `{"visitor_id":"`+bot+`","label":"scraper"}`); status != 201 || got != `{"excluded":"`+bot+`"}` {
			t.Errorf("exclude: %d %s", status, got)
		}
		status, body := apiDo(t, "GET", "/_echelon/api/bots/excluded", "")
		var rows []map[string]any
		if err := json.Unmarshal([]byte(body), &rows); status != 200 || err != nil || len(rows) != 2 {
			t.Fatalf("%d %s", status, body)
		}
		byID := map[string]map[string]any{}
		for _, r := range rows {
			if got, want := keysOf(t, r), sorted("visitor_id", "label", "created_at", "pageviews", "max_bot_score"); !slices.Equal(got, want) {
				t.Errorf("keys %v, want %v", got, want)
			}
			byID[r["visitor_id"].(string)] = r
		}
		if r := byID[bot]; r["label"] != "scraper" || r["pageviews"] != 2.0 || r["max_bot_score"] != 25.0 {
			t.Errorf("bot row %v", r)
		}
		if r := byID[long[:128]]; r["label"] != nil || r["pageviews"] != 0.0 || r["max_bot_score"] != nil {
			t.Errorf("viewless row %v, want label and max_bot_score null", r)
		}
		_, body = apiDo(t, "GET", "/_echelon/api/bots/suspicious", "")
		if !strings.Contains(body, `"is_excluded":1`) {
			t.Errorf("suspicious after exclusion: %s", body)
		}
	})

	t.Run("visitor", func(t *testing.T) {
		status, body := apiDo(t, "GET", "/_echelon/api/bots/visitor/"+bot, "")
		var rep map[string]any
		if err := json.Unmarshal([]byte(body), &rep); status != 200 || err != nil {
			t.Fatalf("%d %s", status, body)
		}
		if got, want := keysOf(t, rep), sorted("visitor_id", "is_excluded", "exclusion", "views", "events"); !slices.Equal(got, want) {
			t.Errorf("keys %v", got)
		}
		views, events := rep["views"].([]any), rep["events"].([]any)
		if rep["is_excluded"] != true || len(views) != 2 || len(events) != 1 {
			t.Fatalf("report %s", body)
		}
		v := views[0].(map[string]any)
		if got, want := keysOf(t, v), sorted("id", "path", "site_id", "interaction_ms", "device_type", "os_name", "browser_name",
			"browser_version", "country_code", "referrer_type", "bot_score", "is_pwa", "created_at"); !slices.Equal(got, want) {
			t.Errorf("view keys %v", got)
		}
		if v["path"] != "/b" || v["site_id"] != "api2" || v["bot_score"] != 25.0 || v["is_pwa"] != 0.0 || v["country_code"] != nil {
			t.Errorf("newest view first: %v", v)
		}
		e := events[0].(map[string]any)
		if got, want := keysOf(t, e), sorted("id", "event_type", "site_id", "data", "device_type", "bot_score", "created_at"); !slices.Equal(got, want) {
			t.Errorf("event keys %v", got)
		}
		if e["event_type"] != "click" || e["data"] != `{"x":1}` {
			t.Errorf("event %v, want data as a JSON string", e)
		}
		ex := rep["exclusion"].(map[string]any)
		if ex["visitor_id"] != bot || ex["label"] != "scraper" || !isoMS.MatchString(ex["created_at"].(string)) {
			t.Errorf("exclusion %v", ex)
		}
		status, body = apiDo(t, "GET", "/_echelon/api/bots/visitor/nobody", "")
		if status != 200 || body != `{"visitor_id":"nobody","is_excluded":false,"exclusion":null,"views":[],"events":[]}` {
			t.Errorf("unknown visitor: %d %s", status, body)
		}
	})

	t.Run("score-detail", func(t *testing.T) {
		id := strconv.FormatUint(views[0].ID, 10)
		status, body := apiDo(t, "GET", "/_echelon/api/bots/score-detail?view_id="+id, "")
		if status != 200 || body != `{"score":25,"detail":{"headers":10,"pow":15,"pow_result":"missing"}}` {
			t.Errorf("view: %d %s", status, body)
		}
		for q, want := range map[string]struct {
			status int
			code   string
		}{
			"":             {400, "missing_param"},
			"?view_id=":    {400, "missing_param"},
			"?view_id=1":   {404, "not_found"},
			"?event_id=1":  {404, "not_found"},
			"?view_id=abc": {404, "not_found"},
			"?event_id=-1": {404, "not_found"},
		} {
			status, body := apiDo(t, "GET", "/_echelon/api/bots/score-detail"+q, "")
			if status != want.status || !strings.Contains(body, `"error":"`+want.code+`"`) {
				t.Errorf("%q: %d %s, want %d %s", q, status, body, want.status, want.code)
			}
		}
	})

	t.Run("include", func(t *testing.T) {
		if status, body := apiDo(t, "DELETE", "/_echelon/api/bots/exclude/"+bot, ""); status != 200 || body != `{"included":"`+bot+`"}` {
			t.Errorf("%d %s", status, body)
		}
		if status, body := apiDo(t, "DELETE", "/_echelon/api/bots/exclude/never%20seen", ""); status != 200 || body != `{"included":"never seen"}` {
			t.Errorf("unknown, URL-decoded: %d %s", status, body)
		}
	})

	t.Run("access and methods", func(t *testing.T) {
		status, _, body := do(t, "GET", baseURL+"/_echelon/api/bots/suspicious", nil, nil)
		if status != 401 || body != `{"error":"unauthorized"}` {
			t.Errorf("no credentials: %d %s", status, body)
		}
		if status, _ := apiDo(t, "GET", "/_echelon/api/bots/exclude", ""); status != 405 {
			t.Errorf("GET exclude: %d, want 405", status)
		}
		if status, _ := apiDo(t, "POST", "/_echelon/api/bots/visitor/x", "{}"); status != 405 {
			t.Errorf("POST visitor: %d, want 405", status)
		}
	})
}

func TestBotsAPI_PublicModeIsReadOnly(t *testing.T) {
	startCaddy(t, "public_mode")
	status, _, body := do(t, "POST", baseURL+"/_echelon/api/bots/exclude", strings.NewReader(`{"visitor_id":"x"}`), nil)
	if status != 403 || !strings.Contains(body, `"error":"read_only"`) {
		t.Errorf("POST: %d %s", status, body)
	}
	if status, _, body := do(t, "GET", baseURL+"/_echelon/api/bots/excluded", nil, nil); status != 200 || body != "[]" {
		t.Errorf("GET: %d %s", status, body)
	}
}

// TestBotsAPI_SuspiciousReadsABoundedNumberOfViews: on a store of 15,000
// bot views, /api/bots/suspicious?min_score=0 answers from at most
// storage.SuspiciousBudget of them (it read all 15,000 before), the
// highest scores first; with the views indexed it does the same.
func TestBotsAPI_SuspiciousReadsABoundedNumberOfViews(t *testing.T) {
	_, dir := startCaddy(t, "secret "+testSecret)
	cleanBeacon(t, dir, "big", "/", 0)
	sh := sharedOf(t, dir)
	const n = 15_000
	now := time.Now()
	for i := range n {
		v := storage.View{CreatedAt: now, SiteID: "big", VisitorID: fmt.Sprintf("%016x", i%100), Path: "/x", BotScore: 50 + i%50}
		if !sh.writer.AddView(v) {
			t.Fatal("AddView refused")
		}
	}
	if err := sh.writer.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, indexed := range []bool{false, true} {
		if indexed {
			if _, err := sh.store.IndexScores(); err != nil {
				t.Fatal(err)
			}
		}
		for _, q := range []string{"min_score=0", "min_score=25", "site_id=big&min_score=0"} {
			status, v, raw := apiCall(t, "GET", "/_echelon/api/bots/suspicious?limit=200&"+q, "", testSecret)
			if status != 200 {
				t.Fatalf("%s: %d %s", q, status, raw)
			}
			views, top := 0, 0.0
			for _, row := range v.([]any) {
				r := row.(map[string]any)
				views += int(r["pageviews"].(float64))
				top = max(top, r["max_bot_score"].(float64))
			}
			if views > storage.SuspiciousBudget || top != 99 {
				t.Errorf("indexed %v, %s: rows cover %d views with top score %v; want at most %d views and the top score 99", indexed, q, views, top, storage.SuspiciousBudget)
			}
		}
	}
}
