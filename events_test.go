package echelon

import (
	"net/http"
	"strconv"
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
		{"utm", e.UTMCampaign, ""}, // no active campaign "spring" (TestEvents_KeepOnlyActiveCampaigns)
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

// TestEvents_WebdriverInTheBodyDrops: a batch whose body says wd 1, as the
// tracker does where navigator.webdriver is set, is dropped like a known
// bot's; the same batch without it is stored.
func TestEvents_WebdriverInTheBodyDrops(t *testing.T) {
	_, dir := startCaddy(t, classicPoW(""))
	plain := eventsBody("swd", 2, `{"depth":25}`)
	for _, body := range []string{plain, strings.Replace(plain, `{"siteId"`, `{"wd":1,"pv":"w","siteId"`, 1)} {
		if status, _, _ := do(t, "POST", baseURL+"/e", strings.NewReader(body), nil); status != 204 {
			t.Fatalf("status %d", status)
		}
	}
	if n := len(storedEvents(t, dir, "swd")); n != 2 {
		t.Fatalf("stored %d events, want the 2 of the batch without wd", n)
	}
}

func eventsBody(site string, n int, data string) string {
	evs := make([]string, n)
	for i := range evs {
		evs[i] = `{"type":"scroll_depth","data":` + data + `}`
	}
	return `{"siteId":"` + site + `","events":[` + strings.Join(evs, ",") + `]}`
}

// TestEvents_KeepOnlyActiveCampaigns: an event keeps its utmCampaign only
// when it names an active campaign of its site, as views do; made-up
// values are stored nowhere, neither in the event rows nor as counters,
// and the campaign's own events still count.
func TestEvents_KeepOnlyActiveCampaigns(t *testing.T) {
	_, dir := startCaddy(t, "rate_limit_max 0\n\t\tsecret "+testSecret)
	cleanBeacon(t, dir, "shop", "/", 0)
	if status, _, raw := apiCall(t, "POST", "/_echelon/api/campaigns", `{"id":"spring","name":"Spring","utm_campaign":"spring-sale","site_id":"shop"}`, testSecret); status != 201 {
		t.Fatalf("create campaign: %d %s", status, raw)
	}
	tok := mint(t, dir, testSID, "shop", time.Now())
	const junk = 50
	for i := range junk {
		body := `{"siteId":"shop","tok":"` + tok + `","events":[` +
			`{"type":"click","sessionId":"` + testSID + `","utmCampaign":"junkCampaignValue` + strconv.Itoa(i) + `"},` +
			`{"type":"click","sessionId":"` + testSID + `","utmCampaign":"spring-sale"}]}`
		if status, _, _ := do(t, "POST", baseURL+"/e", strings.NewReader(body), nil); status != http.StatusNoContent {
			t.Fatalf("events: %d", status)
		}
	}
	kept := 0
	for _, e := range storedEvents(t, dir, "shop") {
		switch e.UTMCampaign {
		case "spring-sale":
			kept++
		case "":
		default:
			t.Fatalf("stored an event with utmCampaign %q", e.UTMCampaign)
		}
	}
	if kept != junk {
		t.Errorf("%d events kept spring-sale, want %d", kept, junk)
	}
	if where := storeHolds(t, dir, "junkCampaignValue"); where != "" {
		t.Errorf("a made-up utmCampaign is in the store: %s", where)
	}
	if where := storeHolds(t, dir, "spring-sale"); where == "" {
		t.Error("the active campaign's value is not in the store: the check cannot see counters")
	}
}
