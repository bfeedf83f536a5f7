package storage

import (
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
