package echelon

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestQualityAPI_CountsEachReasonThroughCaddy: hits of each kind reach a
// site through Caddy; /api/stats/quality reports the clean views, how many
// of them were verified, and every hit kept out by its reason, whether it
// was stored as a bot's or dropped. Reads need the secret, or nothing in
// public mode; a bad site id is a JSON 400.
func TestQualityAPI_CountsEachReasonThroughCaddy(t *testing.T) {
	_, dir := startCaddy(t, "secret "+testSecret+"\n\t\trate_limit_max 40\n\t\tbot_discard_threshold 90")
	now := time.Now()
	beacon := func(path string, set map[string]string, h http.Header) {
		t.Helper()
		if s, _, _ := do(t, "GET", baseURL+"/b.gif?"+beaconQuery(path, "qa", set), nil, h); s != 200 {
			t.Fatalf("b.gif: %d", s)
		}
	}
	sid := func(i int) string { return fmt.Sprintf("0b7c2f0e-1111-4222-8333-%012d", i) }
	for i := range 3 { // verified
		beacon("/", map[string]string{"sid": sid(i), "tok": mint(t, dir, sid(i), "qa", now)}, nil)
	}
	replay := mint(t, dir, sid(9), "qa", now)
	beacon("/", map[string]string{"sid": sid(9), "tok": replay}, nil) // verified
	beacon("/", map[string]string{"sid": sid(9), "tok": replay}, nil) // replayed
	for range 2 {
		beacon("/", nil, nil) // missing
	}
	beacon("/", map[string]string{"tok": fmt.Sprintf("%d.7.%032d", now.Unix()/60, 0)}, nil) // invalid
	beacon("/", nil, http.Header{"User-Agent": {"curl/8.5.0"}})                             // known UA
	beacon("/", map[string]string{"wd": "1"}, nil)                                          // webdriver
	// Discarded above 90: no proof (50), no Accept-Language and hints (20),
	// timing (20), absurd screen (10).
	beacon("/", map[string]string{"_v": "820", "sw": "0"}, http.Header{"Accept-Language": nil, "Sec-Ch-Ua": nil, "Sec-Fetch-Site": nil})
	body := fmt.Sprintf(`{"siteId":"qa","tok":"","events":[{"type":"click","sessionId":%q},{"type":"click","sessionId":%q}]}`, sid(0), sid(0))
	if s, _, _ := do(t, "POST", baseURL+"/e", strings.NewReader(body), nil); s != 204 {
		t.Fatalf("POST e: %d", s)
	}
	sent := 12 // b.gif so far, within the limit of 40 a minute
	for i := sent; i < 45; i++ {
		beacon("/", map[string]string{"sid": sid(100 + i), "tok": mint(t, dir, sid(100+i), "qa", now)}, nil)
	}
	if err := sharedOf(t, dir).writer.Flush(); err != nil {
		t.Fatal(err)
	}

	status, v, raw := apiCall(t, "GET", "/_echelon/api/stats/quality?site_id=qa&days=7", "", testSecret)
	if status != 200 {
		t.Fatalf("quality: %d %s", status, raw)
	}
	q := v.(map[string]any)
	// 4 verified + 28 more within the limit; 5 of the 33 proven beacons
	// were over it.
	if q["views"] != 32.0 || q["verified_visits"] != 32.0 || q["unverified_visits"] != 0.0 || q["bot_views"] != 4.0 || q["period_days"] != 7.0 {
		t.Errorf("totals: %s", raw)
	}
	want := map[string][2]float64{
		"known_ua": {2, 0}, "rate_limited": {5, 0}, "pow_missing": {2, 2}, "pow_invalid": {1, 0},
		"pow_expired": {0, 0}, "pow_replayed": {1, 0}, "threshold": {0, 0}, "excluded": {0, 0}, "correlator": {0, 0},
	}
	// The discarded beacon lacked a proof: it counts under pow_missing.
	want["pow_missing"] = [2]float64{3, 2}
	f := q["filtered"].(map[string]any)
	if len(f) != len(want) {
		t.Errorf("filtered reasons %v, want all %d", f, len(want))
	}
	for reason, w := range want {
		c, _ := f[reason].(map[string]any)
		if c == nil || c["views"] != w[0] || c["events"] != w[1] {
			t.Errorf("filtered %s = %v, want views %v events %v", reason, f[reason], w[0], w[1])
		}
	}
	tot := q["filtered_total"].(map[string]any)
	if tot["views"] != 12.0 || tot["events"] != 2.0 {
		t.Errorf("filtered_total %v, want 12 views and 2 events", tot)
	}
	daily := q["daily"].([]any)
	if len(daily) != 1 || daily[0].(map[string]any)["date"] != now.UTC().Format(time.DateOnly) || daily[0].(map[string]any)["verified_visits"] != 32.0 {
		t.Errorf("daily %v", daily)
	}

	if s, _, raw := apiCall(t, "GET", "/_echelon/api/stats/quality?site_id=qa", "", ""); s != 401 {
		t.Errorf("without the secret: %d %s", s, raw)
	}
	if s, _, raw := apiCall(t, "GET", "/_echelon/api/stats/quality?site_id=a%20b", "", testSecret); s != 400 || !strings.Contains(raw, `"invalid_site_id"`) {
		t.Errorf("bad site id: %d %s", s, raw)
	}
	if s, _, raw := apiCall(t, "GET", "/_echelon/api/stats/quality", "", testSecret); s != 400 || !strings.Contains(raw, `"missing_param"`) {
		t.Errorf("no site id: %d %s", s, raw)
	}
	unload(t)
	startCaddy(t, "public_mode")
	if s, _, raw := apiCall(t, "GET", "/_echelon/api/stats/quality?site_id=qa", "", ""); s != 200 || !strings.Contains(raw, `"verified_visits":`) {
		t.Errorf("public mode: %d %s", s, raw)
	}
}

// TestDashboard_TrafficQualityCard: the dashboard home shows how many of
// the period's visits were verified and every reason hits were kept out
// for, with their counts.
func TestDashboard_TrafficQualityCard(t *testing.T) {
	dir := startProxied(t, "")
	now := time.Now()
	for i := range 3 {
		sid := fmt.Sprintf("0b7c2f0e-1111-4222-8333-%012d", i)
		do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "card", map[string]string{"sid": sid, "tok": mint(t, dir, sid, "card", now)}), nil, nil)
	}
	do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "card", nil), nil, nil)
	do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "card", nil), nil, http.Header{"Sec-Ch-Ua": {`"HeadlessChrome";v="131", "Chromium";v="131"`}})
	if err := sharedOf(t, dir).writer.Flush(); err != nil {
		t.Fatal(err)
	}
	res, page := dashDo(t, "GET", "/_echelon/?site_id=card&days=7", nil, http.Header{"Authorization": {"Bearer s3cret"}})
	if res.StatusCode != 200 {
		t.Fatalf("dashboard: %d", res.StatusCode)
	}
	for _, want := range []string{
		`<h3 id="q-h">Traffic quality</h3>`,
		`id="q-verified">3</strong><small>100.0% of visits</small>`,
		`id="q-unverified">0<`,
		`id="q-bots">1<`,
		`id="q-filtered">2<`,
		`<tr data-reason="pow_missing"><td>No proof of work</td><td class="n">1</td><td class="n">0</td></tr>`,
		`<tr data-reason="known_ua"><td>Known bot or automation</td><td class="n">1</td><td class="n">0</td></tr>`,
		`<tr data-reason="correlator"><td>Correlated cluster</td><td class="n">0</td><td class="n">0</td></tr>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
}
