package seed

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/handlers"
)

// BenchmarkLists times the list endpoints' handlers (parameters, storage
// query and JSON) on the store of BenchmarkQueries: each list with and
// without a filter (one that the small site still has 40 pages of), at
// page 1 and at page 40 (reached once by following
// next_cursor 39 times; the timed request is the page-40 one, repeated),
// on the 10,000-view and the 1,000,000-view site in the same run. It
// reports each p50 in µs and the 1M/10k ratio. One op is one round of
// every request. Seeding takes about a minute and is not timed.
//
//	go test ./internal/seed -run '^$' -bench Lists -benchtime 100x
func BenchmarkLists(b *testing.B) {
	st, _ := benchStore(b)
	l := &handlers.Lists{Store: st}
	lists := []struct {
		name, path, query string
		serve             http.HandlerFunc
	}{
		{"visitors", "/api/visitors", "", l.ServeVisitors},
		{"visitors-mobile", "/api/visitors", "device=mobile", l.ServeVisitors},
		{"visitors-by-views", "/api/visitors", "sort=views_desc", l.ServeVisitors},
		{"visitors-by-views-new", "/api/visitors", "sort=views_desc&returning=new", l.ServeVisitors},
		{"pageviews", "/api/pageviews", "", l.ServePageviews},
		{"pageviews-US", "/api/pageviews", "country=US", l.ServePageviews},
		{"events", "/api/events", "", l.ServeEvents},
		{"events-scroll", "/api/events", "type=scroll_depth", l.ServeEvents},
	}
	type request struct{ name, target string }
	var requests []request
	call := func(serve http.HandlerFunc, target string) map[string]any {
		rec := httptest.NewRecorder()
		serve(rec, httptest.NewRequest(http.MethodGet, target, nil))
		var out map[string]any
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &out) != nil {
			b.Fatalf("%s: %d %s", target, rec.Code, rec.Body.String())
		}
		return out
	}
	serveOf := map[string]http.HandlerFunc{}
	for _, li := range lists {
		for _, site := range []string{"small", "large"} {
			first := li.path + "?site_id=" + site + "&" + li.query
			cursor := ""
			for page := 1; page < 40; page++ {
				out := call(li.serve, first+"&cursor="+url.QueryEscape(cursor))
				next, ok := out["next_cursor"].(string)
				if !ok {
					b.Fatalf("%s has no page %d", first, page+1)
				}
				cursor = next
			}
			for _, r := range []request{
				{li.name + "/p1/" + site, first},
				{li.name + "/p40/" + site, first + "&cursor=" + url.QueryEscape(cursor)},
			} {
				requests = append(requests, r)
				serveOf[r.name] = li.serve
			}
		}
	}
	samples := map[string][]time.Duration{}
	b.ResetTimer()
	for b.Loop() {
		for _, r := range requests {
			t0 := time.Now()
			rec := httptest.NewRecorder()
			serveOf[r.name](rec, httptest.NewRequest(http.MethodGet, r.target, nil))
			samples[r.name] = append(samples[r.name], time.Since(t0))
			if rec.Code != 200 {
				b.Fatalf("%s: %d", r.target, rec.Code)
			}
		}
	}
	b.StopTimer()
	p50 := func(k string) float64 {
		s := slices.Clone(samples[k])
		slices.Sort(s)
		return float64(s[len(s)/2].Microseconds())
	}
	for _, li := range lists {
		for _, page := range []string{"p1", "p40"} {
			small, large := p50(li.name+"/"+page+"/small"), p50(li.name+"/"+page+"/large")
			b.ReportMetric(small, li.name+"-"+page+"-10k-µs")
			b.ReportMetric(large, li.name+"-"+page+"-1M-µs")
			b.ReportMetric(large/max(small, 1), li.name+"-"+page+"-1M/10k")
		}
	}
}
