package echelon

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/internal/seed"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// shapeOf reduces a JSON value to its shape: objects keep their keys,
// arrays the shape of their first item, scalars and null become "·".
func shapeOf(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, x := range v {
			m[k] = shapeOf(x)
		}
		return m
	case []any:
		if len(v) == 0 {
			return []any{}
		}
		return []any{shapeOf(v[0])}
	}
	return "·"
}

// mcpTools are the read-only MCP tools served by this module's stats and
// campaign endpoints, with the fields each reads (docs/api.md, Statistics
// and Campaigns) as a JSON template: every list has one item showing its
// fields.
var mcpTools = []struct{ tool, path, golden string }{
	{"analytics_overview", "/_echelon/api/stats/overview?site_id=demo&days=30", `{"site_id":"","period_days":0,"visits":0,"verified_visits":0,"unique_visitors":0,"avg_interaction_ms":0,
		"top_paths":[{"path":"","views":0,"visitors":0}],"devices":[{"device_type":"","visits":0}],
		"countries":[{"country_code":"","visits":0,"visitors":0}],"referrers":[{"referrer_type":"","views":0}],
		"os_systems":[{"os_name":"","views":0}],"browsers":[{"browser":"","views":0}],"resolutions":[{"resolution":"","views":0}],
		"daily_trend":[{"date":"","visits":0,"visitors":0}]}`},
	{"analytics_realtime", "/_echelon/api/stats/realtime?site_id=demo", `{"site_id":"","active_visitors":0,"pageviews":0,"active_paths":[{"path":"","views":0}]}`},
	{"analytics_campaigns", "/_echelon/api/stats/campaigns?days=30", `[{"id":"","name":"","utm_campaign":"","site_id":"","status":"","views":0,"visitors":0}]`},
	{"analytics_campaign_detail", "/_echelon/api/stats/campaigns?id=spring&days=30", `{"campaign_id":"",
		"bySource":[{"utm_source":"","views":0,"visitors":0}],"byMedium":[{"utm_medium":"","views":0,"visitors":0}],
		"byContent":[{"utm_content":"","views":0}],"byTerm":[{"utm_term":"","views":0}],
		"topPaths":[{"path":"","views":0,"visitors":0}],"dailyTrend":[{"date":"","views":0,"visitors":0}]}`},
	{"analytics_dashboard", "/_echelon/api/stats/dashboard?site_id=demo", `{"now":{"activeVisitors":0,"estimatedBots":0,"pageviews":0,"verified_visits":0},
		"hourly":{"visitors":[{"minute":"","count":0}],"events":[{"minute":"","count":0}]},
		"daily":{"visitors":[{"hour":"","count":0}],"events":[{"hour":"","count":0}]},
		"recentVisitors":[{"visitor_id":"","device_type":"","os_name":"","browser":"","country_code":"","created_at":"","view_count":0}],
		"recentEvents":[{"event_type":"","site_id":"","visitor_id":"","created_at":""}]}`},
	{"analytics_campaign_events", "/_echelon/api/stats/campaign-events?site_id=demo&days=30", `[{"campaign_id":"","campaign_name":"","utm_campaign":"",
		"visitors":0,"event_visitors":0,"events":0,"event_rate":0,"events_per_visitor":0,
		"event_types":[{"event_type":"","count":0,"unique_visitors":0}]}]`},
	{"list_campaigns", "/_echelon/api/campaigns", `[{"id":"","name":"","utm_campaign":"","site_id":"","status":"","created_at":""}]`},
}

// TestMCPTools_EndpointsReturnDocumentedFields: over seeded history, every
// endpoint an MCP tool calls returns exactly the documented fields, and
// every documented list has items.
func TestMCPTools_EndpointsReturnDocumentedFields(t *testing.T) {
	_, dir := startCaddy(t, "secret "+testSecret)
	st := sharedOf(t, dir).store
	if _, err := seed.Write(st, seed.Options{Site: "demo", Days: 3, Views: 20000, End: time.Now().Add(-time.Second), Seed: 9}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateCampaign(storage.Campaign{ID: "spring", Name: "Spring", UTMCampaign: "spring-sale", SiteID: "demo"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, tool := range mcpTools {
		t.Run(tool.tool, func(t *testing.T) {
			status, got, raw := apiCall(t, "GET", tool.path, "", testSecret)
			if status != 200 {
				t.Fatalf("%s: %d %s", tool.path, status, raw)
			}
			var want any
			if err := json.Unmarshal([]byte(tool.golden), &want); err != nil {
				t.Fatal(err)
			}
			if g, w := shapeOf(got), shapeOf(want); !reflect.DeepEqual(g, w) {
				t.Errorf("%s shape\n got %v\nwant %v", tool.path, fmt.Sprint(g), fmt.Sprint(w))
			}
		})
	}
}
