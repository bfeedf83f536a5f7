package storage

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkAggregateViews is the aggregator's own cost per view: realistic
// views of one site and day folded in batches of 500 (visitor state,
// deltas) and merged into the dirty counters, as a flush does, without the
// rows' Badger writes. The first batch persists the counters; later ones
// stay in memory (persistEvery is an hour), so one op is one view's fold
// and its share of the merge.
func BenchmarkAggregateViews(b *testing.B) {
	const batch = 500
	s, err := Open(Options{InMemory: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	a := newAggregator(s.DB(), aggConfig{persistEvery: time.Hour}, func(string, Day, func(*View) bool, func(*Event) bool) error { return nil })
	views := realisticViews(4000, 5)
	for i := range views {
		views[i].ID = idFloor(views[i].CreatedAt.UnixMilli()) | uint64(i&0xff)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if n%batch != 0 {
			n++
			continue
		}
		j := n % len(views)
		wb := s.DB().NewWriteBatch()
		done, err := a.batch(wb, func(a *aggregator) error { return a.addViews(views[j : j+batch]) })
		if err != nil {
			b.Fatal(err)
		}
		done(true)
		wb.Cancel()
		n++
	}
}

// BenchmarkLast24hManySites is /api/stats/summary's query over 750 sites
// with a view each today whose counters are still pending in memory (they
// are written every 5 minutes, or at 20,000 pending counters: these are
// about 18,000), as on a busy server between two writes.
func BenchmarkLast24hManySites(b *testing.B) {
	const sites = 750
	s, err := Open(Options{Dir: b.TempDir(), CounterPersist: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	w := s.NewWriter(WriterConfig{ViewFlush: time.Hour, EventFlush: time.Hour})
	w.AddView(View{CreatedAt: now.Add(-2 * time.Hour), SiteID: "first", VisitorID: "v", Path: "/"})
	if err := w.Flush(); err != nil { // the first batch writes its counters
		b.Fatal(err)
	}
	for i := range sites {
		w.AddView(View{CreatedAt: now.Add(-time.Hour + time.Duration(i)*time.Millisecond), SiteID: fmt.Sprint("site-", i), VisitorID: "v", Path: "/", DeviceType: "desktop", CountryCode: "FI", ScreenWidth: 1920, ScreenHeight: 1080})
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	pending := len(s.agg.dirty)
	for b.Loop() {
		sum, err := s.Last24h(now)
		if err != nil || sum.HumanViews != sites+1 {
			b.Fatalf("%+v %v", sum, err)
		}
	}
	b.ReportMetric(float64(pending), "pending-counters")
}
