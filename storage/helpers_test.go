package storage

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// openTestStore opens a store in dir (a fresh temp dir when empty) and
// closes it when the test ends.
func openTestStore(t testing.TB, dir string) *Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func fullView() View {
	return View{
		CreatedAt:      time.Date(2025, 3, 14, 15, 9, 26, 535_000_000, time.UTC),
		VisitorID:      "0f1e2d3c4b5a6978",
		Path:           "/pricing?plan=pro&ref=newsletter",
		SiteID:         "shop.example",
		SessionID:      "3b241101-e2bb-4255-8caf-4136c566a962",
		DeviceType:     "desktop",
		OSName:         "macOS 14",
		BrowserName:    "Firefox",
		BrowserVersion: "124.0.1",
		CountryCode:    "FI",
		InteractionMS:  1834,
		ScreenWidth:    1512,
		ScreenHeight:   982,
		IsReturning:    true,
		IsPWA:          true,
		Referrer:       "https://www.google.com",
		ReferrerType:   "search",
		BotScore:       15,
		BotScoreDetail: `{"no_accept_language":15}`,
		UTMSource:      "newsletter",
		UTMMedium:      "email",
		UTMCampaign:    "spring-sale",
		UTMContent:     "hero",
		UTMTerm:        "analytics",
	}
}

func fullEvent() Event {
	return Event{
		CreatedAt:      time.Date(2025, 3, 14, 15, 9, 26, 535_000_000, time.UTC),
		EventType:      "scroll_depth",
		SiteID:         "shop.example",
		SessionID:      "3b241101-e2bb-4255-8caf-4136c566a962",
		VisitorID:      "0f1e2d3c4b5a6978",
		Data:           `{"depth":75,"path":"/pricing"}`,
		ExperimentID:   "exp-1",
		VariantID:      "b",
		UTMCampaign:    "spring-sale",
		DeviceType:     "mobile",
		BotScoreDetail: `{}`,
		Referrer:       "https://shop.example",
		Hour:           15,
		Month:          3,
		DayOfWeek:      5,
		IsReturning:    true,
		BotScore:       -1,
	}
}

// realisticViews makes n pageviews that look like a small site's traffic:
// a pool of returning visitors and sessions, a few dozen paths, one view
// about every 2 s.
func realisticViews(n int, seed uint64) []View {
	rng := rand.New(rand.NewPCG(seed, 1))
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	paths := make([]string, 60)
	for i := range paths {
		paths[i] = fmt.Sprintf("/blog/post-%d-about-something", i)
	}
	paths[0], paths[1], paths[2] = "/", "/pricing", "/docs/getting-started?tab=go"
	oses := []string{"Windows 10/11", "macOS 14", "iOS 17.4", "Android 14", "Linux"}
	browsers := []string{"Chrome", "Safari", "Firefox", "Edge"}
	versions := []string{"124.0.6367.91", "17.4.1", "125.0", "123.0.2420.97"}
	countries := []string{"US", "DE", "FI", "GB", "FR", "IN", "BR", "JP"}
	referrers := []string{"direct_or_unknown", "direct_or_unknown", "direct_or_unknown", "https://www.google.com", "https://news.ycombinator.com"}
	devices := []string{"desktop", "desktop", "mobile", "tablet"}
	start := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	views := make([]View, n)
	for i := range views {
		visitor := rng.IntN(n/3 + 1)
		ref := pick(referrers)
		refType := "direct_or_unknown"
		if ref == "https://www.google.com" {
			refType = "search"
		}
		views[i] = View{
			CreatedAt:      start.Add(time.Duration(i)*2*time.Second + time.Duration(rng.IntN(1000))*time.Millisecond),
			VisitorID:      fmt.Sprintf("%016x", uint64(visitor)*0x9e3779b97f4a7c15),
			Path:           pick(paths),
			SiteID:         "example.com",
			SessionID:      fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Uint64()>>16),
			DeviceType:     pick(devices),
			OSName:         pick(oses),
			BrowserName:    pick(browsers),
			BrowserVersion: pick(versions),
			CountryCode:    pick(countries),
			InteractionMS:  int64(800 + rng.IntN(5000)),
			ScreenWidth:    []int{1920, 1512, 390, 414, 1366}[rng.IntN(5)],
			ScreenHeight:   []int{1080, 982, 844, 896, 768}[rng.IntN(5)],
			IsReturning:    rng.IntN(4) == 0,
			Referrer:       ref,
			ReferrerType:   refType,
			BotScore:       []int{0, 0, 0, 10, 15}[rng.IntN(5)],
			BotScoreDetail: pick([]string{"{}", "{}", `{"no_accept_language":15}`}),
		}
	}
	return views
}

// dayTotals are one day's site totals.
type dayTotals struct {
	Views, Visitors, BotViews, AnyVisitors, Events, EventVisitors uint64
}

// totals reads site's counters of day.
func (s *Store) totals(site string, day Day) (dayTotals, error) {
	tot := make([]uint64, totalFields)
	p := pending(s.agg.pendingFor(site))
	err := s.db.View(func(txn *badger.Txn) error { return dayCounts(txn, p, site, day, dimTotal, tot) })
	return dayTotals{tot[tViews], tot[tVisitors], tot[tBotViews], tot[tAnyVisitors], tot[tEvents], tot[tEvVisitors]}, err
}

// siteCount is the number of registered sites, OtherSite aside.
func (s *Store) siteCount() int {
	if set := s.sites.set.Load(); set != nil {
		return set.n
	}
	return 0
}
