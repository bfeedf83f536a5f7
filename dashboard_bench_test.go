package echelon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/echelon-analytics/caddy-echelon/internal/seed"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// BenchmarkDashboardPages is the server time of the dashboard's pages on
// the store `caddy echelon seed` makes: a 10,000-view site and a
// 1,000,000-view site (30 days each, ending now, so the last hour is
// busy). The module is provisioned in process and answers as in Caddy
// (bearer auth, the admin_path mux, the in-process API calls), each
// response rendered in full. It reports the p50 per page and site: the
// dashboard (target ≤ 50 ms), and page 1 and page 40 of Visitors, Page
// Views and Events (target ≤ 100 ms; page 40's cursor comes from walking
// the API). One op is one round of every page on both sites. Seeding the
// large site takes a minute and is not timed; ECHELON_BENCH_LARGE changes
// its views.
//
//	go test -run '^$' -bench DashboardPages -benchtime 30x .
func BenchmarkDashboardPages(b *testing.B) {
	large := 1_000_000
	if n, err := strconv.Atoi(os.Getenv("ECHELON_BENCH_LARGE")); err == nil && n > 0 {
		large = n
	}
	dir := filepath.Join(b.TempDir(), "db")
	st, err := storage.Open(storage.Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	end := time.Now()
	for _, s := range []struct {
		site  string
		views int
	}{{"small", 10_000}, {"large", large}} {
		if _, err := seed.Write(st, seed.Options{Site: s.site, Days: 30, Views: s.views, End: end, Seed: 3}); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}

	serve := provisioned(b, &Handler{DBPath: dir, Secret: "bench"})
	get := func(target string) []byte {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Authorization", "Bearer bench")
		rec := httptest.NewRecorder()
		serve(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%s: %d %.200s", target, rec.Code, rec.Body.String())
		}
		return rec.Body.Bytes()
	}
	// page40 walks the list's API to the cursor of its 40th page.
	page40 := func(list, site string) string {
		cursor := ""
		for page := 1; page < 40; page++ {
			var out struct {
				Next *string `json:"next_cursor"`
			}
			if err := json.Unmarshal(get("/_echelon/api/"+list+"?site_id="+site+"&cursor="+url.QueryEscape(cursor)), &out); err != nil || out.Next == nil {
				b.Fatalf("%s of %s has no page %d (%v)", list, site, page+1, err)
			}
			cursor = *out.Next
		}
		return cursor
	}
	type request struct{ name, target string }
	var requests []request
	for _, site := range []string{"small", "large"} {
		requests = append(requests, request{"dashboard/" + site, "/_echelon/?site_id=" + site + "&days=30"})
		for _, list := range []string{"visitors", "pageviews", "events"} {
			requests = append(requests,
				request{list + "/p1/" + site, "/_echelon/" + list + "?site_id=" + site},
				request{list + "/p40/" + site, "/_echelon/" + list + "?site_id=" + site + "&cursor=" + url.QueryEscape(page40(list, site))})
		}
	}
	for _, r := range requests {
		if page := string(get(r.target)); !strings.Contains(page, "</main>") {
			b.Fatalf("%s: no page", r.target)
		}
	}
	samples := map[string][]time.Duration{}
	b.ResetTimer()
	for b.Loop() {
		for _, r := range requests {
			t0 := time.Now()
			get(r.target)
			samples[r.name] = append(samples[r.name], time.Since(t0))
		}
	}
	b.StopTimer()
	p50 := func(name string) float64 {
		s := slices.Clone(samples[name])
		slices.Sort(s)
		return float64(s[len(s)/2].Microseconds()) / 1000
	}
	for _, r := range requests {
		b.ReportMetric(p50(r.name), "ms-p50/"+r.name)
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-14s %10s %10s  (p50; the large site has %d views)\n", "page", "10k", "large", large)
	for _, name := range []string{"dashboard", "visitors/p1", "visitors/p40", "pageviews/p1", "pageviews/p40", "events/p1", "events/p40"} {
		fmt.Fprintf(&table, "%-14s %7.1f ms %7.1f ms\n", name, p50(name+"/small"), p50(name+"/large"))
	}
	b.Log(table.String())
}

// provisioned provisions h in process, as Caddy would, and returns a
// function that serves one request through it (requests it does not own
// get 404). The handler is cleaned up with the benchmark.
func provisioned(b *testing.B, h *Handler) func(http.ResponseWriter, *http.Request) {
	b.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	if err := h.Provision(ctx); err != nil {
		cancel()
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cancel()
		if err := h.Cleanup(); err != nil {
			b.Error(err)
		}
	})
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) error {
		w.WriteHeader(http.StatusNotFound)
		return nil
	})
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h.ServeHTTP(w, r, next); err != nil {
			b.Fatal(err)
		}
	}
}
