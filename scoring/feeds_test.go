package scoring

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// feedServer serves feeds from a map that tests change between refreshes.
type feedServer struct {
	*httptest.Server
	mu    sync.Mutex
	body  map[string]string // path → body; missing → 404
	delay time.Duration
	hits  atomic.Int64
}

func newFeedServer(t *testing.T) *feedServer {
	s := &feedServer{body: map[string]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		body, ok := s.body[r.URL.Path]
		delay := s.delay
		s.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(body))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *feedServer) set(path, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body[path] = body
}

func newTestFeeds(t *testing.T, dir string, sources ...FeedSource) (*Feeds, *[]error) {
	t.Helper()
	var mu sync.Mutex
	var errs []error
	f, err := NewFeeds(FeedsConfig{
		Sources:  sources,
		CacheDir: dir,
		Timeout:  2 * time.Second,
		OnError: func(err error) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return f, &errs
}

const crawlerJSON = `[
  {"pattern": "Googlebot\\/", "instances": ["Googlebot/2.1"]},
  {"pattern": "[wW]get"},
  {"pattern": "grub.org"},
  {"pattern": "Ahrefs(Bot|SiteAudit)"},
  {"pattern": "^curl"},
  {"pattern": "(^| )sentry\\/"},
  {"pattern": "webmon "},
  {"pattern": "(?<!not)crawlbot"},
  {"pattern": "Mozilla"},
  {"pattern": ""}
]`

func TestFeeds_CrawlerPatterns(t *testing.T) {
	srv := newFeedServer(t)
	srv.set("/crawlers.json", crawlerJSON)
	f, _ := newTestFeeds(t, "", FeedSource{FeedCrawlerUA, srv.URL + "/crawlers.json"})
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	for ua, want := range map[string]bool{
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)": true,
		"GOOGLEBOT/2.1":                  true, // case-insensitive
		"Googlebot":                      false,
		"Wget/1.21":                      true,
		"x (grub-org crawler)":           true, // "." is any character, as in the feed
		"AhrefsSiteAudit/6.1":            true,
		"Ahrefs":                         false,
		"curl/8.4.0":                     true,
		"not curl/8.4.0":                 false, // anchored
		"sentry/8.22.0":                  true,
		"x sentry/1":                     true,
		"xsentry/1":                      false,
		"webmon 1.0":                     true,
		"webmonitor":                     false, // trailing space kept
		"crawlbot":                       false, // lookaround: RE2 rejects it, skipped
		chromeWindowsUA:                  false, // "Mozilla" would match every browser: dropped
		"Mozilla/5.0 (X11; Linux) Gecko": false,
		"":                               false,
	} {
		if got := f.CrawlerUA(ua); got != want {
			t.Errorf("CrawlerUA(%q) = %v, want %v", ua, got, want)
		}
	}
	if st := f.Status(); len(st) != 1 || st[0].Entries != 9 || st[0].Err != nil || st[0].Updated.IsZero() {
		t.Errorf("status %+v, want 9 entries, no error", st)
	}
}

// TestUAPatterns_AgreesWithOneAlternation checks the split into literals,
// gated and plain regexes against the naive (?i)p1|p2|… on UAs made of
// pieces of the patterns.
func TestUAPatterns_AgreesWithOneAlternation(t *testing.T) {
	patterns := []string{
		"Googlebot\\/", "[wW]get", "grub.org", "Ahrefs(Bot|SiteAudit)", "^curl", "(^| )sentry\\/",
		"webmon ", "AdsBot-Google([^-]|$)", "S[eE][mM]rushBot", "Y!J", "^LCC ", "bot.AraTurka.com",
		"filterdb.iss.net\\/crawler", "Livelap[bB]ot", "2ip.ru", "[a-z]{3}\\d+bot", "(?-i)CaseBot", "héllo",
	}
	var alts []string
	for _, p := range patterns {
		alts = append(alts, "(?:"+p+")")
	}
	naive := regexp.MustCompile("(?i)" + strings.Join(alts, "|"))
	u := newUAPatterns(patterns)
	pieces := []string{"Googlebot/", "googlebot", "WGET", "grub.org", "grubXorg", "AhrefsBot", "curl", " sentry/",
		"sentry/", "webmon ", "AdsBot-Google", "AdsBot-Google-Mobile", "SEMRUSHBOT", "y!j", "LCC ", "bot.araturka.com",
		"filterdb.iss.net/crawler", "LivelapBot", "2ip.ru", "abc123bot", "casebot", "CaseBot", "HÉLLO", "héllo",
		"Mozilla/5.0 ", "(compatible; ", "x", " ", "/", "-", "."}
	rng := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 20_000; i++ {
		var b strings.Builder
		for n := rng.IntN(4); n >= 0; n-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		ua := b.String()
		if got, want := u.match(ua), naive.MatchString(ua); got != want {
			t.Fatalf("match(%q) = %v, one alternation says %v", ua, got, want)
		}
	}
}

func TestFeeds_AIBotNames(t *testing.T) {
	srv := newFeedServer(t)
	srv.set("/robots.json", `{"GPTBot": {"operator": "OpenAI"}, "ClaudeBot": {}, "anthropic-ai": {}, "AI": {}, "Safari": {}}`)
	f, _ := newTestFeeds(t, "", FeedSource{FeedAIBots, srv.URL + "/robots.json"})
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	for ua, want := range map[string]bool{
		"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)": true,
		"claudebot/1.0": true,
		"Anthropic-AI":  true,
		"MAIL client":   false, // "AI" is too short to use
		safariUA:        false, // "Safari" matches browsers: dropped
		chromeWindowsUA: false,
	} {
		if got := f.AICrawler(ua); got != want {
			t.Errorf("AICrawler(%q) = %v, want %v", ua, got, want)
		}
	}
}

const awsJSON = `{
  "syncToken": "1",
  "prefixes": [
    {"ip_prefix": "3.5.140.0/22", "region": "ap-northeast-2", "service": "AMAZON"},
    {"ip_prefix": "3.5.142.0/23", "region": "ap-northeast-2", "service": "EC2"},
    {"ip_prefix": "not-a-prefix"}
  ],
  "ipv6_prefixes": [
    {"ipv6_prefix": "2600:1f14::/35", "region": "us-west-2", "service": "EC2"}
  ]
}`

const gcpJSON = `{
  "syncToken": "1",
  "prefixes": [
    {"ipv4Prefix": "34.1.208.0/20", "service": "Google Cloud", "scope": "africa-south1"},
    {"ipv6Prefix": "2600:1900:8000::/44", "service": "Google Cloud"}
  ]
}`

const textCIDRs = `# OVH and Hetzner, say
51.75.0.0/16
5.9.0.0/16   ; comment
2a01:4f8::/32
198.51.100.77
`

func TestFeeds_DatacenterFormats(t *testing.T) {
	srv := newFeedServer(t)
	srv.set("/aws.json", awsJSON)
	srv.set("/gcp.json", gcpJSON)
	file := filepath.Join(t.TempDir(), "hosting.txt")
	if err := os.WriteFile(file, []byte(textCIDRs), 0o600); err != nil {
		t.Fatal(err)
	}
	f, _ := newTestFeeds(t, "",
		FeedSource{FeedDatacenter, srv.URL + "/aws.json"},
		FeedSource{FeedDatacenter, srv.URL + "/gcp.json"},
		FeedSource{FeedDatacenter, file},
	)
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]bool{
		"3.5.139.255":           false,
		"3.5.140.0":             true, // first of 3.5.140.0/22
		"3.5.143.255":           true, // 3.5.142.0/23 merged on
		"3.5.144.0":             false,
		"::ffff:3.5.141.9":      true, // mapped IPv4
		"::3.5.141.9":           true, // IPv4-compatible
		"2600:1f14::1":          true,
		"2600:1f13:ffff::1":     false,
		"2600:1f14:1fff:ffff::": true, // in the last /48 of the /35
		"2600:1f14:2000::":      false,
		"34.1.223.255":          true, // GCP
		"2600:1900:800f::1":     true,
		"51.75.3.4":             true, // text file
		"5.9.255.255":           true,
		"2a01:4f8:1::2":         true,
		"198.51.100.77":         true, // bare address
		"198.51.100.78":         false,
		"127.0.0.1":             false,
		"::1":                   false,
	} {
		if got := f.Datacenter(netip.MustParseAddr(ip)); got != want {
			t.Errorf("Datacenter(%s) = %v, want %v", ip, got, want)
		}
	}
	if f.Datacenter(netip.Addr{}) {
		t.Error("the invalid address matched")
	}
	for _, st := range f.Status() {
		if st.Entries == 0 || st.Err != nil {
			t.Errorf("%s: %d entries, err %v", st.Location, st.Entries, st.Err)
		}
	}
}

// TestIPSet_AgreesWithLinearScan checks merging and bisection against a
// scan of the raw prefixes.
func TestIPSet_AgreesWithLinearScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var prefixes []netip.Prefix
	for range 300 {
		a4 := netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		prefixes = append(prefixes, netip.PrefixFrom(a4, 16+rng.IntN(17)).Masked())
		var b [16]byte
		b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, byte(rng.IntN(4))
		b[4], b[5] = byte(rng.IntN(256)), byte(rng.IntN(256))
		prefixes = append(prefixes, netip.PrefixFrom(netip.AddrFrom16(b), 24+rng.IntN(40)).Masked())
	}
	prefixes = append(prefixes, netip.MustParsePrefix("255.255.255.0/24"), netip.MustParsePrefix("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120"))
	s := newIPSet(prefixes)
	probe := func(a netip.Addr) {
		want := false
		for _, p := range prefixes {
			want = want || p.Contains(a)
		}
		if got := s.contains(a); got != want {
			t.Fatalf("contains(%s) = %v, want %v", a, got, want)
		}
	}
	for _, p := range prefixes {
		probe(p.Addr())
		probe(p.Addr().Prev())
	}
	for range 20_000 {
		probe(netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256))}))
		var b [16]byte
		b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, byte(rng.IntN(4))
		b[4], b[5], b[6] = byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))
		probe(netip.AddrFrom16(b))
	}
	probe(netip.MustParseAddr("255.255.255.255"))
	probe(netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))
}

func TestFeeds_CacheKeepsTheLastGoodCopyAcrossRestarts(t *testing.T) {
	srv := newFeedServer(t)
	srv.set("/aws.json", awsJSON)
	srv.set("/crawlers.json", crawlerJSON)
	dir := t.TempDir()
	sources := []FeedSource{{FeedDatacenter, srv.URL + "/aws.json"}, {FeedCrawlerUA, srv.URL + "/crawlers.json"}}

	f, _ := newTestFeeds(t, dir, sources...)
	f.Start(context.Background())
	waitFor(t, func() bool { return f.Datacenter(netip.MustParseAddr("3.5.140.1")) && f.CrawlerUA("Wget/1") })
	f.Stop()

	srv.Close() // the next start finds the sources unreachable
	g, errs := newTestFeeds(t, dir, sources...)
	if g.Datacenter(netip.MustParseAddr("3.5.140.1")) {
		t.Fatal("matched before loading")
	}
	g.Start(context.Background())
	defer g.Stop()
	// The cache is loaded before Start returns, before any fetch.
	if !g.Datacenter(netip.MustParseAddr("3.5.140.1")) || !g.CrawlerUA("Wget/1") {
		t.Fatal("cached feeds not in use after a restart")
	}
	waitFor(t, func() bool { return len(g.Status()) == 2 && g.Status()[0].Err != nil && g.Status()[1].Err != nil })
	if !g.Datacenter(netip.MustParseAddr("3.5.140.1")) || !g.CrawlerUA("Wget/1") {
		t.Error("a failed refresh dropped the cached feeds")
	}
	for _, st := range g.Status() {
		if st.Entries == 0 || st.Updated.IsZero() {
			t.Errorf("%s: %d entries, updated %v", st.Location, st.Entries, st.Updated)
		}
	}
	g.Stop()
	if len(*errs) == 0 {
		t.Error("the failed refresh was not reported")
	}
}

func TestFeeds_RefreshBelowTenPercentIsRejected(t *testing.T) {
	srv := newFeedServer(t)
	dir := t.TempDir()
	list := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "10.0.%d.0/24\n", i)
		}
		return b.String()
	}
	srv.set("/dc.txt", list(100))
	f, _ := newTestFeeds(t, dir, FeedSource{FeedDatacenter, srv.URL + "/dc.txt"})
	ctx := context.Background()
	if err := f.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	srv.set("/dc.txt", list(9)) // 9 < 10% of 100
	if err := f.Refresh(ctx); err == nil || !strings.Contains(err.Error(), "10%") {
		t.Fatalf("refresh with 9 of 100 entries: err %v, want the 10%% rule", err)
	}
	if !f.Datacenter(netip.MustParseAddr("10.0.50.1")) || f.Status()[0].Entries != 100 {
		t.Fatal("rejected refresh replaced the list")
	}
	// The cache still holds the 100: a restart does not pick up the 9.
	g, _ := newTestFeeds(t, dir, FeedSource{FeedDatacenter, srv.URL + "/dc.txt"})
	if err := g.loadCached(); err != nil || g.Status()[0].Entries != 100 {
		t.Fatalf("cache after a rejected refresh: %d entries, err %v", g.Status()[0].Entries, err)
	}

	srv.set("/dc.txt", list(10)) // exactly 10% passes
	if err := f.Refresh(ctx); err != nil {
		t.Fatalf("refresh with 10 of 100 entries: %v", err)
	}
	if f.Datacenter(netip.MustParseAddr("10.0.50.1")) || !f.Datacenter(netip.MustParseAddr("10.0.9.1")) {
		t.Error("accepted refresh not in use")
	}

	for _, bad := range []string{"", "# nothing\n", "not json {"} {
		srv.set("/dc.txt", bad)
		if err := f.Refresh(ctx); err == nil {
			t.Errorf("refresh with %q accepted", bad)
		}
		if f.Status()[0].Entries != 10 {
			t.Errorf("refresh with %q replaced the list", bad)
		}
	}
}

func TestFeeds_FailedFetchesKeepTheData(t *testing.T) {
	srv := newFeedServer(t)
	srv.set("/ai.json", `{"GPTBot": {}}`)
	f, err := NewFeeds(FeedsConfig{Sources: []FeedSource{{FeedAIBots, srv.URL + "/ai.json"}}, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := f.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	srv.set("/ai.json", `{"GPTBot": {}, "ClaudeBot": {}}`)
	srv.mu.Lock()
	srv.delay = time.Second // past the fetch timeout
	srv.mu.Unlock()
	if err := f.Refresh(ctx); err == nil {
		t.Error("slow fetch did not time out")
	}
	srv.mu.Lock()
	srv.delay = 0
	delete(srv.body, "/ai.json")
	srv.mu.Unlock()
	if err := f.Refresh(ctx); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("404: err %v", err)
	}
	if !f.AICrawler("GPTBot/1.0") || f.AICrawler("ClaudeBot/1.0") {
		t.Error("failed fetches changed the data")
	}
}

func TestFeeds_StartRefreshesOnTheInterval(t *testing.T) {
	srv := newFeedServer(t)
	srv.set("/ai.json", `["GPTBot"]`)
	f, err := NewFeeds(FeedsConfig{Sources: []FeedSource{{FeedAIBots, srv.URL + "/ai.json"}}, Interval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.Start(context.Background())
	waitFor(t, func() bool { return f.AICrawler("GPTBot") })
	srv.set("/ai.json", `["GPTBot", "ClaudeBot"]`)
	waitFor(t, func() bool { return f.AICrawler("ClaudeBot") })
	f.Stop()
	// Stop returns once the refresh loop has ended, so no request starts
	// after it; one it cancelled may still reach the server, however late
	// a loaded machine lets it. Refreshes every 20 ms would be about ten.
	n := srv.hits.Load()
	time.Sleep(200 * time.Millisecond)
	if got := srv.hits.Load() - n; got > 1 {
		t.Errorf("%d requests after Stop: refreshes continued", got)
	}
	f.Stop() // twice is fine
}

func TestFeeds_OffByDefault(t *testing.T) {
	f, err := NewFeeds(FeedsConfig{})
	if err != nil {
		t.Fatal(err)
	}
	f.Start(context.Background())
	defer f.Stop()
	var nilFeeds *Feeds
	for _, ff := range []*Feeds{f, nilFeeds} {
		in := quietBeacon()
		ff.Fill(&in, "Googlebot/2.1 GPTBot", netip.MustParseAddr("3.5.140.1"))
		if in.CrawlerFeed || in.AICrawlerFeed || in.DatacenterIP {
			t.Errorf("feeds without sources matched: %+v", in)
		}
		if ff.Refresh(context.Background()) != nil || ff.loadCached() != nil {
			t.Error("feeds without sources reported an error")
		}
	}
}

func TestNewFeeds_RejectsBadSources(t *testing.T) {
	for _, src := range [][]FeedSource{
		{{Kind: 0, Location: "x"}},
		{{Kind: FeedDatacenter, Location: " "}},
		{{FeedDatacenter, "a.txt"}, {FeedDatacenter, "a.txt"}},
	} {
		if _, err := NewFeeds(FeedsConfig{Sources: src}); err == nil {
			t.Errorf("sources %v accepted", src)
		}
	}
}

func TestFeeds_FillSetsTheInputs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f, _ := newTestFeeds(t, "",
		FeedSource{FeedCrawlerUA, write("c.json", crawlerJSON)},
		FeedSource{FeedAIBots, write("a.json", `{"GPTBot": {}}`)},
		FeedSource{FeedDatacenter, write("d.json", gcpJSON)},
	)
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	in := quietBeacon()
	f.Fill(&in, "Wget/1.0 GPTBot", netip.MustParseAddr("34.1.208.1"))
	res := testRules().Score(&in)
	if points(res, "crawler_feed") != 30 || points(res, "ai_crawler_feed") != 40 || points(res, "datacenter_ip") != 15 {
		t.Errorf("detail %s", res.DetailJSON())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// benchCrawlerPatterns is shaped like monperrus/crawler-user-agents: about
// 600 patterns, nearly all literal names, and the non-literal ones the
// real list has (dots meaning any character, anchors, groups, classes).
func benchCrawlerPatterns() []byte {
	var entries []map[string]string
	for i := range 570 {
		entries = append(entries, map[string]string{"pattern": fmt.Sprintf("Crawl%03dBot", i)})
	}
	for _, p := range []string{
		"AdsBot-Google([^-]|$)", "grub.org", "Ahrefs(Bot|SiteAudit)", "europarchive.org", "NerdByNature.Bot",
		"Mail.RU_Bot", "web-archive-net.com.bot", "ip-web-crawler.com", "siteexplorer.info", "g00g1e.net",
		"bnf.fr_bot", "archive.org_bot", "pinterest.com.bot", "Traackr.com", "^Apache-HttpClient", "^LCC ",
		"filterdb.iss.net\\/crawler", "(^| )sentry\\/", "Bot.AraTurka.com", "bot-pge.chlooe.com",
		"Siteimprove.com", "Dataprovider.com", "theoldreader.com", "2ip.ru", "PR-CY.RU", "^curl",
		"Googlebot\\/", "[wW]get", "S[eE][mM]rushBot", "Livelap[bB]ot", "Bark[rR]owler", "HeadlessChrome",
	} {
		entries = append(entries, map[string]string{"pattern": p})
	}
	b, _ := json.Marshal(entries)
	return b
}

func BenchmarkFeedsFill(b *testing.B) {
	dir := b.TempDir()
	crawlers := filepath.Join(dir, "crawlers.json")
	os.WriteFile(crawlers, benchCrawlerPatterns(), 0o600)
	var ai strings.Builder
	ai.WriteString("{")
	for i := range 120 {
		fmt.Fprintf(&ai, "%q: {},", fmt.Sprintf("AIAgent%03d", i))
	}
	ai.WriteString(`"GPTBot": {}}`)
	aiFile := filepath.Join(dir, "ai.json")
	os.WriteFile(aiFile, []byte(ai.String()), 0o600)
	var dc strings.Builder
	for i := range 8000 {
		fmt.Fprintf(&dc, "%d.%d.%d.0/24\n", 3+i%200, i/200, i%256)
	}
	dcFile := filepath.Join(dir, "dc.txt")
	os.WriteFile(dcFile, []byte(dc.String()), 0o600)
	f, err := NewFeeds(FeedsConfig{Sources: []FeedSource{{FeedCrawlerUA, crawlers}, {FeedAIBots, aiFile}, {FeedDatacenter, dcFile}}})
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	ip := netip.MustParseAddr("81.2.69.142")
	b.ReportAllocs()
	var in Input
	for b.Loop() {
		f.Fill(&in, chromeWindowsUA, ip)
	}
	if in.CrawlerFeed || in.AICrawlerFeed || in.DatacenterIP {
		b.Fatal("a browser matched")
	}
}
