package storage

import (
	"fmt"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// dimTallies reads one day's counters of a dimension by value.
func dimTallies(t *testing.T, s *Store, site string, day Day, dim byte) map[[2]string]*Tally {
	t.Helper()
	var out map[[2]string]*Tally
	err := s.db.View(func(txn *badger.Txn) error {
		it := counterIter(txn, site)
		defer it.Close()
		var err error
		out, err = tallyDays(it, pending(s.agg.pendingFor(site)), site, day, day, dim, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestValues_PastTheCapCountUnderOther: a site whose views carry a new
// path, referrer, screen size, UTM value and event type each time keeps at
// most max_values values per dimension; the rest are counted, views and
// visitors, under (other), so every dimension still sums to the day's
// totals.
func TestValues_PastTheCapCountUnderOther(t *testing.T) {
	const maxValues, views = 10, 60
	s, err := Open(Options{Dir: t.TempDir(), MaxValues: maxValues})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	at := time.Date(2026, 5, 10, 9, 0, 0, 0, time.UTC)
	w := s.NewWriter(WriterConfig{})
	for i := range views {
		w.AddView(View{
			CreatedAt: at.Add(time.Duration(i) * time.Second), SiteID: "s", VisitorID: fmt.Sprint("v", i%30),
			Path: fmt.Sprintf("/p/%d", i), Referrer: fmt.Sprintf("https://r%d.example", i), ScreenWidth: 300 + i, ScreenHeight: 600,
			UTMCampaign: "spring", UTMSource: fmt.Sprint("src", i), BrowserName: "Chrome", BrowserVersion: fmt.Sprint(i),
		})
		w.AddEvent(Event{CreatedAt: at.Add(time.Duration(i) * time.Second), SiteID: "s", VisitorID: fmt.Sprint("v", i%30), EventType: fmt.Sprint("t", i)})
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	day := DayOf(at)
	for _, dim := range []byte{dimPath, dimRefOrg, dimResol, dimUTMSrc, dimBrowse, dimEvType, dimCmpSrc, dimCmpPth} {
		got := dimTallies(t, s, "s", day, dim)
		var sum uint64
		for _, tl := range got {
			sum += tl.Count
		}
		if len(got) > maxValues+1 || sum != views {
			t.Errorf("dim %d: %d values summing to %d, want at most %d (with (other)) summing to %d", dim, len(got), sum, maxValues+1, views)
		}
		other := got[[2]string{OtherValue, ""}]
		if twoPart(dim) {
			other = got[[2]string{"spring", OtherValue}]
		}
		if other == nil || other.Count != views-maxValues {
			t.Errorf("dim %d: (other) %+v, want the %d views past the cap", dim, other, views-maxValues)
		}
	}
	if o := dimTallies(t, s, "s", day, dimPath)[[2]string{OtherValue, ""}]; o == nil || o.Visitors != 30 {
		t.Errorf("(other) path visitors %+v, want the 30 visitors of the views past the cap", o)
	}
	if n := s.agg.lim.values.Load(); n > 24*(maxValues+2) {
		t.Errorf("%d value counters held for one site and day, want at most one per dimension past %d each", n, maxValues)
	}
}

// TestValues_BudgetOfAllSitesHolds: the value counters of all sites and
// days together stay within the budget; values past it count as (other).
func TestValues_BudgetOfAllSitesHolds(t *testing.T) {
	const budget = 200
	s, err := Open(Options{Dir: t.TempDir(), ValueBudget: budget})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	at := time.Date(2026, 5, 10, 9, 0, 0, 0, time.UTC)
	w := s.NewWriter(WriterConfig{})
	for i := range 400 {
		w.AddView(View{CreatedAt: at.Add(time.Duration(i) * time.Second), SiteID: fmt.Sprint("site", i%8), VisitorID: "v", Path: fmt.Sprintf("/p/%d", i)})
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	// Each site and day may add one (other) per dimension past the budget.
	if n := s.agg.lim.values.Load(); n > budget+8*24 {
		t.Errorf("%d value counters held, budget %d", n, budget)
	}
	var sum uint64
	for i := range 8 {
		for _, tl := range dimTallies(t, s, fmt.Sprint("site", i), DayOf(at), dimPath) {
			sum += tl.Count
		}
	}
	if sum != 400 {
		t.Errorf("paths sum to %d views, want 400", sum)
	}
}

// TestSites_BotOnlySiteLeavesTheRegistryAfterRetention: a site that only
// bots named (registered by an earlier version) does not count towards
// max_sites and is dropped from the registry once the purge has deleted its
// rows; a site with clean history keeps its place after its rows expire,
// its counters kept.
func TestSites_BotOnlySiteLeavesTheRegistryAfterRetention(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	now := time.Date(2026, 6, 10, 4, 0, 0, 0, time.UTC)
	if err := s.register([]string{"junk"}); err != nil { // as earlier versions did
		t.Fatal(err)
	}
	w := s.NewWriter(WriterConfig{})
	add := func(site string, at time.Time, score int) {
		for i := range 10 {
			w.AddView(View{CreatedAt: at.Add(time.Duration(i) * time.Second), SiteID: site, VisitorID: fmt.Sprint(i), Path: "/", BotScore: score})
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	add("real", now.Add(-100*24*time.Hour), 0)
	add("junk", now.Add(-5*24*time.Hour), 80)
	add("fresh", now.Add(-time.Hour), 0)
	if n := s.siteCount(); n != 3 {
		t.Fatalf("%d sites registered, want 3", n)
	}
	// Opened again, as after an upgrade: the bot-only site stays
	// registered but does not count towards max_sites.
	s.Close()
	s = openTestStore(t, dir)
	if n := s.siteCount(); n != 2 || !s.sites.has("junk") {
		t.Errorf("after reopening: %d sites count (%v), want real and fresh; junk registered", n, s.sites.all())
	}
	m := &Maintenance{RetentionDays: 90, BotRetentionDays: 2, Now: func() time.Time { return now }}
	if v, _, err := m.Purge(t.Context(), s); err != nil || v != 20 {
		t.Fatalf("purged %d views (%v), want real's and junk's 20", v, err)
	}
	if n := s.siteCount(); n != 2 || s.sites.has("junk") || !s.sites.has("real") {
		t.Errorf("after the purge: %d sites %v, want real and fresh", n, s.sites.all())
	}
	if tot, _ := s.totals("real", DayOf(now.Add(-100*24*time.Hour))); tot.Views != 10 {
		t.Errorf("real's counters %+v, want its 10 views kept", tot)
	}
	s.Close()
	s = openTestStore(t, dir)
	if s.sites.has("junk") || s.siteCount() != 2 {
		t.Errorf("after reopening: %v", s.sites.all())
	}
}

// TestBounds_OtherSiteCannotCrowdOutRegisteredSites: clean hits of
// unregistered sites, each with a new visitor and a new path, fill at most
// an eighth of the value and visitor budgets, so a registered site's new
// visitors stay in memory and its new paths get counters of their own.
func TestBounds_OtherSiteCannotCrowdOutRegisteredSites(t *testing.T) {
	const budget, memory = 800, 64 << 10
	s, err := Open(Options{Dir: t.TempDir(), ValueBudget: budget, VisitorMemory: memory, MaxSites: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	at := time.Date(2026, 5, 10, 9, 0, 0, 0, time.UTC)
	w := s.NewWriter(WriterConfig{})
	w.AddView(View{CreatedAt: at, SiteID: "real", VisitorID: "first", Path: "/"})
	for i := range 3000 {
		w.AddView(View{CreatedAt: at.Add(time.Duration(i) * time.Millisecond), SiteID: fmt.Sprint("junk-", i), VisitorID: fmt.Sprint("j", i), Path: fmt.Sprint("/junk/", i)})
	}
	for i := range 100 {
		w.AddView(View{CreatedAt: at.Add(time.Minute + time.Duration(i)*time.Millisecond), SiteID: "real", VisitorID: fmt.Sprint("r", i), Path: fmt.Sprint("/page/", i)})
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	a := s.agg
	a.mu.Lock()
	other, real := a.days[siteDay{OtherSite, DayOf(at)}], a.days[siteDay{"real", DayOf(at)}]
	a.mu.Unlock()
	if other == nil || real == nil {
		t.Fatal("no day states")
	}
	if other.valueN > budget/8+24 || other.spill.memBytes > memory/8 {
		t.Errorf("(other) holds %d value counters and %d bytes of visitors, want at most an eighth of %d and %d", other.valueN, other.spill.memBytes, budget, memory)
	}
	if len(real.visitors) != 101 || real.spill.gen != 0 {
		t.Errorf("the registered site has %d visitors in memory (disk: %v), want all 101", len(real.visitors), real.spill.gen != 0)
	}
	if n := len(dimTallies(t, s, "real", DayOf(at), dimPath)); n != 101 {
		t.Errorf("the registered site has %d paths, want its 101, none under (other)", n)
	}
}

// TestLists_TotalsSkipRegisteredSitesWithoutRows: a site whose rows have
// all expired stays registered (its counters are kept); the list totals
// over all sites go on past it to the sites that have rows.
func TestLists_TotalsSkipRegisteredSitesWithoutRows(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	now := time.Now().UTC()
	w := s.NewWriter(WriterConfig{})
	for i := range 5 {
		w.AddView(View{CreatedAt: now.Add(-100*24*time.Hour + time.Duration(i)*time.Second), SiteID: "0old", VisitorID: fmt.Sprint(i), Path: "/"})
	}
	for i := range 7 {
		w.AddView(View{CreatedAt: now.Add(-time.Hour + time.Duration(i)*time.Second), SiteID: "a", VisitorID: fmt.Sprint(i), Path: "/"})
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	m := &Maintenance{Now: func() time.Time { return now }}
	if v, _, err := m.Purge(t.Context(), s); err != nil || v != 5 {
		t.Fatalf("purged %d (%v), want 0old's 5", v, err)
	}
	s.Close()
	s = openTestStore(t, dir) // the registry in key order: 0old first
	if !s.sites.has("0old") {
		t.Fatal("0old left the registry: the test checks nothing")
	}
	p, err := s.ListViews(ViewQuery{})
	if err != nil || p.Total != (Total{N: 7, Exact: true}) {
		t.Errorf("views total %+v (%v), want a's 7", p.Total, err)
	}
}
