package echelon

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

const curlUA = "curl/8.5.0"
const gptBotUA = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)"

// metricsBody reads Caddy's admin /metrics.
func metricsBody(t *testing.T) string {
	t.Helper()
	res, err := http.Get(fmt.Sprintf("http://localhost:%d/metrics", adminPort))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// detailHas reports whether a stored detail has "key":value.
func detailHas(detail, key string, value int) bool {
	return strings.Contains(detail, fmt.Sprintf(`"%s":%d`, key, value))
}

// TestBots_KnownBotUAsDroppedNotStored: curl's and GPTBot's User-Agents
// get exactly the answer a real beacon gets, nothing is stored, the drop
// is counted by reason, and the IP enters the suspected tier, so the next
// (UA-spoofing) beacon from it scores bot_ip.
func TestBots_KnownBotUAsDroppedNotStored(t *testing.T) {
	_, dir := startCaddy(t, classicPoW(""))
	origin := http.Header{"Origin": {"https://shop.example"}}
	for _, ua := range []string{curlUA, gptBotUA} {
		h := origin.Clone()
		h.Set("User-Agent", ua)
		status, hdr, body := do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "kb", nil), nil, h)
		_, realHdr, _ := do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "kb-real", nil), nil, origin)
		if status != 200 || !bytes.Equal([]byte(body), wantPixel) {
			t.Errorf("%s: status %d body %x, want the pixel", ua, status, body)
		}
		for _, k := range []string{"Content-Type", "Cache-Control", "Content-Length", "Access-Control-Allow-Origin", "X-Content-Type-Options"} {
			if hdr.Get(k) != realHdr.Get(k) {
				t.Errorf("%s: %s = %q, a real beacon gets %q", ua, k, hdr.Get(k), realHdr.Get(k))
			}
		}
		status, _, _ = do(t, "POST", baseURL+"/e", strings.NewReader(`{"siteId":"kb","events":[{"type":"click"}]}`), h)
		if status != http.StatusNoContent {
			t.Errorf("%s: events status %d, want 204", ua, status)
		}
	}
	if v := storedViews(t, dir, "kb"); len(v) != 0 {
		t.Errorf("%d known-bot views stored", len(v))
	}
	if e := storedEvents(t, dir, "kb"); len(e) != 0 {
		t.Errorf("%d known-bot events stored", len(e))
	}
	m := metricsBody(t)
	for _, want := range []string{
		`echelon_bot_drops_total{endpoint="b.gif",reason="known_ua"} 2`,
		`echelon_bot_drops_total{endpoint="e",reason="known_ua"} 2`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "spoof", nil), nil, nil)
	views := storedViews(t, dir, "spoof")
	if len(views) != 1 || !detailHas(views[0].BotScoreDetail, "bot_ip", 20) {
		t.Fatalf("beacon from a suspected IP: %+v, want bot_ip 20", views)
	}
}

// TestBots_SixteenthBeaconScoresBurst: 15 beacons in 5 minutes from one
// IP and UA are fine, the 16th scores burst +25; another UA behind the
// same IP (an office NAT) has its own count.
func TestBots_SixteenthBeaconScoresBurst(t *testing.T) {
	_, dir := startCaddy(t, classicPoW(""))
	for range 16 {
		do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "burst", nil), nil, nil)
	}
	firefox := http.Header{"User-Agent": {"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"}}
	do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "burst", nil), nil, firefox)
	views := storedViews(t, dir, "burst")
	if len(views) != 17 {
		t.Fatalf("stored %d views, want 17", len(views))
	}
	for i, v := range views {
		want := i == 15
		if got := detailHas(v.BotScoreDetail, "burst", 25); got != want {
			t.Errorf("beacon %d (%s): burst scored %v, want %v", i+1, v.BrowserName, got, want)
		}
	}
	if views[15].BotScore != views[14].BotScore+25 {
		t.Errorf("16th scored %d, 15th %d: want +25", views[15].BotScore, views[14].BotScore)
	}
}

// TestBots_CloudflareVerifiedBotFromTrustedProxyOnly complements
// TestClientIP_CloudflareHeadersOnlyFromTrustedProxy with the verified-bot
// header.
func TestBots_CloudflareVerifiedBotFromTrustedProxyOnly(t *testing.T) {
	hdr := http.Header{"Cf-Bot-Score": {"80"}, "Cf-Verified-Bot": {"true"}}
	for _, tc := range []struct {
		cidr string
		want int
	}{{"127.0.0.1/8", 15}, {"10.9.9.9/32", 0}} {
		_, dir := startCaddyTrusting(t, tc.cidr, classicPoW("behind_cloudflare"))
		do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "cfv", nil), nil, hdr)
		views := storedViews(t, dir, "cfv")
		if len(views) != 1 || detailHas(views[0].BotScoreDetail, "cf", 15) != (tc.want == 15) {
			t.Errorf("trusted_proxies %s: %+v, want cf %d", tc.cidr, views, tc.want)
		}
		unload(t)
	}
}

// apiDo calls the API with the test secret.
func apiDo(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	status, _, b := do(t, method, baseURL+path, r, http.Header{"Authorization": {"Bearer s3cret"}})
	return status, b
}

// TestBots_ExcludedVisitorStopsBeingStoredAtOnce: after POST
// /api/bots/exclude the very next beacon and event batch of the visitor
// are not stored; after DELETE they are again.
func TestBots_ExcludedVisitorStopsBeingStoredAtOnce(t *testing.T) {
	_, dir := startCaddy(t, classicPoW("secret s3cret"))
	beacon := func() { do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "ex", nil), nil, nil) }
	event := func() {
		do(t, "POST", baseURL+"/e", strings.NewReader(`{"siteId":"ex","events":[{"type":"click"}]}`), nil)
	}
	beacon()
	views := storedViews(t, dir, "ex")
	if len(views) != 1 {
		t.Fatalf("stored %d views before the exclusion", len(views))
	}
	id := views[0].VisitorID
	if status, body := apiDo(t, "POST", "/_echelon/api/bots/exclude", `{"visitor_id":"`+id+`","label":"me"}`); status != 201 || body != `{"excluded":"`+id+`"}` {
		t.Fatalf("exclude: %d %s", status, body)
	}
	beacon()
	event()
	if n := len(storedViews(t, dir, "ex")); n != 1 {
		t.Errorf("%d views after the exclusion, want still 1", n)
	}
	if n := len(storedEvents(t, dir, "ex")); n != 0 {
		t.Errorf("%d events of an excluded visitor stored", n)
	}
	if !strings.Contains(metricsBody(t), `echelon_bot_drops_total{endpoint="b.gif",reason="excluded"} 1`) {
		t.Error("excluded drop not counted")
	}
	if status, body := apiDo(t, "DELETE", "/_echelon/api/bots/exclude/"+id, ""); status != 200 || body != `{"included":"`+id+`"}` {
		t.Fatalf("include: %d %s", status, body)
	}
	beacon()
	if n := len(storedViews(t, dir, "ex")); n != 2 {
		t.Errorf("%d views after the inclusion, want 2", n)
	}
}

// TestBots_ThreatFeedFromHTTPAndCache: a datacenter feed served over HTTP
// scores datacenter_ip; it is cached in db_path/feeds, and a restart with
// the source down starts from the cached copy.
func TestBots_ThreatFeedFromHTTPAndCache(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "127.0.0.0/8\n::1/128\n")
	}))
	url := srv.URL + "/dc.txt"
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	start := func() {
		tc := newTester(t)
		tc.InitServer(siteConfig(dir, classicPoW("datacenter_feeds "+url)), "caddyfile")
		t.Cleanup(func() { unload(t) })
	}
	waitScored := func(site string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			sh := sharedOf(t, db)
			sh.mu.Lock()
			f := sh.feeds
			sh.mu.Unlock()
			if st := f.Status(); len(st) == 1 && st[0].Entries == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("feed not loaded: %+v", f.Status())
			}
		}
		do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", site, nil), nil, nil)
		views := storedViews(t, db, site)
		if len(views) != 1 || !detailHas(views[0].BotScoreDetail, "datacenter_ip", 15) {
			t.Fatalf("%s: %+v, want datacenter_ip 15", site, views)
		}
	}
	start()
	waitScored("dc1")
	cached, _ := filepath.Glob(filepath.Join(db, "feeds", "datacenter-*.feed"))
	if len(cached) != 1 {
		t.Fatalf("cache files %v, want one", cached)
	}
	unload(t)
	srv.Close()
	start()
	waitScored("dc2")
	if _, err := os.Stat(cached[0]); err != nil {
		t.Fatal(err)
	}
}

// TestBots_RateLimitAnswers: past rate_limit_max, ea.js and e answer 429
// with Retry-After, b.gif the pixel without CORS; 0 turns the limiter off.
func TestBots_RateLimitAnswers(t *testing.T) {
	_, dir := startCaddy(t, classicPoW("rate_limit_max 2\nrate_limit_window 1m"))
	origin := http.Header{"Origin": {"https://shop.example"}}
	for range 2 {
		do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "rl", nil), nil, origin)
	}
	status, h, body := do(t, "GET", baseURL+"/ea.js?s=rl", nil, nil)
	if status != 429 || body != "// rate limited" || h.Get("Retry-After") == "" {
		t.Errorf("ea.js: %d %q Retry-After %q", status, body, h.Get("Retry-After"))
	}
	status, h, body = do(t, "POST", baseURL+"/e", strings.NewReader(`{"siteId":"rl","events":[{"type":"click"}]}`), nil)
	if status != 429 || body != "" || h.Get("Retry-After") == "" {
		t.Errorf("e: %d %q Retry-After %q", status, body, h.Get("Retry-After"))
	}
	status, h, body = do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "rl", nil), nil, origin)
	if status != 200 || body != string(wantPixel) || h.Get("Access-Control-Allow-Origin") != "" || h.Get("Retry-After") != "" {
		t.Errorf("b.gif: %d, CORS %q: want the silent pixel", status, h.Get("Access-Control-Allow-Origin"))
	}
	if n := len(storedViews(t, dir, "rl")); n != 2 {
		t.Errorf("%d views stored, want the 2 within the limit", n)
	}
	unload(t)

	_, dir = startCaddy(t, classicPoW("rate_limit_max 0"))
	for range 5 {
		do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "rl0", nil), nil, nil)
	}
	if n := len(storedViews(t, dir, "rl0")); n != 5 {
		t.Errorf("rate_limit_max 0: %d of 5 stored", n)
	}
}

// TestBots_KnownBotOnEaJsMarksTheIP: ea.js is served to a known bot, but
// its IP enters the suspected tier (docs/bot-defense.md, The gates).
func TestBots_KnownBotOnEaJsMarksTheIP(t *testing.T) {
	_, dir := startCaddy(t, classicPoW(""))
	status, _, _ := do(t, "GET", baseURL+"/ea.js?s=eabot", nil, http.Header{"User-Agent": {gptBotUA}})
	if status != 200 {
		t.Fatalf("ea.js for a known bot: %d, want 200", status)
	}
	do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "eabot", nil), nil, nil)
	if v := storedViews(t, dir, "eabot"); len(v) != 1 || !detailHas(v[0].BotScoreDetail, "bot_ip", 20) {
		t.Fatalf("%+v, want bot_ip 20", v)
	}
}

// TestBots_AllowedSitesOnly: with allowed_sites, hits for other sites are
// answered as usual and not stored, beacons and events alike.
func TestBots_AllowedSitesOnly(t *testing.T) {
	_, dir := startCaddy(t, classicPoW("allowed_sites Shop"))
	for _, site := range []string{"shop", "other"} {
		if status, _, _ := do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", site, nil), nil, nil); status != 200 {
			t.Fatalf("b.gif %s: %d", site, status)
		}
		if status, _, _ := do(t, "POST", baseURL+"/e", strings.NewReader(`{"siteId":"`+site+`","events":[{"type":"click"}]}`), nil); status != 204 {
			t.Fatalf("e %s: %d", site, status)
		}
	}
	if v, e := storedViews(t, dir, "shop"), storedEvents(t, dir, "shop"); len(v) != 1 || len(e) != 1 {
		t.Errorf("allowed site: %d views %d events, want 1 and 1", len(v), len(e))
	}
	if v, e := storedViews(t, dir, "other"), storedEvents(t, dir, "other"); len(v) != 0 || len(e) != 0 {
		t.Errorf("other site: %d views %d events stored", len(v), len(e))
	}
}

// TestBots_EverySignalReachesTheStoredDetail sends one beacon per signal
// through Caddy and checks the stored detail names it with its points.
func TestBots_EverySignalReachesTheStoredDetail(t *testing.T) {
	_, dir := startCaddy(t, classicPoW("trust_geo_headers\n\t\tsuspect_countries CN\n\t\tsite_suspect_countries sig-geo2:RU,CN"))
	for i, tc := range []struct {
		name, site string
		set        map[string]string
		hdr        http.Header
		key        string
		points     int
	}{
		{"timing < 850 ms", "sig-t1", map[string]string{"_v": "849"}, nil, "timing", 20},
		{"timing 850–999 ms", "sig-t2", map[string]string{"_v": "850"}, nil, "timing", 8},
		{"suspect country", "sig-geo1", nil, http.Header{"X-Country-Code": {"cn"}}, "geo", 30},
		{"site suspect country", "sig-geo2", nil, http.Header{"X-Country-Code": {"RU"}}, "geo_site", 30},
		{"both stack", "sig-geo2", nil, http.Header{"X-Country-Code": {"CN"}}, "geo_site", 30},
		{"no Accept-Language", "sig-h1", nil, http.Header{"Accept-Language": nil}, "headers", 10},
		{"no client hints", "sig-h2", nil, http.Header{"Sec-Ch-Ua": nil, "Sec-Fetch-Site": nil}, "headers", 10},
		{"brand contradicts UA", "sig-hc", nil, http.Header{"Sec-Ch-Ua": {`"Not A;Brand";v="99"`}}, "header_coherence", 15},
		{"Sec-Fetch-Dest not image", "sig-fd", nil, http.Header{"Sec-Fetch-Dest": {"document"}}, "fetch_dest", 10},
		{"absurd screen", "sig-sc", map[string]string{"sw": "NaN"}, nil, "screen", 10},
		{"deep path, no referrer", "sig-ref", nil, nil, "referrer", 5},
		{"no proof of work", "sig-pow", nil, nil, "pow", 15},
	} {
		// A distinct X-Forwarded-For is ignored (no trust_proxy), so vary
		// the UA's version instead: no burst across the table.
		hdr := http.Header{"User-Agent": {strings.Replace(chromeUA, "131.0.0.0", fmt.Sprintf("131.0.0.%d", i), 1)}}
		for k, v := range tc.hdr {
			hdr[k] = v
		}
		path := "/"
		if tc.key == "referrer" {
			path = "/a/b"
		}
		do(t, "GET", baseURL+"/b.gif?"+beaconQuery(path, tc.site, tc.set), nil, hdr)
		views := storedViews(t, dir, tc.site)
		if len(views) == 0 || !detailHas(views[len(views)-1].BotScoreDetail, tc.key, tc.points) {
			t.Errorf("%s: %+v, want %s %d", tc.name, views, tc.key, tc.points)
			continue
		}
		if tc.name == "both stack" && !detailHas(views[len(views)-1].BotScoreDetail, "geo", 30) {
			t.Errorf("geo and geo_site must stack: %s", views[len(views)-1].BotScoreDetail)
		}
	}
}

// TestBots_EventsScoreTheirSignals: an event batch scores geo, headers,
// proof of work and the burst count of its visitor's beacons (read, not
// counted), but none of the beacon-only signals.
func TestBots_EventsScoreTheirSignals(t *testing.T) {
	_, dir := startCaddy(t, classicPoW("trust_geo_headers"))
	for range 16 {
		do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/a/b", "ev", map[string]string{"_v": "820", "sw": "0"}), nil, nil)
	}
	status, _, body := do(t, "POST", baseURL+"/e", strings.NewReader(`{"siteId":"ev","events":[{"type":"click"}]}`),
		http.Header{"Accept-Language": nil, "X-Country-Code": {"CN"}, "Sec-Fetch-Dest": {"empty"}})
	if status != 204 {
		t.Fatalf("events: %d %q", status, body)
	}
	events := storedEvents(t, dir, storage.OtherSite) // bots only: "ev" is not registered
	if len(events) != 1 {
		t.Fatalf("%d events stored", len(events))
	}
	d := events[0].BotScoreDetail
	for key, p := range map[string]int{"geo": 30, "headers": 10, "pow": 15, "burst": 25} {
		if !detailHas(d, key, p) {
			t.Errorf("event detail %s lacks %s %d", d, key, p)
		}
	}
	for _, key := range []string{"timing", "screen", "referrer", "fetch_dest"} {
		if strings.Contains(d, `"`+key+`"`) {
			t.Errorf("event detail %s has the beacon-only %s", d, key)
		}
	}
	if n := len(storedViews(t, dir, storage.OtherSite)); n != 16 {
		t.Errorf("%d views, want 16 (the event must not count as a burst hit)", n)
	}
}
