package echelon

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestEvents_StoresEveryField(t *testing.T) {
	_, dir := startCaddy(t, "")
	tok := mint(t, dir, testSID, "shop", time.Now())
	body := `{"siteId":"shop","tok":"` + tok + `","events":[
		{"type":"click","sessionId":"0b7c2f0e-1111-4222-8333-444455556666","utmCampaign":"spring","data":{"click":"buy","tag":"BUTTON","experiment_id":"exp1","variant_id":"b"}},
		{"type":"scroll_depth","data":{"depth":50}},
		{"type":"not_a_type","data":{}},
		null,
		{"type":"custom"}
	]}`
	status, h, _ := do(t, "POST", baseURL+"/e", strings.NewReader(body), http.Header{
		"Content-Type":     {"text/plain"},
		"Origin":           {"https://shop.example"},
		"Referer":          {"https://shop.example/cart?x=1"},
		"Sec-Ch-Ua-Mobile": {"?1"},
	})
	if status != http.StatusNoContent {
		t.Fatalf("status %d, want 204", status)
	}
	if h.Get("Access-Control-Allow-Origin") != "https://shop.example" || h.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("CORS headers %v", h)
	}
	evs := storedEvents(t, dir, "shop")
	if len(evs) != 3 {
		t.Fatalf("stored %d events, want 3 (bad type and null skipped): %+v", len(evs), evs)
	}
	e := evs[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"type", e.EventType, "click"},
		{"data", e.Data, `{"click":"buy","tag":"BUTTON","experiment_id":"exp1","variant_id":"b"}`},
		{"session", e.SessionID, "0b7c2f0e-1111-4222-8333-444455556666"},
		{"experiment", e.ExperimentID, "exp1"},
		{"variant", e.VariantID, "b"},
		{"utm", e.UTMCampaign, "spring"},
		{"device", e.DeviceType, "mobile"},
		{"referrer", e.Referrer, "https://shop.example"},
		{"visitor", len(e.VisitorID), 16},
		{"hour", e.Hour, e.CreatedAt.Hour()},
		{"month", e.Month, int(e.CreatedAt.Month())},
		{"weekday", e.DayOfWeek, int(e.CreatedAt.Weekday())},
		{"score", e.BotScore, 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if evs[2].EventType != "custom" || evs[2].Data != "{}" {
		t.Errorf("event without data stored as %q %q, want custom {}", evs[2].EventType, evs[2].Data)
	}
}

func TestEvents_FirstTwentyOnly(t *testing.T) {
	_, dir := startCaddy(t, classicPoW(""))
	status, _, _ := do(t, "POST", baseURL+"/e", strings.NewReader(eventsBody("s20", 21, `{"depth":25}`)), nil)
	if status != 204 {
		t.Fatalf("status %d", status)
	}
	if n := len(storedEvents(t, dir, "s20")); n != 20 {
		t.Fatalf("stored %d, want the first 20", n)
	}
}

func eventsBody(site string, n int, data string) string {
	evs := make([]string, n)
	for i := range evs {
		evs[i] = `{"type":"scroll_depth","data":` + data + `}`
	}
	return `{"siteId":"` + site + `","events":[` + strings.Join(evs, ",") + `]}`
}
