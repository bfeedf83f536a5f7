package storage

import (
	"fmt"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/internal/testkit"
)

// BenchmarkAppendViewAttrs is the flush-time cost per view of the
// attributes the visitor summaries take from the index log.
func BenchmarkAppendViewAttrs(b *testing.B) {
	views := realisticViews(4096, 5)
	buf := make([]byte, 0, 64)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		buf = appendViewAttrs(buf[:0], &views[i&4095])
		i++
	}
}

// BenchmarkSummaryGroupsAdd is the merge-time cost per log entry of
// folding it into its visitor's summary of the pass.
func BenchmarkSummaryGroupsAdd(b *testing.B) {
	views := realisticViews(4096, 5)
	attrs := make([][]byte, len(views))
	tokens := make([][]byte, len(views))
	for i := range views {
		attrs[i] = appendViewAttrs(nil, &views[i])
		tokens[i] = appendKeyToken(nil, views[i].VisitorID)
	}
	site := []byte("example.com")
	g := newSummaryGroups()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		g.add(site, tokens[i&4095], uint64(i+1), attrs[i&4095])
		i++
	}
}

// BenchmarkWriteViewsNewVisitors is BenchmarkWriteViewsPerView with the
// visitor churn of real traffic, where an id lives one day: a new visitor
// every third view, so a merge pass meets about as many visitors as a
// third of its views (BenchmarkWriteViewsPerView cycles through 1,366).
//
//	go test ./storage -run '^$' -bench WriteViewsNewVisitors -benchtime 300000x
func BenchmarkWriteViewsNewVisitors(b *testing.B) {
	const batch = 2000
	views := realisticViews(4096, 3)
	start := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	s, err := Open(Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	w := s.NewWriter(WriterConfig{ViewFlush: time.Hour, EventFlush: time.Hour})
	ids := make([]string, b.N/3+1)
	for i := range ids {
		ids[i] = fmt.Sprintf("%016x", uint64(i)*0x9e3779b97f4a7c15)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := testkit.ProcessCPU()
	for i := 0; i < b.N; i++ {
		v := views[i&4095]
		v.CreatedAt = start.Add(time.Duration(i) * 100 * time.Microsecond)
		v.VisitorID = ids[i/3]
		if !w.AddView(v) {
			b.Fatal("AddView refused")
		}
		if (i+1)%batch == 0 {
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(testkit.ProcessCPU()-cpu)/float64(b.N), "cpu-ns/view")
}
