package storage

import (
	"bytes"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/echelon-analytics/caddy-echelon/internal/testkit"
)

// BenchmarkWriterAddView is the request-path cost of buffering a pageview.
// "store": the writer goroutine flushes to Badger meanwhile and competes for
// the CPUs; "buffer": the flush discards, leaving the mutex and append.
func BenchmarkWriterAddView(b *testing.B) {
	for _, bc := range []struct {
		name    string
		discard bool
	}{{"store", false}, {"buffer", true}} {
		b.Run(bc.name, func(b *testing.B) {
			s := openTestStore(b, "")
			write := s.writeViews
			if bc.discard {
				write = func([]View) error { return nil }
			}
			w := s.newWriter(WriterConfig{}, write, s.writeEvents)
			views := realisticViews(4096, 1)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					w.AddView(views[i&4095])
					i++
				}
			})
			b.StopTimer()
			if err := w.Close(b.Context()); err != nil {
				b.Fatal(err)
			}
			st := w.Stats()
			b.ReportMetric(float64(st.DroppedViews)/float64(b.N), "dropped/op")
		})
	}
}

// BenchmarkWriteViewsPerView is the store's cost per pageview on the write
// path. One op is one view, so ns/op, B/op and allocs/op are per view: views
// go into a real writer at 10,000 a second of CreatedAt, are flushed to a
// disk Badger in batches of 2000, and the store is closed inside the timed
// part, so the memtable's flush to an L0 table is paid too.
// cpu-ns/view is the process's CPU time per view, Badger's background
// goroutines included; on a busy server that, not the wall time, is what a
// view takes from the requests. Use -benchtime=200000x or more so the
// batches and the memtable flush dominate the fixed cost of Open.
func BenchmarkWriteViewsPerView(b *testing.B) {
	const batch = 2000
	views := realisticViews(4096, 3)
	start := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	s, err := Open(Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	w := s.NewWriter(WriterConfig{ViewFlush: time.Hour, EventFlush: time.Hour})
	b.ReportAllocs()
	b.ResetTimer()
	cpu := testkit.ProcessCPU()
	for i := 0; i < b.N; i++ {
		v := views[i&4095]
		v.CreatedAt = start.Add(time.Duration(i) * 100 * time.Microsecond)
		if !w.AddView(v) {
			b.Fatal("AddView refused")
		}
		if (i+1)%batch == 0 {
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := s.Close(); err != nil { // flushes w and the memtable
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(testkit.ProcessCPU()-cpu)/float64(b.N), "cpu-ns/view")
	if st := w.Stats(); st.WrittenViews != uint64(b.N) {
		b.Fatalf("wrote %d of %d views", st.WrittenViews, b.N)
	}
}

// BenchmarkStoredBytesPerPageview stores realistic pageviews and reports
// the bytes on disk per view of the compacted store (B/pageview: the SST
// files; dir-B/pageview: everything in the directory but the value log,
// which stays empty because values are stored in the LSM tree).
// Run with -benchtime=1x; each iteration measures a fresh store.
func BenchmarkStoredBytesPerPageview(b *testing.B) {
	const n = 200_000
	views := realisticViews(n, 7)
	for b.Loop() {
		dir := b.TempDir()
		s, err := Open(Options{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		w := s.NewWriter(WriterConfig{ViewCapacity: n})
		for _, v := range views {
			w.AddView(v)
		}
		if err := s.Close(); err != nil { // closes w, flushing
			b.Fatal(err)
		}
		// Reopen, which merges the visitor index log, and copy the live
		// data into a fresh directory: what compaction leaves. (A tree of
		// a single L0 table is not compacted, so the index log's deleted
		// segments would still be counted.)
		if s, err = Open(Options{Dir: dir}); err != nil {
			b.Fatal(err)
		}
		var backup bytes.Buffer
		if _, err := s.DB().Backup(&backup, 0); err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		compacted := b.TempDir()
		db, err := badger.Open(badgerOptions(Options{Dir: compacted}))
		if err != nil {
			b.Fatal(err)
		}
		if err := db.Load(&backup, 16); err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		sst, other := dirBytes(b, compacted)
		b.ReportMetric(float64(sst)/n, "B/pageview")
		b.ReportMetric(float64(sst+other)/n, "dir-B/pageview")
	}
}

// dirBytes sums the SST files and the other files (manifest, keys, value
// log) under dir.
func dirBytes(tb testing.TB, dir string) (sst, other int64) {
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".sst") {
			sst += info.Size()
		} else if !strings.HasSuffix(path, ".vlog") {
			other += info.Size()
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return sst, other
}

// BenchmarkEncodeView is the value encoding of one realistic pageview.
func BenchmarkEncodeView(b *testing.B) {
	views := realisticViews(4096, 5)
	buf := make([]byte, 0, 512)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		buf = EncodeView(buf[:0], &views[i&4095])
		i++
	}
}

// BenchmarkDailySalt is the per-hit cost of the visitor salt, from all
// CPUs at once as the beacon handlers call it.
func BenchmarkDailySalt(b *testing.B) {
	s := openTestStore(b, "")
	now := time.Now()
	if _, err := s.DailySalt(now); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.DailySalt(now)
		}
	})
}

// BenchmarkAggregateView is the flush-time cost of the aggregates per view:
// folding a realistic view into the batch's deltas and visitor state (no
// Badger write; the merged counters are written once per flush).
func BenchmarkAggregateView(b *testing.B) {
	s := openTestStore(b, "")
	views := realisticViews(4096, 11)
	for i := range views {
		views[i].ID = idFloor(views[i].CreatedAt.UnixMilli())
	}
	a := s.agg
	a.touched = map[siteDay]bool{}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%2048 == 0 {
			a.endBatch()
		}
		v := &views[i&4095]
		st, err := a.state(v.SiteID, DayOf(v.CreatedAt))
		if err != nil {
			b.Fatal(err)
		}
		st.view(v)
		i++
	}
}
