package seed

import (
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// BenchmarkQueries seeds a 10,000-view site and a 1,000,000-view site (30
// days each, same pages) into one store, then times the 30-day overview and
// the dashboard on both, alternating, and reports each query's p50 and the
// large/small ratio (target ≤ 3: cost follows days and distinct values, not
// views). One op is one round of the four queries. Seeding takes about 20 s
// and is not timed; ECHELON_BENCH_LARGE changes the large site's views.
//
//	go test ./internal/seed -run '^$' -bench Queries -benchtime 200x
func BenchmarkQueries(b *testing.B) {
	st, end := benchStore(b)
	queries := []struct {
		name string
		run  func(site string) (any, error)
	}{
		{"overview30", func(site string) (any, error) { return st.Overview(site, 30, end) }},
		{"dashboard", func(site string) (any, error) { return st.Dashboard(site, end) }},
	}
	samples := map[string][]time.Duration{}
	b.ResetTimer()
	for b.Loop() {
		for _, q := range queries {
			for _, site := range []string{"small", "large"} {
				t0 := time.Now()
				v, err := q.run(site)
				if err == nil {
					_, err = json.Marshal(v)
				}
				samples[q.name+"/"+site] = append(samples[q.name+"/"+site], time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.StopTimer()
	p50 := func(k string) float64 {
		s := slices.Clone(samples[k])
		slices.Sort(s)
		return float64(s[len(s)/2].Microseconds())
	}
	for _, q := range queries {
		small, big := p50(q.name+"/small"), p50(q.name+"/large")
		b.ReportMetric(small, q.name+"-10k-p50-µs")
		b.ReportMetric(big, q.name+"-1M-p50-µs")
		b.ReportMetric(big/max(small, 1), q.name+"-1M/10k")
	}
}

// benchStore seeds, in a fresh directory, a 10,000-view site "small" and a
// 1,000,000-view site "large" (ECHELON_BENCH_LARGE changes it), 30 days
// each ending at the returned time, then closes and reopens the store as
// `caddy echelon seed` followed by Caddy would. The store closes when the
// benchmark ends.
func benchStore(b *testing.B) (*storage.Store, time.Time) {
	b.Helper()
	large := 1_000_000
	if n, err := strconv.Atoi(os.Getenv("ECHELON_BENCH_LARGE")); err == nil && n > 0 {
		large = n
	}
	dir := b.TempDir()
	st, err := storage.Open(storage.Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	end := time.Date(2026, 11, 20, 15, 30, 0, 0, time.UTC)
	for _, s := range []struct {
		site  string
		views int
	}{{"small", 10_000}, {"large", large}} {
		if _, err := Write(st, Options{Site: s.site, Days: 30, Views: s.views, End: end, Seed: 3}); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	if st, err = storage.Open(storage.Options{Dir: dir}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st, end
}
