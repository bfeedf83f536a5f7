package echelon

import (
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

var listPaths = []string{"/_echelon/api/visitors", "/_echelon/api/visitors/aaaaaaaaaaaaaaaa", "/_echelon/api/pageviews", "/_echelon/api/events"}

// TestListsAPI_AccessControl: the list endpoints need the secret, answer
// 405 to other methods, and read open in public mode.
func TestListsAPI_AccessControl(t *testing.T) {
	startCaddy(t, "secret "+testSecret)
	for _, p := range listPaths {
		for _, tok := range []string{"", "wrong"} {
			if status, _, raw := apiCall(t, "GET", p, "", tok); status != 401 || raw != `{"error":"unauthorized"}` {
				t.Errorf("GET %s token %q: %d %s, want 401", p, tok, status, raw)
			}
		}
		if status, _, _ := apiCall(t, "GET", p, "", testSecret); status != 200 {
			t.Errorf("GET %s with the secret: %d", p, status)
		}
		if status, _, _ := apiCall(t, "POST", p, "", testSecret); status != 405 {
			t.Errorf("POST %s: %d, want 405", p, status)
		}
	}
	unload(t)
	startCaddy(t, "public_mode\n\t\tsecret "+testSecret)
	for _, p := range listPaths {
		if status, _, raw := apiCall(t, "GET", p, "", ""); status != 200 {
			t.Errorf("GET %s in public mode: %d %s", p, status, raw)
		}
		if status, _, _ := apiCall(t, "DELETE", p, "", ""); status != 405 {
			t.Errorf("DELETE %s in public mode: %d, want 405", p, status)
		}
	}
}

// TestListsAPI_ShapesPagingAnd400s stores views and events through the
// running module and reads them back through Caddy.
func TestListsAPI_ShapesPagingAnd400s(t *testing.T) {
	_, dir := startCaddy(t, "secret "+testSecret)
	now := time.Now().UTC().Add(-time.Hour)
	var views []storage.View
	var events []storage.Event
	for i := range 30 {
		at := now.Add(time.Duration(i) * time.Second)
		visitor := []string{"aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb", "cccccccccccccccc"}[i%3]
		views = append(views, storage.View{CreatedAt: at, SiteID: []string{"shop", "blog"}[i%2], VisitorID: visitor, Path: "/p",
			DeviceType: "mobile", CountryCode: "FI", BotScore: []int{0, 0, 80}[i%3], InteractionMS: 500})
		events = append(events, storage.Event{CreatedAt: at, SiteID: "shop", VisitorID: visitor, EventType: []string{"click", "custom"}[i%2], Data: `{"x":1}`})
	}
	addRecords(t, dir, views, events)

	status, v, _ := apiCall(t, "GET", "/_echelon/api/visitors?limit=2", "", testSecret)
	body := v.(map[string]any)
	want := sortedKeys("site_id", "page", "limit", "total", "total_exact", "pages", "next_cursor", "prev_cursor", "partial", "visitors")
	if got := keysOf(t, body); status != 200 || !slices.Equal(got, want) {
		t.Fatalf("visitors keys %v, want %v", got, want)
	}
	// Three visitors on two sites: six rows.
	if body["total"] != 6.0 || body["pages"] != 3.0 || body["site_id"] != "default" {
		t.Fatalf("visitors page %v", body)
	}
	row := body["visitors"].([]any)[0].(map[string]any)
	if got := keysOf(t, row); !slices.Equal(got, sortedKeys("visitor_id", "site_id", "views", "first_seen", "last_seen", "device_type",
		"os_name", "browser_name", "country_code", "max_bot_score", "is_returning", "is_excluded")) || !isoMS.MatchString(row["last_seen"].(string)) {
		t.Fatalf("visitor row %v", row)
	}
	_, v, _ = apiCall(t, "GET", "/_echelon/api/visitors?limit=2&cursor="+url.QueryEscape(body["next_cursor"].(string)), "", testSecret)
	if page := v.(map[string]any); page["page"] != 2.0 || page["prev_cursor"] == nil {
		t.Fatalf("second page %v", page)
	}

	_, v, _ = apiCall(t, "GET", "/_echelon/api/pageviews?site_id=shop&bot=suspect", "", testSecret)
	if page := v.(map[string]any); page["total"] != 5.0 || len(page["pageviews"].([]any)) != 5 || page["site_id"] != "shop" {
		t.Fatalf("shop's suspect views %v", page)
	}
	_, v, _ = apiCall(t, "GET", "/_echelon/api/events?type=custom", "", testSecret)
	page := v.(map[string]any)
	if page["total"] != 15.0 || len(page["types"].([]any)) != 2 || page["events"].([]any)[0].(map[string]any)["event_type"] != "custom" {
		t.Fatalf("custom events %v", page)
	}
	_, v, _ = apiCall(t, "GET", "/_echelon/api/visitors/"+url.PathEscape("cccccccccccccccc"), "", testSecret)
	d := v.(map[string]any)
	if got := keysOf(t, d); !slices.Equal(got, sortedKeys("visitor_id", "is_excluded", "exclusion", "summary", "views", "events")) {
		t.Fatalf("detail keys %v", got)
	}
	if s := d["summary"].(map[string]any); s["pageviews"] != 10.0 || s["events"] != 10.0 || s["active_time_ms"] != 5000.0 || len(d["views"].([]any)) != 10 {
		t.Fatalf("detail %v", d)
	}

	for _, tc := range []struct{ path, code, msg string }{
		{"/_echelon/api/visitors?sort=oldest", "invalid_param", "Invalid sort parameter"},
		{"/_echelon/api/pageviews?sort=views_asc", "invalid_param", "Invalid sort parameter"},
		{"/_echelon/api/visitors?bot=maybe", "invalid_param", "bot must be suspect or clean"},
		{"/_echelon/api/events?cursor=nonsense", "invalid_cursor", ""},
		{"/_echelon/api/pageviews?site_id=shop&cursor=" + url.QueryEscape(body["next_cursor"].(string)), "invalid_cursor", ""},
	} {
		status, v, raw := apiCall(t, "GET", tc.path, "", testSecret)
		m, _ := v.(map[string]any)
		if status != 400 || m["error"] != tc.code || tc.msg != "" && m["message"] != tc.msg {
			t.Errorf("GET %s: %d %s, want 400 %s", tc.path, status, raw, tc.code)
		}
	}
}
