// Package seed writes realistic synthetic analytics history into a store:
// pages with a long tail, devices, operating systems, browsers, countries,
// referrers, UTM campaigns, events and a few bots. It stores through
// storage's import path, so the counters are the same as if the views had
// arrived live. `caddy echelon seed` and the query benchmarks use it.
package seed

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// Options say what to write.
type Options struct {
	Site  string
	Days  int       // days of history, ending with End's day
	Views int       // pageviews in total, bots included
	End   time.Time // the newest record's time; zero = now
	Seed  uint64    // random seed; the same options write the same data
	// Pages is the number of distinct pages of the site (default 400).
	// Distinct values are a property of the site, not of its traffic, so a
	// bigger site has more views of the same pages.
	Pages int
}

// Result counts what was written.
type Result struct {
	Views, BotViews, Events int
}

const batchSize = 5000

// Write generates and stores the history.
func Write(st *storage.Store, opt Options) (Result, error) {
	var res Result
	switch {
	case !storage.ValidSiteID(opt.Site):
		return res, fmt.Errorf("seed: invalid site id %q", opt.Site)
	case opt.Days < 1 || opt.Days > 3650:
		return res, errors.New("seed: days must be 1..3650")
	case opt.Views < 0:
		return res, errors.New("seed: views must not be negative")
	}
	if opt.End.IsZero() {
		opt.End = time.Now()
	}
	opt.End = opt.End.UTC().Truncate(time.Millisecond)
	if opt.Pages <= 0 {
		opt.Pages = 400
	}
	g := newGen(opt)
	first := storage.DayOf(opt.End) - storage.Day(opt.Days-1)
	perDay := dayShares(g.rng, opt.Days, opt.Views)
	for i := range opt.Days {
		views, events := g.day(first+storage.Day(i), perDay[i], opt.End)
		for j := 0; j < len(views); j += batchSize {
			if err := st.ImportViews(views[j:min(j+batchSize, len(views))]); err != nil {
				return res, fmt.Errorf("seed: %w", err)
			}
		}
		for j := 0; j < len(events); j += batchSize {
			if err := st.ImportEvents(events[j:min(j+batchSize, len(events))]); err != nil {
				return res, fmt.Errorf("seed: %w", err)
			}
		}
		res.Views += len(views)
		res.Events += len(events)
		for _, v := range views {
			if v.BotScore >= 50 {
				res.BotViews++
			}
		}
	}
	return res, nil
}

// dayShares splits total over days with a weekly rhythm and some noise.
func dayShares(rng *rand.Rand, days, total int) []int {
	w := make([]float64, days)
	var sum float64
	for i := range w {
		w[i] = (1 + 0.25*math.Sin(float64(i)*2*math.Pi/7)) * (0.85 + 0.3*rng.Float64())
		sum += w[i]
	}
	out := make([]int, days)
	left := total
	for i := range out {
		out[i] = int(float64(total) * w[i] / sum)
		left -= out[i]
	}
	for i := 0; left > 0; i = (i + 1) % days {
		out[i]++
		left--
	}
	return out
}

type weighted struct {
	vals []string
	cum  []float64
}

func table(pairs ...any) weighted {
	var w weighted
	var c float64
	for i := 0; i < len(pairs); i += 2 {
		w.vals = append(w.vals, pairs[i].(string))
		c += float64(pairs[i+1].(int))
		w.cum = append(w.cum, c)
	}
	return w
}

func (w weighted) pick(rng *rand.Rand) string { return w.vals[w.index(rng)] }

func (w weighted) index(rng *rand.Rand) int {
	x := rng.Float64() * w.cum[len(w.cum)-1]
	i, _ := slices.BinarySearch(w.cum, x)
	return min(i, len(w.vals)-1)
}

var (
	devices   = table("desktop", 55, "mobile", 40, "tablet", 5)
	countries = table("US", 30, "DE", 10, "GB", 9, "FR", 6, "IN", 6, "FI", 4, "NL", 4, "CA", 4, "BR", 4, "JP", 3,
		"SE", 3, "ES", 3, "IT", 3, "PL", 2, "AU", 2, "CN", 1, "KR", 1, "MX", 1, "", 2)
	referrers = table("direct_or_unknown", 50, "https://www.google.com", 22, "https://www.bing.com", 4,
		"https://duckduckgo.com", 4, "https://news.ycombinator.com", 5, "https://www.reddit.com", 4,
		"https://t.co", 3, "https://www.linkedin.com", 2, "https://chatgpt.com", 3, "https://www.perplexity.ai", 1,
		"https://example-blog.net", 2)
	refClass = map[string]string{
		"https://www.google.com": "search", "https://www.bing.com": "search", "https://duckduckgo.com": "search",
		"https://news.ycombinator.com": "social", "https://www.reddit.com": "social", "https://t.co": "social",
		"https://www.linkedin.com": "social", "https://chatgpt.com": "ai", "https://www.perplexity.ai": "ai",
	}
	campaigns = []struct{ name, source, medium string }{
		{"spring-sale", "newsletter", "email"}, {"spring-sale", "facebook", "cpc"},
		{"launch-2026", "twitter", "social"}, {"launch-2026", "", ""}, {"retarget", "google", "cpc"},
	}
	eventTypes = table("scroll_depth", 40, "click", 20, "session_end", 15, "bounce", 10, "outbound", 6,
		"form_submit", 3, "custom", 4, "download", 2)
)

type platform struct{ os, browser, version string }

var platforms = map[string][]platform{
	"desktop": {{"Windows 10/11", "Chrome", "131.0"}, {"Windows 10/11", "Edge", "131.0"}, {"macOS 14", "Safari", "17.6"},
		{"macOS 14", "Chrome", "131.0"}, {"Linux", "Firefox", "133.0"}, {"Windows 10/11", "Firefox", "133.0"}},
	"mobile": {{"iOS 18.1", "Safari", "18.1"}, {"Android 14", "Chrome", "131.0"}, {"Android 14", "Samsung Browser", "26.0"},
		{"iOS 17.6", "Safari", "17.6"}},
	"tablet": {{"iPadOS 18.1", "Safari", "18.1"}, {"Android 13", "Chrome", "130.0"}},
}

var screens = map[string][][2]int{
	"desktop": {{1920, 1080}, {1536, 864}, {2560, 1440}, {1440, 900}, {1366, 768}},
	"mobile":  {{390, 844}, {393, 873}, {414, 896}, {360, 800}},
	"tablet":  {{820, 1180}, {768, 1024}},
}

type gen struct {
	opt   Options
	rng   *rand.Rand
	paths []string
	zipf  *rand.Zipf
	hours weighted
}

func newGen(opt Options) *gen {
	rng := rand.New(rand.NewPCG(opt.Seed, 0x5eed))
	g := &gen{opt: opt, rng: rng, zipf: rand.NewZipf(rng, 1.15, 2, uint64(opt.Pages-1))}
	sections := []string{"blog", "docs", "products", "guides", "changelog"}
	g.paths = append(g.paths, "/", "/pricing", "/about", "/contact", "/docs/getting-started")
	for i := len(g.paths); i < opt.Pages; i++ {
		p := fmt.Sprintf("/%s/%s-%d", sections[i%len(sections)], []string{"intro", "deep-dive", "how-to", "release", "notes"}[i%5], i)
		if i%17 == 0 {
			p += "?ref=nav"
		}
		g.paths = append(g.paths, p)
	}
	g.paths = g.paths[:opt.Pages]
	var hp []any
	for h := range 24 {
		hp = append(hp, fmt.Sprint(h), int(10+90*math.Pow(math.Sin(math.Pi*float64(h+2)/24), 2)))
	}
	g.hours = table(hp...)
	return g
}

// visitor is one cookieless visitor-day: its attributes stay fixed.
type visitor struct {
	id, session, device, os, browser, version, country, referrer string
	w, h                                                         int
	campaign                                                     int // index+1 in campaigns, 0 = none
	bot                                                          int
}

func (g *gen) newVisitor(day storage.Day, n int, bot bool) visitor {
	rng := g.rng
	v := visitor{id: fmt.Sprintf("%016x", uint64(day)*0x9e3779b97f4a7c15^uint64(n)*0xbf58476d1ce4e5b9^g.opt.Seed)}
	v.session = fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Uint64()>>16)
	v.device = devices.pick(rng)
	p := platforms[v.device][rng.IntN(len(platforms[v.device]))]
	v.os, v.browser, v.version = p.os, p.browser, p.version
	s := screens[v.device][rng.IntN(len(screens[v.device]))]
	v.w, v.h = s[0], s[1]
	v.country = countries.pick(rng)
	v.referrer = referrers.pick(rng)
	if rng.IntN(100) < 8 {
		v.campaign = 1 + rng.IntN(len(campaigns))
	}
	if bot {
		v.bot = 50 + rng.IntN(51)
		v.browser, v.version, v.w, v.h, v.referrer = "Chrome", "120.0", 0, 0, "direct_or_unknown"
	} else if rng.IntN(10) == 0 {
		v.bot = 10 + rng.IntN(30) // suspicious but clean
	}
	return v
}

// day makes one day's views and events, in time order, none after end.
func (g *gen) day(day storage.Day, n int, end time.Time) ([]storage.View, []storage.Event) {
	rng := g.rng
	pool := make([]visitor, max(1, n*2/5))
	bots := max(1, len(pool)/50)
	for i := range pool {
		pool[i] = g.newVisitor(day, i, i < bots)
	}
	start := day.Time()
	span := time.Duration(86400) * time.Second
	if end.Sub(start) < span {
		span = end.Sub(start)
	}
	times := make([]time.Time, n)
	for i := range times {
		off := time.Duration(g.hours.index(rng))*time.Hour + time.Duration(rng.Int64N(int64(time.Hour)))
		if off >= span { // today, after end
			off = time.Duration(rng.Int64N(int64(span) + 1))
		}
		times[i] = start.Add(off).Truncate(time.Millisecond)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	views := make([]storage.View, 0, n)
	var events []storage.Event
	for _, at := range times {
		// Busy visitors: a few view much more than most.
		vis := &pool[min(len(pool)-1, int(rng.ExpFloat64()*float64(len(pool))/3))]
		path := g.paths[g.zipf.Uint64()]
		if vis.bot >= 50 {
			path = g.paths[rng.IntN(len(g.paths))]
		}
		v := storage.View{
			CreatedAt: at, SiteID: g.opt.Site, VisitorID: vis.id, Path: path, SessionID: vis.session,
			DeviceType: vis.device, OSName: vis.os, BrowserName: vis.browser, BrowserVersion: vis.version,
			CountryCode: vis.country, InteractionMS: int64(300 + rng.IntN(6000)),
			ScreenWidth: vis.w, ScreenHeight: vis.h, IsReturning: rng.IntN(4) == 0,
			Referrer: vis.referrer, ReferrerType: classOf(vis.referrer), BotScore: vis.bot,
		}
		// Score details as the tracker's hits get them: people's views
		// carry a valid proof, the suspicious ones an expired one, bots
		// none.
		switch {
		case vis.bot >= 50:
			v.BotScoreDetail = `{"headless":50,"pow":50,"pow_result":"missing"}`
			v.DeviceType = ""
		case vis.bot > 0:
			v.BotScoreDetail = `{"pow":15,"pow_result":"expired"}`
		default:
			v.BotScoreDetail = `{"pow":0,"pow_result":"valid"}`
		}
		if vis.campaign > 0 {
			c := campaigns[vis.campaign-1]
			v.UTMCampaign, v.UTMSource, v.UTMMedium = c.name, c.source, c.medium
			if rng.IntN(3) == 0 {
				v.UTMContent = []string{"hero", "footer"}[rng.IntN(2)]
			}
		}
		views = append(views, v)
		for rng.IntN(100) < 45 {
			ev := storage.Event{
				CreatedAt: at, SiteID: g.opt.Site, VisitorID: vis.id, SessionID: vis.session,
				EventType: eventTypes.pick(rng), DeviceType: vis.device, UTMCampaign: v.UTMCampaign,
				Hour: at.Hour(), Month: int(at.Month()), DayOfWeek: int(at.Weekday()), BotScore: vis.bot,
			}
			if ev.EventType == "custom" {
				ev.Data = `{"name":"signup"}`
			}
			events = append(events, ev)
		}
	}
	return views, events
}

func classOf(ref string) string {
	if c, ok := refClass[ref]; ok {
		return c
	}
	return "direct_or_unknown"
}
