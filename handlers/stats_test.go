package handlers

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// statsNow is an hour after listsStore's first view, so the last hour
// (dashboard, realtime) and the counters (overview) both hold views.
var statsNow = listsT0.Add(70 * time.Minute)

func TestStats_SiteRequiredAndValid(t *testing.T) {
	s := &Stats{Store: openStore(t), Now: fixedClock(statsNow)}
	for name, h := range map[string]http.HandlerFunc{
		"overview": s.ServeOverview, "dashboard": s.ServeDashboard, "realtime": s.ServeRealtime,
		"quality": s.ServeQuality, "campaign-events": s.ServeCampaignEvents,
	} {
		t.Run(name, func(t *testing.T) {
			call(t, h, "GET", "/?days=7", "").wantError(t, 400, "missing_param", "site_id required")
			call(t, h, "GET", "/?site_id=a%20b", "").wantError(t, 400, "invalid_site_id", "site_id must be 1-64 characters of A-Z a-z 0-9 . _ -")
		})
	}
}

func TestStats_FailingStoreIs500(t *testing.T) {
	s := &Stats{Store: closedStore(t), Now: fixedClock(statsNow)}
	for name, h := range map[string]http.HandlerFunc{
		"overview": s.ServeOverview, "dashboard": s.ServeDashboard, "realtime": s.ServeRealtime,
		"quality": s.ServeQuality, "campaign-events": s.ServeCampaignEvents, "summary": s.ServeSummary,
		"campaigns": s.ServeCampaignStats,
	} {
		t.Run(name, func(t *testing.T) {
			call(t, h, "GET", "/?site_id=a&id=c", "").wantError(t, 500, "internal", "stats query failed")
		})
	}
}

func TestStats_OverviewShape(t *testing.T) {
	s := &Stats{Store: listsStore(t), Now: fixedClock(statsNow)}
	o := call(t, s.ServeOverview, "GET", "/?site_id=a&days=0", "").object(t)
	wantKeys(t, "overview", o, "site_id", "period_days", "visits", "verified_visits", "unique_visitors",
		"avg_interaction_ms", "top_paths", "devices", "countries", "referrers", "os_systems", "browsers",
		"resolutions", "daily_trend")
	if o["site_id"] != "a" || o["period_days"] != 30.0 || o["visits"].(float64) == 0 {
		t.Fatalf("overview %v", o)
	}
	for key, fields := range map[string][]string{
		"top_paths":   {"path", "views", "visitors"},
		"devices":     {"device_type", "visits"},
		"countries":   {"country_code", "visits", "visitors"},
		"referrers":   {"referrer_type", "views"},
		"os_systems":  {"os_name", "views"},
		"browsers":    {"browser", "views"},
		"resolutions": {"resolution", "views"},
		"daily_trend": {"date", "visits", "visitors"},
	} {
		rows, ok := o[key].([]any)
		if !ok || len(rows) == 0 {
			t.Fatalf("%s: %v", key, o[key])
		}
		wantKeys(t, key, rows[0], fields...)
	}
	if days := call(t, s.ServeOverview, "GET", "/?site_id=a&days=9999", "").object(t)["period_days"]; days != 730.0 {
		t.Errorf("days=9999 gives period_days %v; want 730", days)
	}
}

func TestStats_DashboardAndRealtimeShapes(t *testing.T) {
	s := &Stats{Store: listsStore(t), Now: fixedClock(statsNow)}
	d := call(t, s.ServeDashboard, "GET", "/?site_id=a", "").object(t)
	wantKeys(t, "dashboard", d, "now", "hourly", "daily", "recentVisitors", "recentEvents")
	wantKeys(t, "now", d["now"], "activeVisitors", "estimatedBots", "pageviews", "verified_visits")
	wantKeys(t, "hourly", d["hourly"], "visitors", "events")
	wantKeys(t, "daily", d["daily"], "visitors", "events")
	wantKeys(t, "hourly visitor", d["hourly"].(map[string]any)["visitors"].([]any)[0], "minute", "count")
	wantKeys(t, "daily visitor", d["daily"].(map[string]any)["visitors"].([]any)[0], "hour", "count")
	wantKeys(t, "recent visitor", d["recentVisitors"].([]any)[0], "visitor_id", "device_type", "os_name",
		"browser", "country_code", "created_at", "view_count")
	wantKeys(t, "recent event", d["recentEvents"].([]any)[0], "event_type", "site_id", "visitor_id", "created_at")
	if v := d["recentVisitors"].([]any)[0].(map[string]any); v["visitor_id"] != "v18" || v["created_at"] != "2026-04-01T09:58:00.000Z" ||
		v["device_type"] != "mobile" || v["os_name"] != nil || v["view_count"] != 2.0 {
		t.Errorf("newest visitor, empty fields null: %v", v)
	}
	if e := d["recentEvents"].([]any)[0].(map[string]any); e["visitor_id"] != "v18" || e["created_at"] != "2026-04-01T09:58:00.000Z" {
		t.Errorf("newest event: %v", e)
	}

	rt := call(t, s.ServeRealtime, "GET", "/?site_id=a", "").object(t)
	wantKeys(t, "realtime", rt, "site_id", "active_visitors", "pageviews", "active_paths")
	if paths, ok := rt["active_paths"].([]any); !ok || rt["site_id"] != "a" || len(paths) != 0 {
		t.Errorf("realtime, nothing in the last 5 minutes: %v", rt)
	}
}

func TestStats_SummaryHidesBuffersInPublicMode(t *testing.T) {
	pending := func() (int, int) { return 3, 4 }
	s := &Stats{Store: listsStore(t), Now: fixedClock(statsNow), Pending: pending}
	sum := call(t, s.ServeSummary, "GET", "/?minutes=5", "").object(t)
	wantKeys(t, "summary", sum, "buffers", "last_24h", "live", "sites")
	wantKeys(t, "buffers", sum["buffers"], "views", "events")
	if b := sum["buffers"].(map[string]any); b["views"] != 3.0 || b["events"] != 4.0 {
		t.Errorf("buffers %v", b)
	}
	if sites := sum["sites"].([]any); len(sites) != 2 {
		t.Errorf("sites %v; want a and b", sites)
	}
	s.PublicMode = true
	wantKeys(t, "public summary", call(t, s.ServeSummary, "GET", "/", "").object(t), "last_24h", "live", "sites")
}

func TestStats_QualityShape(t *testing.T) {
	s := &Stats{Store: listsStore(t), Now: fixedClock(statsNow)}
	q := call(t, s.ServeQuality, "GET", "/?site_id=b&days=7", "").object(t)
	wantKeys(t, "quality", q, "site_id", "period_days", "views", "verified_visits", "unverified_visits",
		"bot_views", "filtered", "filtered_total", "daily")
	if q["site_id"] != "b" || q["period_days"] != 7.0 {
		t.Errorf("quality %v", q)
	}
	wantKeys(t, "filtered_total", q["filtered_total"], "views", "events")
}

func TestStats_CampaignsListAndUnknownID(t *testing.T) {
	s := &Stats{Store: openStore(t), Now: fixedClock(statsNow)}
	if l := call(t, s.ServeCampaignStats, "GET", "/?days=7", "").list(t); len(l) != 0 {
		t.Errorf("no campaigns: %v", l)
	}
	call(t, s.ServeCampaignStats, "GET", "/?id=nope", "").wantError(t, 404, "not_found", "")
	if l := call(t, s.ServeCampaignEvents, "GET", "/?site_id=a", "").list(t); len(l) != 0 {
		t.Errorf("no campaign events: %v", l)
	}
}

func TestStats_CampaignEventsNullsOrganicAndUnregistered(t *testing.T) {
	st := openStore(t)
	if err := st.CreateCampaign(storage.Campaign{ID: "sp", Name: "Spring", UTMCampaign: "spring", SiteID: "a"}, listsT0); err != nil {
		t.Fatal(err)
	}
	var views []storage.View
	for i, utm := range []string{"spring", "spring", "", "fall"} {
		views = append(views, storage.View{CreatedAt: listsT0.Add(time.Duration(i) * time.Minute), SiteID: "a",
			VisitorID: fmt.Sprintf("v%d", i), Path: "/", UTMCampaign: utm})
	}
	if err := st.ImportViews(views); err != nil {
		t.Fatal(err)
	}
	s := &Stats{Store: st, Now: fixedClock(statsNow)}
	rows := call(t, s.ServeCampaignEvents, "GET", "/?site_id=a", "").list(t)
	byUTM := map[any]map[string]any{}
	for _, r := range rows {
		wantKeys(t, "campaign events", r, "campaign_id", "campaign_name", "utm_campaign", "visitors",
			"event_visitors", "events", "event_rate", "events_per_visitor", "event_types")
		byUTM[r.(map[string]any)["utm_campaign"]] = r.(map[string]any)
	}
	if r := byUTM["spring"]; r == nil || r["campaign_id"] != "sp" || r["campaign_name"] != "Spring" || r["visitors"] != 2.0 {
		t.Errorf("registered: %v", r)
	}
	if r := byUTM["fall"]; r == nil || r["campaign_id"] != nil || r["campaign_name"] != nil {
		t.Errorf("unregistered: %v", r)
	}
	if r := byUTM[nil]; r == nil || r["campaign_id"] != nil || r["visitors"] != 1.0 {
		t.Errorf("organic: %v", r)
	}
}

// TestStats_EmptyListsAreArrays: a site without traffic answers [] for
// every list, never null.
func TestStats_EmptyListsAreArrays(t *testing.T) {
	st := openStore(t)
	if err := st.CreateCampaign(storage.Campaign{ID: "sp", Name: "Spring", UTMCampaign: "spring", SiteID: "a"}, listsT0); err != nil {
		t.Fatal(err)
	}
	s := &Stats{Store: st, Now: fixedClock(statsNow)}
	empty := func(what string, v any) {
		t.Helper()
		if l, ok := v.([]any); !ok || len(l) != 0 {
			t.Errorf("%s = %#v; want []", what, v)
		}
	}
	o := call(t, s.ServeOverview, "GET", "/?site_id=a", "").object(t)
	for _, k := range []string{"top_paths", "devices", "countries", "referrers", "os_systems", "browsers", "resolutions", "daily_trend"} {
		empty("overview "+k, o[k])
	}
	d := call(t, s.ServeDashboard, "GET", "/?site_id=a", "").object(t)
	empty("recentVisitors", d["recentVisitors"])
	empty("recentEvents", d["recentEvents"])
	for _, k := range []string{"hourly", "daily"} {
		empty(k+" visitors", d[k].(map[string]any)["visitors"])
		empty(k+" events", d[k].(map[string]any)["events"])
	}
	empty("active_paths", call(t, s.ServeRealtime, "GET", "/?site_id=a", "").object(t)["active_paths"])
	c := call(t, s.ServeCampaignStats, "GET", "/?id=sp", "").object(t)
	wantKeys(t, "campaign detail", c, "campaign_id", "bySource", "byMedium", "byContent", "byTerm", "topPaths", "dailyTrend")
	for _, k := range []string{"bySource", "byMedium", "byContent", "byTerm", "topPaths", "dailyTrend"} {
		empty("campaign "+k, c[k])
	}
	empty("campaign events", call(t, s.ServeCampaignEvents, "GET", "/?site_id=a", "").list(t))
}
