//go:build !race

// Heap figures are not meaningful under the race detector.

package echelon

import (
	"cmp"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/internal/hostile"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// Bounds of the hostile load (200,000 requests in bench/hostile), per
// request, so this scaled-down run checks the same bounds.
const (
	hostileRequests     = 200_000
	hostileHeapBound    = 64 << 20 // live heap growth
	hostileStoreBound   = 20 << 20 // data directory growth
	hostileTestRequests = 4_000
	hostileWarmRequests = 8_000
	// hostileChunk is how many requests are sent between two flushes of
	// the write buffers (the harness's view_flush is an hour; at this
	// pace, view_flush 1s flushes about this often).
	hostileChunk = 1_000
)

// TestHostile_LoadLeavesBoundedStateAndTheRealSiteUnchanged is
// bench/hostile scaled down: one client sends 12,000 requests without a
// proof of work (scored +50, a bot), with random site ids, paths, UTM
// values and User-Agents and an 8 KB header each, at a store whose real
// site has 300 clean views, and the daily bot row budget scaled like the
// load. The live heap grows over the last 4,000 requests (the first fill
// what has a fixed size: the UA cache, the write buffers) and the data
// directory (at rest, before and after) over all of them by at most the
// bench's bounds scaled to as many requests, and the real site's clean
// views are exactly as before. The query timings are
// the bench's (a benchmark, not a timed test).
func TestHostile_LoadLeavesBoundedStateAndTheRealSiteUnchanged(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	start := func() {
		tc := newTester(t)
		// The daily bot row budget is scaled like the load.
		body := fmt.Sprintf("trust_proxy\n\t\trate_limit_max 0\n\t\tpow_missing_points 50\n\t\tmax_bot_rows %d\n\t\tsecret %s",
			storage.DefaultBotRowBudget*hostileTestRequests/hostileRequests, testSecret)
		tc.InitServer(strings.Replace(siteConfig(dir, body), "10.9.9.9/32", "127.0.0.1/8", 1), "caddyfile")
	}
	t.Cleanup(func() { unload(t) })
	start()
	const real, seeded = "real", 300
	mint := func(sid string) (string, error) {
		sh := sharedOf(t, db)
		now := time.Now()
		return sh.pow.Mint(sid, real, sh.pow.Difficulty("", now), now)
	}
	if err := hostile.Seed(baseURL, real, seeded, mint); err != nil {
		t.Fatal(err)
	}
	unload(t) // at rest: buffers flushed, Badger closed
	before, err := hostile.DiskBytes(db)
	if err != nil {
		t.Fatal(err)
	}

	start()
	admin := baseURL + "/_echelon"
	visits, err := hostile.Visits(admin, real, testSecret)
	if err != nil || visits != seeded {
		t.Fatalf("real site: %d clean visits (%v), want %d", visits, err, seeded)
	}
	for _, q := range hostile.Queries(admin, real) { // warm what the queries read
		if err := hostile.Get(q, testSecret, nil); err != nil {
			t.Fatal(err)
		}
	}
	// A first part of the load fills what has a fixed size whatever the
	// load: the UA cache's slots, the write buffers' working size; the
	// heap is measured over the rest.
	atk := hostile.Attack{Base: baseURL, HeaderBytes: 8 << 10}
	run := func(n int, seed uint64) hostile.Result {
		total := hostile.Result{Status: map[int]int64{}}
		for i := range n / hostileChunk {
			r := atk.Run(hostileChunk, 4, seed+uint64(i))
			if err := sharedOf(t, db).writer.Flush(); err != nil {
				t.Fatal(err)
			}
			total.Requests += r.Requests
			total.Errors += r.Errors
			total.Elapsed += r.Elapsed
			total.FirstError = cmp.Or(total.FirstError, r.FirstError)
			for k, v := range r.Status {
				total.Status[k] += v
			}
		}
		return total
	}
	run(hostileWarmRequests, 1000)
	heap0 := hostile.LiveHeap()
	res := run(hostileTestRequests, 1)
	if res.Errors > 0 || res.Requests != hostileTestRequests {
		t.Fatalf("attack: %d answers, %d errors (%s)", res.Requests, res.Errors, res.FirstError)
	}
	heap := int64(hostile.LiveHeap()) - int64(heap0)
	after, err := hostile.Visits(admin, real, testSecret)
	if err != nil || after != seeded {
		t.Errorf("real site after the load: %d clean visits (%v), want %d", after, err, seeded)
	}
	unload(t)
	size, err := hostile.DiskBytes(db)
	if err != nil {
		t.Fatal(err)
	}
	store := size - before // over the whole load, warm-up included
	clean := 0
	st, err := storage.Open(storage.Options{Dir: db})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Views(real, time.Unix(0, 0), time.Now().Add(time.Hour), func(v *storage.View) bool {
		if v.BotScore < 50 {
			clean++
		}
		return true
	})
	st.Close()
	if err != nil || clean != seeded {
		t.Errorf("real site's stored clean views: %d (%v), want %d", clean, err, seeded)
	}

	heapBound := int64(hostileHeapBound) * hostileTestRequests / hostileRequests
	storeBound := int64(hostileStoreBound) * (hostileTestRequests + hostileWarmRequests) / hostileRequests
	t.Logf("%d requests %v in %s: live heap %+d KB (bound %d KB), store %+d KB (bound %d KB)",
		res.Requests, res.Status, res.Elapsed.Round(time.Millisecond), heap>>10, heapBound>>10, store>>10, storeBound>>10)
	if heap > heapBound {
		t.Errorf("live heap grew %d KB, over the scaled bound %d KB", heap>>10, heapBound>>10)
	}
	if store > storeBound {
		t.Errorf("store grew %d KB, over the scaled bound %d KB", store>>10, storeBound>>10)
	}
}
