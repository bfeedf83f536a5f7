package storage

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// randomTraffic makes n views and n/3 events over days days before end,
// in time order, on two sites, with a few bot and ingested records.
func randomTraffic(n int, days int, end time.Time, seed uint64) ([]View, []Event) {
	rng := rand.New(rand.NewPCG(seed, 2))
	start := end.Add(-time.Duration(days) * 24 * time.Hour)
	span := end.Sub(start)
	times := make([]time.Time, n)
	for i := range times {
		times[i] = start.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Millisecond)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	views := make([]View, n)
	var events []Event
	for i := range views {
		visitor := rng.IntN(n/5 + 1)
		site := "a.example"
		if visitor%4 == 0 {
			site = "b.example"
		}
		v := View{
			CreatedAt:    times[i],
			VisitorID:    fmt.Sprintf("%016x", visitor),
			SiteID:       site,
			Path:         fmt.Sprintf("/p/%d", int(rng.ExpFloat64()*8)),
			DeviceType:   pick("desktop", "mobile", "", "tablet"),
			OSName:       pick("Linux", "macOS 14", ""),
			BrowserName:  pick("Chrome", "Firefox", ""),
			CountryCode:  pick("FI", "DE", "", "US"),
			ReferrerType: pick("direct_or_unknown", "search", "social"),
			ScreenWidth:  rng.IntN(3) * 700,
			ScreenHeight: 800,
			BotScore:     pick2(rng, []int{0, 0, 0, 10, 49, 50, 90}),
		}
		if v.BrowserName != "" {
			v.BrowserVersion = pick("1", "2")
		}
		if rng.IntN(3) == 0 {
			v.UTMCampaign = pick("spring", "fall")
			v.UTMSource = pick("", "news", "x")
			v.UTMMedium = pick("", "email")
		}
		views[i] = v
		if rng.IntN(3) == 0 {
			events = append(events, Event{
				CreatedAt: times[i], SiteID: site, VisitorID: v.VisitorID,
				EventType: pick("click", "scroll_depth", "custom"), UTMCampaign: v.UTMCampaign,
				BotScore: pick2(rng, []int{0, 0, 20, 60, -1}),
			})
		}
	}
	return views, events
}

func pick2(rng *rand.Rand, xs []int) int { return xs[rng.IntN(len(xs))] }

// bruteDay is what a day's counters must say, counted from raw rows.
type bruteDay struct {
	totals dayTotals
	paths  map[string][2]uint64 // views, visitors
	hourV  [24]map[string]bool
	hourP  [24]map[string]uint64 // views per path and hour
}

func bruteForce(t *testing.T, s *Store, site string, day Day) bruteDay {
	t.Helper()
	b := bruteDay{paths: map[string][2]uint64{}}
	clean, any, evVis := map[string]bool{}, map[string]bool{}, map[string]bool{}
	pathVis := map[string]map[string]bool{}
	for h := range b.hourV {
		b.hourV[h] = map[string]bool{}
		b.hourP[h] = map[string]uint64{}
	}
	err := s.Views(site, day.Time(), (day + 1).Time(), func(v *View) bool {
		any[v.VisitorID] = true
		if v.BotScore >= 50 {
			b.totals.BotViews++
			return true
		}
		b.totals.Views++
		clean[v.VisitorID] = true
		b.hourV[v.CreatedAt.Hour()][v.VisitorID] = true
		b.hourP[v.CreatedAt.Hour()][v.Path]++
		if pathVis[v.Path] == nil {
			pathVis[v.Path] = map[string]bool{}
		}
		pathVis[v.Path][v.VisitorID] = true
		p := b.paths[v.Path]
		p[0]++
		b.paths[v.Path] = p
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, vis := range pathVis {
		c := b.paths[p]
		c[1] = uint64(len(vis))
		b.paths[p] = c
	}
	err = s.Events(site, day.Time(), (day + 1).Time(), func(e *Event) bool {
		if e.BotScore >= 0 && e.BotScore < 50 {
			b.totals.Events++
			evVis[e.VisitorID] = true
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	b.totals.Visitors, b.totals.AnyVisitors, b.totals.EventVisitors = uint64(len(clean)), uint64(len(any)), uint64(len(evVis))
	return b
}

// TestAggregates_MatchBruteForceOverRawRows writes random traffic through
// the buffered writer in many flushes, reopening the store halfway (so the
// visitor state is rebuilt from raw rows), and checks every day's totals,
// per-hour visitors and every path's views and visitors against a count
// over the stored rows.
func TestAggregates_MatchBruteForceOverRawRows(t *testing.T) {
	for _, persist := range []time.Duration{time.Nanosecond, time.Hour} {
		t.Run(fmt.Sprint("persist every ", persist), func(t *testing.T) {
			testAggregatesBruteForce(t, Options{CounterPersist: persist})
		})
	}
}

// TestAggregates_ExactWithVisitorsOnDisk is the brute-force comparison
// with a visitor memory budget of a few dozen visitors: most visitors of
// each day are kept on disk, and every unique count stays exact.
func TestAggregates_ExactWithVisitorsOnDisk(t *testing.T) {
	for _, persist := range []time.Duration{time.Nanosecond, time.Hour} {
		t.Run(fmt.Sprint("persist every ", persist), func(t *testing.T) {
			s := testAggregatesBruteForce(t, Options{CounterPersist: persist, VisitorMemory: 6 << 10})
			if n := countPrefix(t, s, []byte{tableVisitorSpill}); n < 500 {
				t.Errorf("%d visitor states on disk: the budget kept them in memory, the test checks nothing", n)
			}
			if used := s.agg.lim.visitorBytes.Load(); used > 8<<10 {
				t.Errorf("%d bytes of visitor state in memory, budget %d", used, 6<<10)
			}
		})
	}
}

func countPrefix(t testing.TB, s *Store, prefix []byte) int {
	t.Helper()
	n := 0
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// testAggregatesBruteForce: opt.CounterPersist is how often counters are
// written; an hour keeps them pending in memory (queries merge them) until
// Close.
func testAggregatesBruteForce(t *testing.T, opt Options) *Store {
	end := time.Date(2026, 5, 10, 13, 30, 0, 0, time.UTC)
	views, events := randomTraffic(6000, 4, end, 42)
	dir := t.TempDir()
	open := func() *Store {
		o := opt
		o.Dir = dir
		s, err := Open(o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	s := open()
	w := s.NewWriter(WriterConfig{ViewFlush: time.Hour, EventFlush: time.Hour})
	ei := 0
	for i := range views {
		w.AddView(views[i])
		for ei < len(events) && !events[ei].CreatedAt.After(views[i].CreatedAt) {
			w.AddEvent(events[ei])
			ei++
		}
		if i%397 == 0 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		if i == len(views)/2 {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = open()
			w = s.NewWriter(WriterConfig{ViewFlush: time.Hour, EventFlush: time.Hour})
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}

	for _, site := range []string{"a.example", "b.example"} {
		for day := DayOf(end) - 4; day <= DayOf(end); day++ {
			want := bruteForce(t, s, site, day)
			got, err := s.totals(site, day)
			if err != nil {
				t.Fatal(err)
			}
			if got != want.totals {
				t.Errorf("%s %s totals: got %+v, brute force %+v", site, day, got, want.totals)
			}
			paths, err := s.TopPaths(site, day, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(paths) != len(want.paths) {
				t.Errorf("%s %s: %d paths, brute force %d", site, day, len(paths), len(want.paths))
			}
			for i, p := range paths {
				if c := want.paths[p.Path]; c != [2]uint64{p.Views, p.Visitors} {
					t.Errorf("%s %s path %s: got %d views %d visitors, brute force %v", site, day, p.Path, p.Views, p.Visitors, c)
				}
				if i > 0 && paths[i-1].Views < p.Views {
					t.Errorf("paths not by views: %v", paths)
				}
			}
			hours := make([]uint64, hoursFields)
			if err := s.db.View(func(txn *badger.Txn) error {
				return dayCounts(txn, pending(s.agg.pendingFor(site)), site, day, dimHours, hours)
			}); err != nil {
				t.Fatal(err)
			}
			for h := range 24 {
				if got, want := hours[h*hourFields+hVisitors], uint64(len(want.hourV[h])); got != want {
					t.Errorf("%s %s %02d:00 visitors: got %d, brute force %d", site, day, h, got, want)
				}
			}
			hourly, err := s.hourlyCounts(site, day, "path")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(hourly, want.hourP) {
				t.Errorf("%s %s hourly path views:\n got %v\nwant %v", site, day, hourly, want.hourP)
			}
			if want.totals.Views == 0 && day > DayOf(end)-4 {
				t.Errorf("%s %s: dataset has no views; the test checks nothing", site, day)
			}
		}
	}
	return s
}

// TestDashboard_BucketsChronologicalAcrossMidnight pins the fixed quirk:
// buckets are in time order, not label order, when the window spans
// midnight.
func TestDashboard_BucketsChronologicalAcrossMidnight(t *testing.T) {
	s := openTestStore(t, "")
	now := time.Date(2026, 5, 10, 0, 20, 0, 0, time.UTC)
	w := s.NewWriter(WriterConfig{})
	for _, at := range []time.Time{now.Add(-90 * time.Minute), now.Add(-30 * time.Minute), now.Add(-10 * time.Minute)} {
		w.AddView(View{CreatedAt: at, SiteID: "s", VisitorID: fmt.Sprint(at.Unix()), Path: "/"})
		w.AddEvent(Event{CreatedAt: at, SiteID: "s", VisitorID: "e", EventType: "click"})
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	d, err := s.Dashboard("s", now)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(d.Hourly.Visitors, d.Hourly.Events); got != "[{23:50 1} {00:10 1}] [{23:50 1} {00:10 1}]" {
		t.Errorf("hourly %s", got)
	}
	if got := fmt.Sprint(d.Daily.Visitors, d.Daily.Events); got != "[{22:00 1} {23:00 1} {00:00 1}] [{22:00 1} {23:00 1} {00:00 1}]" {
		t.Errorf("daily %s", got)
	}
	if len(d.RecentVisitors) != 2 || !d.RecentVisitors[0].CreatedAt.Equal(time.Date(2026, 5, 10, 0, 10, 0, 0, time.UTC)) {
		t.Errorf("recent visitors, latest first: %+v", d.RecentVisitors)
	}
	if len(d.RecentEvents) != 2 || !d.RecentEvents[0].CreatedAt.Equal(time.Date(2026, 5, 10, 0, 10, 0, 0, time.UTC)) {
		t.Errorf("recent events, newest first: %+v", d.RecentEvents)
	}
}

// TestLast24h_UniqueVisitorsExactOverTwoDays: yesterday's visitors count
// when their last view is in the window.
func TestLast24h_UniqueVisitorsExactOverTwoDays(t *testing.T) {
	s := openTestStore(t, "")
	now := time.Date(2026, 5, 10, 6, 30, 0, 0, time.UTC)
	w := s.NewWriter(WriterConfig{})
	add := func(at time.Time, visitor string, score int) {
		w.AddView(View{CreatedAt: at, SiteID: "s", VisitorID: visitor, Path: "/", BotScore: score})
	}
	// In time order: the live writer stores an earlier time as the newest.
	add(now.Add(-30*time.Hour), "old", 0)                 // out of the window
	add(now.Add(-29*time.Hour), "back", 0)                // yesterday 01:30 …
	add(now.Add(-23*time.Hour-50*time.Minute), "edge", 0) // yesterday 06:40: the hour of now, a day ago: out
	add(now.Add(-22*time.Hour), "y", 60)                  // yesterday 08:30, bot: in
	add(now.Add(-20*time.Hour), "back", 0)                // … and 10:30: in
	add(now.Add(-time.Hour), "t", 0)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	sum, err := s.Last24h(now)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Summary{TotalViews: 3, HumanViews: 2, BotViews: 1, UniqueVisitors: 3}); sum != want {
		t.Errorf("got %+v, want %+v", sum, want)
	}
}

// TestAggregates_LostPendingCountersRepairedOnNextWrite: a crash loses the
// counters' pending deltas, not the rows; the next write to the day
// re-derives its counters from the rows.
func TestAggregates_LostPendingCountersRepairedOnNextWrite(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, CounterPersist: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 5, 10, 9, 0, 0, 0, time.UTC)
	w := s.NewWriter(WriterConfig{})
	for i := range 50 {
		w.AddView(View{CreatedAt: at.Add(time.Duration(i) * time.Second), SiteID: "s", VisitorID: fmt.Sprint(i % 7), Path: "/"})
		if i == 0 { // the first batch's counters are written, the rest stay pending
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Close(); err != nil { // a crash: the pending counters are never written
		t.Fatal(err)
	}
	s = openTestStore(t, dir)
	if tot, _ := s.totals("s", DayOf(at)); tot.Views != 1 {
		t.Fatalf("counters survived the crash (%+v): the test simulates nothing", tot)
	}
	if err := s.ImportViews([]View{{CreatedAt: at.Add(time.Hour), SiteID: "s", VisitorID: "new", Path: "/"}}); err != nil {
		t.Fatal(err)
	}
	if tot, _ := s.totals("s", DayOf(at)); tot.Views != 51 || tot.Visitors != 8 {
		t.Errorf("after the next write: %+v, want 51 views of 8 visitors", tot)
	}
}

// TestDashboard_RecentVisitorsOfABusyHour: with more than smallHour rows
// in the hour the newest minute is read first and counts come from the
// visitors' histories; the result equals a count over the hour's rows.
func TestDashboard_RecentVisitorsOfABusyHour(t *testing.T) {
	s := openTestStore(t, "")
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	w := s.NewWriter(WriterConfig{})
	for i := range 1500 {
		at := now.Add(-time.Hour + time.Duration(i)*2400*time.Millisecond)
		w.AddView(View{CreatedAt: at, SiteID: "s", VisitorID: fmt.Sprintf("v%03d", i%97), Path: "/",
			DeviceType: []string{"desktop", "mobile"}[i%2], BotScore: []int{0, 10, 70}[i%3]})
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	d, err := s.Dashboard("s", now)
	if err != nil {
		t.Fatal(err)
	}
	latest, count := map[string]string{}, map[string]int{}
	var order []string
	s.Views("s", now.Add(-time.Hour), now.Add(time.Millisecond), func(v *View) bool {
		if v.BotScore < 50 {
			latest[v.VisitorID] = v.CreatedAt.Format(TimeLayout)
			count[v.VisitorID]++
		}
		return true
	})
	for id := range latest {
		order = append(order, id)
	}
	slices.SortFunc(order, func(a, b string) int { return strings.Compare(latest[b], latest[a]) })
	if len(d.RecentVisitors) != 20 {
		t.Fatalf("%d recent visitors", len(d.RecentVisitors))
	}
	for i, r := range d.RecentVisitors {
		if r.VisitorID != order[i] || r.CreatedAt.Format(TimeLayout) != latest[order[i]] || r.ViewCount != count[order[i]] {
			t.Errorf("recent %d: %+v, want %s at %s with %d views", i, r, order[i], latest[order[i]], count[order[i]])
		}
	}
}
