//go:build !race

// Heap figures are not meaningful under the race detector.

package storage

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// TestVisitors_MemoryBoundedWhenEveryViewIsANewVisitor: one client that
// varies its User-Agent makes a new visitor id with every view. 150,000 of
// them on one site and day keep the live heap near the 4 MiB visitor
// budget (they took about 22 MB when every visitor stayed in memory), and
// the day's unique count stays exact.
func TestVisitors_MemoryBoundedWhenEveryViewIsANewVisitor(t *testing.T) {
	const n = 150_000
	s, err := Open(Options{Dir: t.TempDir(), VisitorMemory: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	at := time.Date(2026, 5, 10, 6, 0, 0, 0, time.UTC)
	w := s.NewWriter(WriterConfig{ViewFlush: time.Hour, EventFlush: time.Hour})
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	add := func(from, to int) {
		for i := from; i < to; i++ {
			w.AddView(View{CreatedAt: at.Add(time.Duration(i) * 100 * time.Millisecond), SiteID: "s", VisitorID: fmt.Sprintf("%016x", i), Path: "/"})
			if i%5000 == 4999 {
				if err := w.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	add(0, 1000) // warm up: the day's state, Badger's buffers
	before := heap()
	add(1000, n)
	grown := int64(heap()) - int64(before)
	t.Logf("%d visitors: live heap %+.1f MB, %d visitor states on disk", n, float64(grown)/(1<<20), countPrefix(t, s, []byte{tableVisitorSpill}))
	if grown > 12<<20 {
		t.Errorf("live heap grew %.1f MB for %d visitors, want near the 4 MiB budget", float64(grown)/(1<<20), n)
	}
	if tot, err := s.totals("s", DayOf(at)); err != nil || tot.Visitors != n || tot.Views != n {
		t.Errorf("totals %+v (%v), want %d views of %d visitors", tot, err, n, n)
	}
}
