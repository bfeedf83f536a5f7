package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

var listsT0 = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

// listsStore is a real store with 60 views on sites a and b (visitors
// v00…v19) and an event per view.
func listsStore(t *testing.T) *storage.Store {
	t.Helper()
	st, err := storage.Open(storage.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var views []storage.View
	var events []storage.Event
	for i := range 60 {
		at := listsT0.Add(time.Duration(i) * time.Minute)
		v := storage.View{CreatedAt: at, SiteID: []string{"a", "b"}[i%2], VisitorID: fmt.Sprintf("v%02d", i%20),
			Path: fmt.Sprintf("/p%d", i%7), DeviceType: []string{"desktop", "mobile", "tablet"}[i%3],
			CountryCode: []string{"FI", "US"}[i%2], BotScore: []int{0, 20, 70}[i%3], InteractionMS: 1000, ScreenWidth: 390, ScreenHeight: 844}
		views = append(views, v)
		events = append(events, storage.Event{CreatedAt: at, SiteID: v.SiteID, VisitorID: v.VisitorID,
			EventType: []string{"click", "scroll_depth"}[i%2], Data: fmt.Sprintf(`{"n":%d}`, i)})
	}
	if err := st.ImportViews(views); err != nil {
		t.Fatal(err)
	}
	if err := st.ImportEvents(events); err != nil {
		t.Fatal(err)
	}
	return st
}

func get(t *testing.T, h http.HandlerFunc, target string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest(http.MethodGet, target, nil))
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s: %d %q is not JSON: %v", target, rec.Code, rec.Body.String(), err)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: Content-Type %q", target, ct)
	}
	return rec.Code, body
}

func TestLists_PageviewsPagesByCursorWithTotals(t *testing.T) {
	l := &Lists{Store: listsStore(t)}
	code, body := get(t, l.ServePageviews, "/api/pageviews?site_id=default&limit=25")
	if code != 200 || body["site_id"] != "default" || body["total"] != 60.0 || body["total_exact"] != true ||
		body["pages"] != 3.0 || body["page"] != 1.0 || body["prev_cursor"] != nil || body["partial"] != false {
		t.Fatalf("first page: %d %v", code, body)
	}
	rows := body["pageviews"].([]any)
	first := rows[0].(map[string]any)
	if len(rows) != 25 || first["created_at"] != "2026-04-01T09:59:00.000Z" || first["path"] != "/p3" ||
		first["screen_width"] != 390.0 || first["referrer"] != nil || first["id"] == nil {
		t.Fatalf("rows %d, first %v", len(rows), first)
	}
	seen := map[float64]bool{}
	next := body["next_cursor"].(string)
	for _, r := range rows {
		seen[r.(map[string]any)["id"].(float64)] = true
	}
	for p := 2; next != ""; p++ {
		_, body = get(t, l.ServePageviews, "/api/pageviews?limit=25&cursor="+url.QueryEscape(next))
		if body["page"] != float64(p) || body["total"] != 60.0 || body["prev_cursor"] == nil {
			t.Fatalf("page %d: %v", p, body)
		}
		for _, r := range body["pageviews"].([]any) {
			seen[r.(map[string]any)["id"].(float64)] = true
		}
		next, _ = body["next_cursor"].(string)
	}
	if len(seen) != 60 {
		t.Fatalf("walked %d distinct views, want 60", len(seen))
	}
	_, body = get(t, l.ServePageviews, "/api/pageviews?site_id=b&sort=time_asc&device=tablet&bot=suspect&limit=5")
	for _, r := range body["pageviews"].([]any) {
		m := r.(map[string]any)
		if m["site_id"] != "b" || m["device_type"] != "tablet" || m["bot_score"].(float64) < 50 {
			t.Fatalf("filtered row %v", m)
		}
	}
	if body["site_id"] != "b" || body["total"] != 10.0 {
		t.Fatalf("site b tablets scoring ≥ 50: %v", body)
	}
}

func TestLists_VisitorsSortsAndFilters(t *testing.T) {
	l := &Lists{Store: listsStore(t)}
	_, body := get(t, l.ServeVisitors, "/api/visitors?sort=views_desc&limit=100")
	rows := body["visitors"].([]any)
	if body["total"] != 20.0 || len(rows) != 20 {
		t.Fatalf("visitors: %v", body)
	}
	for _, r := range rows {
		m := r.(map[string]any)
		if m["views"] != 3.0 || m["is_excluded"] != 0.0 || !strings.HasPrefix(m["visitor_id"].(string), "v") {
			t.Fatalf("row %v", m)
		}
	}
	_, body = get(t, l.ServeVisitors, "/api/visitors?bot=suspect&search=v0&site_id=nonsense!")
	if body["site_id"] != "default" {
		t.Fatalf("invalid site_id not lenient: %v", body)
	}
	for _, r := range body["visitors"].([]any) {
		m := r.(map[string]any)
		if m["max_bot_score"].(float64) < 50 || !strings.Contains(m["visitor_id"].(string), "v0") {
			t.Fatalf("filtered row %v", m)
		}
	}
	_, body = get(t, l.ServeVisitors, "/api/visitors?sort=time_asc&limit=1")
	if v := body["visitors"].([]any)[0].(map[string]any); v["visitor_id"] != "v00" || v["first_seen"] != "2026-04-01T09:00:00.000Z" {
		t.Fatalf("first seen first: %v", v)
	}
}

func TestLists_EventsWithTypeChips(t *testing.T) {
	l := &Lists{Store: listsStore(t)}
	_, body := get(t, l.ServeEvents, "/api/events?type=click&limit=10")
	if body["total"] != 30.0 || len(body["events"].([]any)) != 10 {
		t.Fatalf("click events: %v", body)
	}
	chips := body["types"].([]any)
	if len(chips) != 2 || chips[0].(map[string]any)["count"] != 30.0 {
		t.Fatalf("chips %v", chips)
	}
	ev := body["events"].([]any)[0].(map[string]any)
	if ev["event_type"] != "click" || ev["data"] != `{"n":58}` || ev["visitor_id"] != "v18" {
		t.Fatalf("newest click %v", ev)
	}
	_, body = get(t, l.ServeEvents, `/api/events?search=%22n%22:5`)
	if body["total_exact"] != true || body["total"] != 11.0 {
		t.Fatalf(`search "n":5: %v`, body)
	}
}

func TestLists_VisitorDetail(t *testing.T) {
	l := &Lists{Store: listsStore(t)}
	rec := httptest.NewRecorder()
	l.ServeVisitor(rec, httptest.NewRequest(http.MethodGet, "/api/visitors/v03", nil), "v03")
	var d struct {
		VisitorID string `json:"visitor_id"`
		Summary   struct {
			Pageviews, Events int
			FirstSeen         string   `json:"first_seen"`
			ActiveTimeMS      int64    `json:"active_time_ms"`
			Devices           []string `json:"devices"`
			Sites             []string `json:"sites"`
		} `json:"summary"`
		Views  []map[string]any `json:"views"`
		Events []map[string]any `json:"events"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	if d.Summary.Pageviews != 3 || d.Summary.Events != 3 || d.Summary.ActiveTimeMS != 3000 || len(d.Views) != 3 ||
		d.Summary.FirstSeen != "2026-04-01T09:03:00.000Z" || len(d.Summary.Sites) != 1 || d.Views[0]["created_at"] != "2026-04-01T09:43:00.000Z" {
		t.Fatalf("detail %s", rec.Body.String())
	}
	rec = httptest.NewRecorder()
	l.ServeVisitor(rec, httptest.NewRequest(http.MethodGet, "/api/visitors/nobody", nil), "nobody")
	if !strings.Contains(rec.Body.String(), `"summary":{"pageviews":0,"events":0,"first_seen":null`) || !strings.Contains(rec.Body.String(), `"views":[]`) {
		t.Fatalf("unknown visitor: %s", rec.Body.String())
	}
}

func TestLists_BadParametersAre400(t *testing.T) {
	l := &Lists{Store: listsStore(t)}
	_, body := get(t, l.ServePageviews, "/api/pageviews?limit=2")
	cursor := body["next_cursor"].(string)
	for _, tc := range []struct {
		h      http.HandlerFunc
		target string
		code   string
		msg    string
	}{
		{l.ServeVisitors, "/api/visitors?sort=name", "invalid_param", "Invalid sort parameter"},
		{l.ServePageviews, "/api/pageviews?sort=views_desc", "invalid_param", "Invalid sort parameter"},
		{l.ServeVisitors, "/api/visitors?returning=maybe", "invalid_param", ""},
		{l.ServeVisitors, "/api/visitors?bot=1", "invalid_param", ""},
		{l.ServePageviews, "/api/pageviews?cursor=garbage", "invalid_cursor", ""},
		{l.ServePageviews, "/api/pageviews?device=mobile&cursor=" + url.QueryEscape(cursor), "invalid_cursor", ""},
		{l.ServeEvents, "/api/events?cursor=" + url.QueryEscape(cursor), "invalid_cursor", ""},
		{l.ServeEvents, "/api/events?cursor=" + strings.Repeat("A", 2000), "invalid_cursor", ""},
	} {
		code, body := get(t, tc.h, tc.target)
		if code != 400 || body["error"] != tc.code || tc.msg != "" && body["message"] != tc.msg {
			t.Errorf("%s: %d %v, want 400 %s", tc.target, code, body, tc.code)
		}
	}
}

func FuzzParseListQueries(f *testing.F) {
	for _, s := range []string{
		"site_id=default&sort=views_desc&limit=30", "bot=suspect&returning=new&search=ab", "sort=time_asc&limit=-5",
		"device=%ff%fe&country=" + strings.Repeat("x", 300), "cursor=AQ", "type=click&search=%00", "limit=99999999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		check := func(site string, limit int, strs ...string) {
			if site != "" && !storage.ValidSiteID(site) || site == "default" {
				t.Fatalf("site %q", site)
			}
			if limit < 1 || limit > storage.MaxListLimit {
				t.Fatalf("limit %d", limit)
			}
			for _, s := range strs {
				if len(s) > maxSearchLen {
					t.Fatalf("value %q", s)
				}
			}
		}
		if vq, perr := ParseVisitorQuery(q); perr == nil {
			check(vq.Site, vq.Limit, vq.Device, vq.Country, vq.Search)
			if vq.Sort > storage.SortViewsAsc || vq.Bot > storage.BotClean || vq.Returning > storage.NewOnly {
				t.Fatalf("enum out of range: %+v", vq)
			}
		} else if perr.Code == "" || perr.Message == "" {
			t.Fatal("error without code or message")
		}
		if vq, perr := ParseViewQuery(q); perr == nil {
			check(vq.Site, vq.Limit, vq.Device, vq.Country, vq.Search)
		}
		if eq, perr := ParseEventQuery(q); perr == nil {
			check(eq.Site, eq.Limit, eq.Type, eq.Search)
		}
	})
}
