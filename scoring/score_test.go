package scoring

import (
	"net/netip"
	"testing"
	"time"
)

// quietBeacon is a beacon on which no signal fires: every test below
// changes one thing.
func quietBeacon() Input {
	return Input{
		Hit:               HitBeacon,
		InteractionMS:     5000,
		HasAcceptLanguage: true,
		HasSecCHUA:        true,
		HasSecFetchSite:   true,
		Path:              "/",
	}
}

func testRules() *Rules {
	return &Rules{
		SuspectCountries:     map[string]bool{"CN": true},
		SiteSuspectCountries: map[string]map[string]bool{"shop": {"CN": true, "RU": true}},
		SuspectPoints:        30,
	}
}

// points returns the points key scored, 0 if it did not fire.
func points(res Result, key string) int {
	for _, d := range res.Detail {
		if d.Key == key {
			return d.Points
		}
	}
	return 0
}

func TestScore_QuietBeaconScoresZero(t *testing.T) {
	in := quietBeacon()
	if res := testRules().Score(&in); res.Score != 0 || len(res.Detail) != 0 {
		t.Fatalf("quiet beacon scored %d %v", res.Score, res.Detail)
	}
}

func TestScore_TimingBands(t *testing.T) {
	for _, tc := range []struct {
		name string
		hit  Hit
		spa  bool
		ms   int64
		want int
	}{
		{"800 ms", HitBeacon, false, 800, 20},
		{"849 ms", HitBeacon, false, 849, 20},
		{"850 ms", HitBeacon, false, 850, 8},
		{"999 ms", HitBeacon, false, 999, 8},
		{"1000 ms", HitBeacon, false, 1000, 0},
		{"SPA navigation has no timing", HitBeacon, true, 0, 0},
		{"events have no timing", HitEvents, false, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := quietBeacon()
			in.Hit, in.SPA, in.InteractionMS = tc.hit, tc.spa, tc.ms
			if got := points(testRules().Score(&in), "timing"); got != tc.want {
				t.Errorf("timing = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestScore_CloudflareBands(t *testing.T) {
	for _, tc := range []struct {
		score    int
		verified bool
		want     int
	}{
		{0, false, 0}, // absent or untrusted
		{0, true, 0},  // verified counts only with a valid score
		{1, false, 50},
		{2, false, 50},
		{3, false, 30},
		{29, false, 30},
		{30, false, 10},
		{50, false, 10},
		{51, false, 0},
		{99, false, 0},
		{1, true, 15}, // verified bot takes priority over the band
		{2, true, 15},
		{99, true, 15},
	} {
		in := quietBeacon()
		in.CFBotScore, in.CFVerified = tc.score, tc.verified
		if got := points(testRules().Score(&in), "cf"); got != tc.want {
			t.Errorf("cf-bot-score %d verified %v: cf = %d, want %d", tc.score, tc.verified, got, tc.want)
		}
	}
}

func TestScore_BurstFromTheSixteenthHit(t *testing.T) {
	for _, tc := range []struct{ count, want int }{
		{0, 0}, {1, 0}, {15, 0}, {16, 25}, {100, 25},
	} {
		for _, hit := range []Hit{HitBeacon, HitEvents} {
			in := quietBeacon()
			in.Hit, in.Burst = hit, tc.count
			if got := points(testRules().Score(&in), "burst"); got != tc.want {
				t.Errorf("hit %d, burst count %d: burst = %d, want %d", hit, tc.count, got, tc.want)
			}
		}
	}
}

// The screen flags come from the beacon parser (handlers.parseScreen, whose
// 0/1/10000/10001/NaN boundaries handlers/parse_test.go pins); here, what
// each outcome scores.
func TestScore_UnrealisticScreen(t *testing.T) {
	for _, tc := range []struct {
		name        string
		hit         Hit
		sent, valid bool
		want        int
	}{
		{"not sent (sw and sh absent)", HitBeacon, false, false, 0},
		{"1x1 and 10000x10000 are valid", HitBeacon, true, true, 0},
		{"0, 10001, NaN or one missing are not", HitBeacon, true, false, 10},
		{"events are not checked", HitEvents, true, false, 0},
	} {
		in := quietBeacon()
		in.Hit, in.ScreenSent, in.ScreenValid = tc.hit, tc.sent, tc.valid
		if got := points(testRules().Score(&in), "screen"); got != tc.want {
			t.Errorf("%s: screen = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestScore_ReferrerDeepPath(t *testing.T) {
	for _, tc := range []struct {
		path     string
		external bool
		hit      Hit
		want     int
	}{
		{"/", false, HitBeacon, 0},
		{"/pricing", false, HitBeacon, 0},           // 1 segment
		{"/blog/post", false, HitBeacon, 5},         // 2 segments
		{"//blog///", false, HitBeacon, 0},          // empty pieces do not count
		{"/blog?from=/x", false, HitBeacon, 5},      // the query string counts
		{"/a/b/c/d", true, HitBeacon, 0},            // external referrer
		{"/blog/post", false, HitEvents, 0},         // beacon only
		{"/docs/guide/intro", false, HitBeacon, 5},  // more segments, same points
		{"/docs//guide", false, HitBeacon, 5},       // 2 non-empty segments
		{"/only-one-segment/", false, HitBeacon, 0}, // trailing slash adds none
	} {
		in := quietBeacon()
		in.Path, in.ExternalReferrer, in.Hit = tc.path, tc.external, tc.hit
		if got := points(testRules().Score(&in), "referrer"); got != tc.want {
			t.Errorf("path %q external %v hit %d: referrer = %d, want %d", tc.path, tc.external, tc.hit, got, tc.want)
		}
	}
}

func TestPathSegments(t *testing.T) {
	for p, want := range map[string]int{
		"": 0, "/": 0, "//": 0, "a": 1, "/a": 1, "/a/": 1, "a/b": 2, "/a/b": 2, "/a//b/": 2, "/a/b/c?x=1/2": 4,
	} {
		if got := pathSegments(p); got != want {
			t.Errorf("pathSegments(%q) = %d, want %d", p, got, want)
		}
	}
}

func TestScore_HeaderPresence(t *testing.T) {
	for _, tc := range []struct {
		lang, chua, fetchSite bool
		want                  int
	}{
		{true, true, true, 0},
		{true, true, false, 0}, // either hint header is enough
		{true, false, true, 0},
		{true, false, false, 10},
		{false, true, true, 10},
		{false, true, false, 10},
		{false, false, true, 10},
		{false, false, false, 20},
	} {
		for _, hit := range []Hit{HitBeacon, HitEvents} {
			in := quietBeacon()
			in.Hit = hit
			in.HasAcceptLanguage, in.HasSecCHUA, in.HasSecFetchSite = tc.lang, tc.chua, tc.fetchSite
			if got := points(testRules().Score(&in), "headers"); got != tc.want {
				t.Errorf("Accept-Language %v, Sec-CH-UA %v, Sec-Fetch-Site %v: headers = %d, want %d",
					tc.lang, tc.chua, tc.fetchSite, got, tc.want)
			}
		}
	}
}

func TestScore_HeaderCoherence(t *testing.T) {
	in := quietBeacon()
	in.BrandMismatch = true
	if got := points(testRules().Score(&in), "header_coherence"); got != 15 {
		t.Errorf("brand mismatch: header_coherence = %d, want 15", got)
	}
	in.Hit = HitEvents
	if got := points(testRules().Score(&in), "header_coherence"); got != 15 {
		t.Errorf("brand mismatch on events: header_coherence = %d, want 15", got)
	}
}

func TestScore_FetchDestOnThePixel(t *testing.T) {
	for _, tc := range []struct {
		dest string
		hit  Hit
		want int
	}{
		{"", HitBeacon, 0}, // absent (older browsers) or empty
		{"image", HitBeacon, 0},
		{"Image", HitBeacon, 0},
		{"empty", HitBeacon, 10}, // fetch() or sendBeacon
		{"document", HitBeacon, 10},
		{"script", HitBeacon, 10},
		{"empty", HitEvents, 0}, // events are POSTed by fetch/sendBeacon
	} {
		in := quietBeacon()
		in.Hit, in.FetchDest = tc.hit, tc.dest
		if got := points(testRules().Score(&in), "fetch_dest"); got != tc.want {
			t.Errorf("Sec-Fetch-Dest %q hit %d: fetch_dest = %d, want %d", tc.dest, tc.hit, got, tc.want)
		}
	}
}

func TestScore_FeedSignals(t *testing.T) {
	in := quietBeacon()
	in.CrawlerFeed, in.AICrawlerFeed, in.DatacenterIP = true, true, true
	res := testRules().Score(&in)
	for key, want := range map[string]int{"crawler_feed": 30, "ai_crawler_feed": 40, "datacenter_ip": 15} {
		if got := points(res, key); got != want {
			t.Errorf("%s = %d, want %d", key, got, want)
		}
	}
	if res.Score != 85 {
		t.Errorf("score %d, want 85", res.Score)
	}
}

func TestScore_GeoAndSiteGeoStack(t *testing.T) {
	for _, tc := range []struct {
		country, site string
		geo, geoSite  int
	}{
		{"CN", "blog", 30, 0},
		{"RU", "shop", 0, 30},
		{"RU", "SHOP", 0, 30}, // site ids match case-insensitively
		{"CN", "shop", 30, 30},
		{"FI", "shop", 0, 0},
		{"", "shop", 0, 0}, // no trusted country header
	} {
		in := quietBeacon()
		in.Country, in.Site = tc.country, tc.site
		res := testRules().Score(&in)
		if g, gs := points(res, "geo"), points(res, "geo_site"); g != tc.geo || gs != tc.geoSite || res.Score != tc.geo+tc.geoSite {
			t.Errorf("%s on %s: geo %d geo_site %d score %d, want %d %d", tc.country, tc.site, g, gs, res.Score, tc.geo, tc.geoSite)
		}
	}
}

func TestScore_NegativeSuspectPointsClampAtZero(t *testing.T) {
	r := testRules()
	r.SuspectPoints = -30
	in := quietBeacon()
	in.Country, in.Site = "CN", "shop"
	in.InteractionMS = 900 // +8
	res := r.Score(&in)
	if res.Score != 0 {
		t.Errorf("score %d, want 0 (8 - 30 - 30 clamped)", res.Score)
	}
	if points(res, "geo") != -30 || points(res, "geo_site") != -30 {
		t.Errorf("detail %v should keep the negative points", res.Detail)
	}
	res.Add("pow", 15)
	if res.Score != 0 {
		t.Errorf("after +15 PoW: score %d, want 0 (-37 clamped)", res.Score)
	}
}

func TestScore_ClampsAtHundred(t *testing.T) {
	in := quietBeacon()
	in.CFBotScore, in.InteractionMS, in.Burst, in.AICrawlerFeed = 1, 800, 16, true
	if res := testRules().Score(&in); res.Score != 100 {
		t.Errorf("score %d, want 100", res.Score)
	}
}

func TestScore_DetailFollowsTheTable(t *testing.T) {
	in := quietBeacon()
	in.CFBotScore, in.InteractionMS, in.Country, in.Site = 40, 900, "CN", "shop"
	in.Burst, in.HasAcceptLanguage, in.BrandMismatch, in.FetchDest = 16, false, true, "empty"
	in.ScreenSent, in.Path, in.CrawlerFeed, in.DatacenterIP = true, "/a/b", true, true
	res := testRules().Score(&in)
	want := `{"cf":10,"timing":8,"geo":30,"geo_site":30,"burst":25,"headers":10,"header_coherence":15,"fetch_dest":10,"screen":10,"referrer":5,"crawler_feed":30,"datacenter_ip":15}`
	if got := res.DetailJSON(); got != want {
		t.Errorf("detail\n got %s\nwant %s", got, want)
	}
}

func TestRules_BotIPTierSoftenedByValidPoW(t *testing.T) {
	for _, tc := range []struct {
		tier     IPTier
		powValid bool
		want     int
	}{
		{IPTierNone, false, 0},
		{IPTierNone, true, 0},
		{IPTierSuspected, false, 20},
		{IPTierSuspected, true, 10},
		{IPTierConfirmed, false, 50},
		{IPTierConfirmed, true, 25},
	} {
		var res Result
		testRules().BotIP(&res, tc.tier, tc.powValid)
		if got := points(res, "bot_ip"); got != tc.want || res.Score != tc.want {
			t.Errorf("%s, PoW valid %v: bot_ip %d score %d, want %d", tc.tier, tc.powValid, got, res.Score, tc.want)
		}
		if tc.want == 0 && len(res.Detail) != 0 {
			t.Errorf("%s: detail %v, want none", tc.tier, res.Detail)
		}
	}
}

// BenchmarkScore scores a beacon on which every signal of the table fires,
// so each row does its full work and the detail is built.
func BenchmarkScore(b *testing.B) {
	r := testRules()
	in := quietBeacon()
	in.CFBotScore, in.InteractionMS, in.Country, in.Site = 40, 900, "CN", "Shop"
	in.Burst, in.HasAcceptLanguage, in.HasSecCHUA, in.HasSecFetchSite = 16, false, false, false
	in.BrandMismatch, in.FetchDest, in.ScreenSent = true, "empty", true
	in.Path, in.CrawlerFeed, in.AICrawlerFeed, in.DatacenterIP = "/docs/guide/intro?x=1", true, true, true
	b.ReportAllocs()
	for b.Loop() {
		res := r.Score(&in)
		r.BotIP(&res, IPTierSuspected, true)
		if res.Score != 100 {
			b.Fatal(res.Score)
		}
	}
}

// BenchmarkScoreBeacon is the whole per-beacon cost of this package with
// every input evaluated: headers, feeds, burst count, IP tier, score.
func BenchmarkScoreBeacon(b *testing.B) {
	r := testRules()
	h := hdr("Accept-Language", "en-US,en;q=0.9", "Sec-CH-UA", chromeBrands, "Sec-Fetch-Site", "cross-site", "Sec-Fetch-Dest", "image")
	ip := netip.MustParseAddr("81.2.69.142")
	salt := []byte("0123456789abcdef0123456789abcdef")
	burst, bots := NewBurst(0), NewBotIPs(0)
	var keys IPKeyer // as the handlers hold it
	var feeds *Feeds // loaded feeds: BenchmarkFeedsFill
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		in := Input{Hit: HitBeacon, InteractionMS: 2400, Country: "FI", Site: "shop", Path: "/blog/post"}
		in.ReadHeaders(h, chromeWindowsUA, BrandsOf(h["Sec-Ch-Ua"]))
		feeds.Fill(&in, chromeWindowsUA, ip)
		key := keys.Key(ip, salt)
		in.Burst = burst.Hit(burstKey(key, chromeWindowsUA), now)
		res := r.Score(&in)
		r.BotIP(&res, bots.Tier(key, now), true)
	}
}

func TestScore_SPANavigationToDeepPathIsNotPenalised(t *testing.T) {
	r := &Rules{}
	base := Input{Hit: HitBeacon, Path: "/a/b", HasAcceptLanguage: true, HasSecCHUA: true, InteractionMS: 1500}
	if res := r.Score(&base); res.Score != 5 {
		t.Fatalf("first pageview to a deep path without referrer: %d, want 5", res.Score)
	}
	spa := base
	spa.SPA = true
	if res := r.Score(&spa); res.Score != 0 {
		t.Errorf("SPA navigation to a deep path: %d %v, want 0", res.Score, res.Detail)
	}
}
