package echelon

import (
	"slices"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

func TestCampaignsAPI_CRUDErrorsAndUTMRule(t *testing.T) {
	_, dir := startCaddy(t, classicPoW("secret "+testSecret))
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/_echelon/api/campaigns", ""}, {"POST", "/_echelon/api/campaigns", `{}`},
		{"PATCH", "/_echelon/api/campaigns/x", `{"status":"paused"}`}, {"DELETE", "/_echelon/api/campaigns/x", ""},
	} {
		for _, tok := range []string{"", "wrong"} {
			if status, _, raw := apiCall(t, c.method, c.path, c.body, tok); status != 401 || raw != `{"error":"unauthorized"}` {
				t.Errorf("%s %s token %q: %d %s", c.method, c.path, tok, status, raw)
			}
		}
	}
	status, _, raw := apiCall(t, "POST", "/_echelon/api/campaigns", `{"id":"spring","name":"Spring\u0001 sale","utm_campaign":"spring-sale","site_id":"shop"}`, testSecret)
	if status != 201 || raw != `{"created":"spring"}` {
		t.Fatalf("create: %d %s", status, raw)
	}
	errorCases := []struct {
		body   string
		status int
		want   string
	}{
		{`{"id":"a","name":"n"}`, 400, `{"error":"invalid_payload","message":"Missing required fields: id, name, utm_campaign"}`},
		{`not json`, 400, `{"error":"invalid_payload","message":"Body must be a JSON object"}`},
		{`{"id":"a b","name":"n","utm_campaign":"u"}`, 400, `{"error":"invalid_id","message":"id must be at most 128 characters of A-Z a-z 0-9 . _ -"}`},
		{`{"id":"spring","name":"n","utm_campaign":"other"}`, 409, `{"error":"conflict","message":"A campaign with this id or utm_campaign and site_id exists"}`},
		{`{"id":"other","name":"n","utm_campaign":"spring-sale","site_id":"shop"}`, 409, `{"error":"conflict","message":"A campaign with this id or utm_campaign and site_id exists"}`},
	}
	for _, c := range errorCases {
		if status, _, raw := apiCall(t, "POST", "/_echelon/api/campaigns", c.body, testSecret); status != c.status || raw != c.want {
			t.Errorf("POST %s: %d %s, want %d %s", c.body, status, raw, c.status, c.want)
		}
	}
	status, v, _ := apiCall(t, "GET", "/_echelon/api/campaigns", "", testSecret)
	list := v.([]any)
	if status != 200 || len(list) != 1 || !slices.Equal(keysOf(t, list[0]), sortedKeys("id", "name", "utm_campaign", "site_id", "status", "created_at")) {
		t.Fatalf("list: %d %v", status, v)
	}
	if c := list[0].(map[string]any); c["name"] != "Spring sale" || c["status"] != "active" || c["site_id"] != "shop" {
		t.Errorf("stored campaign %v", c)
	}

	// The beacon keeps UTM fields only for the site's active campaigns.
	utm := func(campaign string) map[string]string {
		return map[string]string{"uc": b64(campaign), "us": b64("news"), "um": b64("email")}
	}
	send := func(site, campaign string) {
		do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", site, utm(campaign)), nil, nil)
	}
	send("shop", "spring-sale")
	send("shop", "unknown")
	send("blog", "spring-sale")
	if status, _, raw := apiCall(t, "PATCH", "/_echelon/api/campaigns/spring", `{"status":"paused"}`, testSecret); status != 200 || raw != `{"updated":"spring"}` {
		t.Fatalf("patch: %d %s", status, raw)
	}
	send("shop", "spring-sale")
	got := [][3]string{}
	for _, site := range []string{"shop", "blog"} {
		for _, v := range storedViews(t, dir, site) {
			got = append(got, [3]string{v.UTMCampaign, v.UTMSource, v.UTMMedium})
		}
	}
	want := [][3]string{{"spring-sale", "news", "email"}, {}, {}, {}}
	if !slices.Equal(got, want) {
		t.Errorf("UTM fields kept %v, want %v (active campaign of the site only, cache refreshed on PATCH)", got, want)
	}

	for _, c := range []struct{ method, path, body, want string }{
		{"PATCH", "/_echelon/api/campaigns/spring", `{"status":"done"}`, `{"error":"invalid_payload","message":"status must be one of active, paused, archived"}`},
		{"PATCH", "/_echelon/api/campaigns/nope", `{"status":"active"}`, `{"error":"not_found","message":"Campaign not found"}`},
		{"DELETE", "/_echelon/api/campaigns/nope", ``, `{"error":"not_found","message":"Campaign not found"}`},
		{"DELETE", "/_echelon/api/campaigns/spring", ``, `{"deleted":"spring"}`},
	} {
		if _, _, raw := apiCall(t, c.method, c.path, c.body, testSecret); raw != c.want {
			t.Errorf("%s %s: %s, want %s", c.method, c.path, raw, c.want)
		}
	}
	if status, _, raw := apiCall(t, "GET", "/_echelon/api/campaigns", "", testSecret); status != 200 || raw != `[]` {
		t.Errorf("after delete: %d %s", status, raw)
	}
	if status, _, _ := apiCall(t, "PUT", "/_echelon/api/campaigns/x", "", testSecret); status != 405 {
		t.Errorf("PUT: %d, want 405", status)
	}
}

func TestCampaignsAPI_PublicModeIsReadOnly(t *testing.T) {
	startCaddy(t, "public_mode\n\t\tsecret "+testSecret)
	if status, _, _ := apiCall(t, "GET", "/_echelon/api/campaigns", "", ""); status != 200 {
		t.Errorf("GET in public mode: %d", status)
	}
	for _, m := range []string{"POST", "PATCH", "DELETE"} {
		path := "/_echelon/api/campaigns"
		if m != "POST" {
			path += "/x"
		}
		status, v, _ := apiCall(t, m, path, `{}`, testSecret)
		if status != 403 || v.(map[string]any)["error"] != "read_only" {
			t.Errorf("%s in public mode: %d %v", m, status, v)
		}
	}
}

func TestCampaignStatsAPI_ListDetailAndEvents(t *testing.T) {
	_, dir := startCaddy(t, "secret "+testSecret)
	st := sharedOf(t, dir).store
	now := time.Now()
	if err := st.CreateCampaign(storage.Campaign{ID: "c1", Name: "Spring", UTMCampaign: "spring", SiteID: "shop"}, now); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateCampaign(storage.Campaign{ID: "c2", Name: "Idle", UTMCampaign: "idle", SiteID: "shop"}, now); err != nil {
		t.Fatal(err)
	}
	at := now.Add(-time.Minute)
	addRecords(t, dir, []storage.View{
		{CreatedAt: at, SiteID: "shop", VisitorID: "a", Path: "/", UTMCampaign: "spring", UTMSource: "news", UTMMedium: "email"},
		{CreatedAt: at, SiteID: "shop", VisitorID: "a", Path: "/buy", UTMCampaign: "spring", UTMSource: "news", UTMMedium: "email"},
		{CreatedAt: at, SiteID: "shop", VisitorID: "b", Path: "/", UTMCampaign: "spring"},
		{CreatedAt: at, SiteID: "shop", VisitorID: "c", Path: "/"},
		{CreatedAt: at, SiteID: "shop", VisitorID: "d", Path: "/", UTMCampaign: "spring", BotScore: 90},
	}, []storage.Event{
		{CreatedAt: at, SiteID: "shop", VisitorID: "a", EventType: "click", UTMCampaign: "spring"},
		{CreatedAt: at, SiteID: "shop", VisitorID: "a", EventType: "click", UTMCampaign: "spring"},
		{CreatedAt: at, SiteID: "shop", VisitorID: "c", EventType: "scroll_depth"},
	})

	_, _, raw := apiCall(t, "GET", "/_echelon/api/stats/campaigns?days=500", "", testSecret)
	want := `[{"id":"c1","name":"Spring","utm_campaign":"spring","site_id":"shop","status":"active","views":3,"visitors":2},` +
		`{"id":"c2","name":"Idle","utm_campaign":"idle","site_id":"shop","status":"active","views":0,"visitors":0}]`
	if raw != want {
		t.Errorf("campaign list\n got %s\nwant %s", raw, want)
	}
	_, _, raw = apiCall(t, "GET", "/_echelon/api/stats/campaigns?id=c1", "", testSecret)
	today := now.UTC().Format(time.DateOnly)
	if at.UTC().Format(time.DateOnly) != today {
		today = at.UTC().Format(time.DateOnly)
	}
	want = `{"campaign_id":"c1","bySource":[{"utm_source":"news","views":2,"visitors":1},{"utm_source":"direct","views":1,"visitors":1}],` +
		`"byMedium":[{"utm_medium":"email","views":2,"visitors":1},{"utm_medium":"none","views":1,"visitors":1}],` +
		`"byContent":[{"utm_content":"none","views":3}],"byTerm":[{"utm_term":"none","views":3}],` +
		`"topPaths":[{"path":"/","views":2,"visitors":2},{"path":"/buy","views":1,"visitors":1}],` +
		`"dailyTrend":[{"date":"` + today + `","views":3,"visitors":2}]}`
	if raw != want {
		t.Errorf("campaign detail\n got %s\nwant %s", raw, want)
	}
	if status, _, raw := apiCall(t, "GET", "/_echelon/api/stats/campaigns?id=nope", "", testSecret); status != 404 || raw != `{"error":"not_found"}` {
		t.Errorf("unknown id: %d %s", status, raw)
	}
	_, _, raw = apiCall(t, "GET", "/_echelon/api/stats/campaign-events?site_id=shop", "", testSecret)
	want = `[{"campaign_id":"c1","campaign_name":"Spring","utm_campaign":"spring","visitors":2,"event_visitors":1,"events":2,"event_rate":0.5,"events_per_visitor":1,"event_types":[{"event_type":"click","count":2,"unique_visitors":1}]},` +
		`{"campaign_id":null,"campaign_name":null,"utm_campaign":null,"visitors":1,"event_visitors":1,"events":1,"event_rate":1,"events_per_visitor":1,"event_types":[{"event_type":"scroll_depth","count":1,"unique_visitors":1}]}]`
	if raw != want {
		t.Errorf("campaign events\n got %s\nwant %s", raw, want)
	}
	_, v, _ := apiCall(t, "GET", "/_echelon/api/stats/campaign-events?site_id=shop&event_type=scroll_depth", "", testSecret)
	if rows := v.([]any); rows[0].(map[string]any)["events"] != 0.0 || len(rows[0].(map[string]any)["event_types"].([]any)) != 1 {
		t.Errorf("event_type filter restricts events, not event_types: %v", rows[0])
	}
	if status, _, raw := apiCall(t, "GET", "/_echelon/api/stats/campaign-events", "", testSecret); status != 400 || raw != `{"error":"missing_param","message":"site_id required"}` {
		t.Errorf("campaign-events without site: %d %s", status, raw)
	}
	for _, p := range []string{"/_echelon/api/stats/campaigns", "/_echelon/api/stats/campaign-events?site_id=shop"} {
		if status, _, _ := apiCall(t, "GET", p, "", ""); status != 401 {
			t.Errorf("%s without token: %d", p, status)
		}
	}
}
