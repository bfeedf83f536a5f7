// Command hostile sends a hostile load through real Caddy and checks what
// it leaves behind:
//
//	go run ./bench/hostile [-requests 200000] [-workers 8] [-strict]
//
// One client (one X-Forwarded-For address), no proof of work, random site
// ids, paths, UTM values and User-Agents and an 8 KB Accept-Language on
// every request: beacons, event batches and paths that are not Echelon's.
// The store also holds a real site with clean views, nine smaller sites
// and a little junk under (other), as a server on the public edge does.
// Reported, each
// against its bound:
//
//   - live heap growth over the load (64 MB),
//   - data directory growth, at rest before and after (20 MB),
//   - /api/stats/overview, /api/stats/summary and /api/bots/suspicious for
//     the real site, median time after the load over before it, in the
//     same run (1.5),
//   - the real site's clean views, before and after: exactly equal.
//
// Caddy runs in this process (standard modules plus Echelon), its store in
// a temp dir. It is started twice: once to seed the real site and close
// the store (its size at rest), once for the control timings, the load and
// the timings after it, then stopped again to measure the store at rest
// and count the real site's views in Badger. -strict exits 2 when a bound
// fails. See bench/README.md and docs/performance.md.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/echelon-analytics/caddy-echelon"
	"github.com/echelon-analytics/caddy-echelon/internal/hostile"
	"github.com/echelon-analytics/caddy-echelon/internal/testkit"
	"github.com/echelon-analytics/caddy-echelon/pow"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// Exit codes.
const (
	exitOK       = 0
	exitBroken   = 1 // setup failed or the load could not be sent
	exitBound    = 2 // a bound failed, with -strict
	exitBadUsage = 64
)

const (
	secret     = "bench-secret-not-for-production-use"
	realSite   = "real"
	difficulty = 8 // cheap to mint for the seed; the load sends no token
)

type options struct {
	requests, workers, seedViews, runs, headerBytes int
	heapBound, storeBound                           int64
	ratio                                           float64
	strict, keep                                    bool
	heapProfile                                     string
}

func main() { os.Exit(run()) }

func run() int {
	var o options
	flag.IntVar(&o.requests, "requests", 200_000, "hostile requests")
	flag.IntVar(&o.workers, "workers", 8, "concurrent keep-alive connections of the load")
	flag.IntVar(&o.seedViews, "seed-views", 2000, "clean views of the real site")
	flag.IntVar(&o.runs, "runs", 25, "timed runs of each query, before and after (median)")
	flag.IntVar(&o.headerBytes, "header-bytes", 8<<10, "size of the Accept-Language of every hostile request")
	flag.Int64Var(&o.heapBound, "heap-bound", 64<<20, "live heap growth bound, bytes")
	flag.Int64Var(&o.storeBound, "store-bound", 20<<20, "data directory growth bound, bytes")
	flag.Float64Var(&o.ratio, "ratio", 1.5, "bound on query time after / before")
	flag.BoolVar(&o.strict, "strict", false, "exit 2 when a bound fails")
	flag.BoolVar(&o.keep, "keep", false, "keep the temp dir (Badger data) and print its path")
	flag.StringVar(&o.heapProfile, "heapprofile", "", "write heap profiles before and after the load to `prefix`.before and prefix.after (go tool pprof -base)")
	flag.Parse()
	if o.requests < 1 || o.workers < 1 || o.seedViews < 1 || o.runs < 1 || o.headerBytes < 16 || flag.NArg() != 0 {
		flag.Usage()
		return exitBadUsage
	}
	failed, err := bench(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		return exitBroken
	}
	if failed && o.strict {
		return exitBound
	}
	return exitOK
}

func bench(o options) (failed bool, err error) {
	dir, err := os.MkdirTemp("", "echelon-hostile-")
	if err != nil {
		return false, err
	}
	if o.keep {
		fmt.Println("data dir:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	db := filepath.Join(dir, "db")
	addrs, err := testkit.FreeAddrs(2)
	if err != nil {
		return false, err
	}
	cfg, err := caddyConfig(dir, db, addrs[0], addrs[1])
	if err != nil {
		return false, err
	}
	base, admin := "http://"+addrs[0], "http://"+addrs[0]+"/_echelon"
	defer caddy.Stop()

	// Seed the real site, then close the store: its size at rest.
	if err := caddy.Load(cfg, true); err != nil {
		return false, fmt.Errorf("load caddy config: %w", err)
	}
	v, err := pow.NewVerifier(pow.Config{Secret: []byte(secret), Difficulty: difficulty})
	if err != nil {
		return false, err
	}
	// The real site, nine smaller ones, and a little junk (hits naming
	// made-up sites, as any server on the public edge gets), so the store
	// is in its usual state before the load: several sites and (other).
	for i := range 10 {
		site, n := realSite, o.seedViews
		if i > 0 {
			site, n = fmt.Sprintf("site%d", i), 50
		}
		mint := func(sid string) (string, error) { return v.Mint(sid, site, difficulty, time.Now()) }
		if err := hostile.Seed(base, site, n, mint); err != nil {
			return false, err
		}
	}
	if r := (&hostile.Attack{Base: base, HeaderBytes: 256}).Run(200, 2, 99); r.Errors > 0 {
		return false, fmt.Errorf("seed junk: %s", r.FirstError)
	}
	if err := caddy.Stop(); err != nil {
		return false, err
	}
	storeBefore, err := hostile.DiskBytes(db)
	if err != nil {
		return false, err
	}

	if err := caddy.Load(cfg, true); err != nil {
		return false, fmt.Errorf("reload caddy config: %w", err)
	}
	visitsBefore, err := hostile.Visits(admin, realSite, secret)
	if err != nil {
		return false, err
	}
	queries := hostile.Queries(admin, realSite)
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range queries {
			if !yield(k) {
				return
			}
		}
	})
	before, err := timeAll(names, queries, o.runs)
	if err != nil {
		return false, err
	}
	fmt.Printf("Caddy %s, %s; %d hostile requests from one client, %d workers, %d B headers; real site %d clean views\n",
		caddyVersion(), runtime.Version(), o.requests, o.workers, o.headerBytes, visitsBefore)

	heap0 := hostile.LiveHeap()
	if err := writeHeap(o.heapProfile, ".before"); err != nil {
		return false, err
	}
	atk := hostile.Attack{Base: base, HeaderBytes: o.headerBytes}
	res := atk.Run(o.requests, o.workers, 1)
	if res.Errors > 0 {
		return false, fmt.Errorf("load: %d errors, first: %s", res.Errors, res.FirstError)
	}
	time.Sleep(2 * time.Second) // view_flush and event_flush are 1s
	heap := int64(hostile.LiveHeap()) - int64(heap0)
	if err := writeHeap(o.heapProfile, ".after"); err != nil {
		return false, err
	}
	fmt.Printf("load: %d answers %v in %s (%.0f req/s)\n", res.Requests, res.Status, res.Elapsed.Round(time.Millisecond),
		float64(res.Requests)/res.Elapsed.Seconds())

	after, err := timeAll(names, queries, o.runs)
	if err != nil {
		return false, err
	}
	visitsAfter, err := hostile.Visits(admin, realSite, secret)
	if err != nil {
		return false, err
	}
	metrics, _ := testkit.EchelonMetrics(addrs[1])
	for k := range metrics { // the counters, not the histograms
		if strings.Contains(k, "_bucket") || strings.Contains(k, "flush_duration") {
			delete(metrics, k)
		}
	}
	if err := caddy.Stop(); err != nil {
		return false, err
	}
	storeAfter, err := hostile.DiskBytes(db)
	if err != nil {
		return false, err
	}
	clean, err := countClean(db)
	if err != nil {
		return false, err
	}

	check := func(ok bool, format string, args ...any) {
		mark := "ok  "
		if !ok {
			mark, failed = "FAIL", true
		}
		fmt.Printf("%s "+format+"\n", append([]any{mark}, args...)...)
	}
	check(heap <= o.heapBound, "live heap growth %+.1f MB (bound %d MB)", float64(heap)/(1<<20), o.heapBound>>20)
	grown := storeAfter - storeBefore
	check(grown <= o.storeBound, "store growth %+.1f MB at rest, %.1f → %.1f MB (bound %d MB)",
		float64(grown)/(1<<20), float64(storeBefore)/(1<<20), float64(storeAfter)/(1<<20), o.storeBound>>20)
	for _, n := range names {
		r := float64(after[n]) / float64(before[n])
		check(r <= o.ratio, "%-10s %8s before, %8s after: ratio %.2f (bound %.1f)", n,
			before[n].Round(10*time.Microsecond), after[n].Round(10*time.Microsecond), r, o.ratio)
	}
	check(visitsBefore == uint64(o.seedViews) && visitsAfter == visitsBefore && clean == o.seedViews,
		"real site clean views: %d seeded, overview %d before and %d after, %d stored", o.seedViews, visitsBefore, visitsAfter, clean)
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range metrics {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Printf("     %s %.0f\n", k, metrics[k])
	}
	return failed, nil
}

// timeAll is the median time of each query, in names order.
func timeAll(names []string, queries map[string]string, runs int) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for _, n := range names {
		d, err := hostile.Time(queries[n], secret, runs)
		if err != nil {
			return nil, err
		}
		out[n] = d
	}
	return out, nil
}

// countClean counts the real site's stored views scoring below 50, with
// Caddy stopped.
func countClean(db string) (int, error) {
	st, err := storage.Open(storage.Options{Dir: db})
	if err != nil {
		return 0, err
	}
	defer st.Close()
	n := 0
	err = st.Views(realSite, time.Unix(0, 0), time.Now().Add(time.Hour), func(v *storage.View) bool {
		if v.BotScore < 50 {
			n++
		}
		return true
	})
	return n, err
}

// caddyConfig is one HTTP server: the echelon handler (rate limiter off,
// a missing proof of work +50, loopback trusted as a proxy so
// X-Forwarded-For is the client) in front of a 404 for every other path,
// and the admin endpoint for /metrics.
func caddyConfig(dir, db, addr, adminAddr string) ([]byte, error) {
	cfg := map[string]any{
		"admin":   map[string]any{"listen": adminAddr, "config": map[string]any{"persist": false}},
		"logging": map[string]any{"logs": map[string]any{"default": map[string]any{"level": "ERROR"}}},
		"storage": map[string]any{"module": "file_system", "root": filepath.Join(dir, "caddy")},
		"apps": map[string]any{"http": map[string]any{
			"grace_period": "2s",
			"servers": map[string]any{"hostile": map[string]any{
				"listen":          []string{addr},
				"automatic_https": map[string]any{"disable": true},
				"trusted_proxies": map[string]any{"source": "static", "ranges": []string{"127.0.0.0/8"}},
				"routes": []any{map[string]any{"handle": []any{
					map[string]any{
						"handler":            "echelon",
						"db_path":            db,
						"secret":             secret,
						"view_flush":         "1s",
						"event_flush":        "1s",
						"trust_proxy":        true,
						"rate_limit_max":     0,
						"pow_difficulty":     difficulty,
						"pow_missing_points": 50,
					},
					map[string]any{"handler": "static_response", "status_code": 404, "body": "not found"},
				}}},
			}},
		}},
	}
	return json.Marshal(cfg)
}

func caddyVersion() string {
	simple, _ := caddy.Version()
	return simple
}

// writeHeap writes a heap profile to prefix+suffix, unless prefix is "".
func writeHeap(prefix, suffix string) error {
	if prefix == "" {
		return nil
	}
	f, err := os.Create(prefix + suffix)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
