//go:build !race

// Heap figures are not meaningful under the race detector.

package echelon

import (
	"fmt"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/pow"
	"github.com/echelon-analytics/caddy-echelon/scoring"
)

// memoryBudgetAll is the cap for the rate limiter, the burst map and the
// proof-of-work replay cache together (docs/bot-defense.md, Under hostile traffic).
const memoryBudgetAll = 64 << 20

// TestMemory_MillionClientIPsThroughLimiterBurstAndReplayCache sends a
// million distinct client IPs, each with its own valid proof-of-work
// token, through the module's rate limiter (rateLimiterCap), a default
// burst map and a real pow.Verifier (its replay and session caches), as
// beacons would, all inside one burst window. The live heap is sampled
// (after a GC, so garbage from minting does not count) and its peak must
// stay under 64 MB. Full caches evict rather than refuse: no visitor is
// scored a burst, and every token is valid.
func TestMemory_MillionClientIPsThroughLimiterBurstAndReplayCache(t *testing.T) {
	const ips = 1_000_000
	start := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	now := start
	clock := func() time.Time { return now }
	v, err := pow.NewVerifier(pow.Config{Secret: []byte("memory-test-secret"), Difficulty: 1, MaxDifficulty: 1})
	if err != nil {
		t.Fatal(err)
	}
	salt := []byte("0123456789abcdef0123456789abcdef")
	rules := &scoring.Rules{}

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	limiter := scoring.NewRateLimiter(100, time.Minute, rateLimiterCap, clock)
	burst := scoring.NewBurst(0)
	peak := uint64(0)
	sample := func() {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc-min(base, ms.HeapAlloc))
	}
	valid, burstScored := 0, 0
	var buf [16]byte
	for i := range ips {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if ok, _ := limiter.Allow(string(ip.AppendTo(buf[:0]))); !ok {
			t.Fatalf("IP %d rate limited", i)
		}
		in := scoring.Input{Hit: scoring.HitBeacon, InteractionMS: 2000, HasAcceptLanguage: true, HasSecCHUA: true, Path: "/"}
		in.Burst = burst.Hit(scoring.BurstKeyOf(scoring.IPKey(ip, salt), scoring.UAHash(chromeUA)), now)
		if res := rules.Score(&in); res.Score == 25 {
			burstScored++
		}
		sid := fmt.Sprintf("0b7c2f0e-1111-4222-8333-%012d", i)
		tok, err := v.Mint(sid, "shop", 1, now)
		if err != nil {
			t.Fatal(err)
		}
		if v.Check(tok, sid, "shop", "", 1, now) == pow.Valid {
			valid++
		}
		if i%100_000 == 0 {
			sample()
		}
		if i%10_000 == 0 {
			now = now.Add(time.Millisecond) // all within one burst window and one PoW bucket
		}
	}
	sample()
	st := v.Stats()
	t.Logf("%d IPs: peak live heap %.1f MB (budget %d MB); limiter %d keys, burst %d keys (%d evicted), replay cache %d tokens (%d evicted), sessions %d",
		ips, float64(peak)/(1<<20), memoryBudgetAll>>20, limiter.Len(), burst.Len(), burst.Evictions(), st.ReplayEntries, st.ReplayEvicted, st.SessionEntries)
	if peak > memoryBudgetAll {
		t.Errorf("peak live heap %.1f MB over the %d MB budget", float64(peak)/(1<<20), memoryBudgetAll>>20)
	}
	if st.ReplayEntries > pow.DefaultReplayCap || burst.Len() > scoring.DefaultBurstCapacity {
		t.Errorf("caps exceeded: replay %d, burst %d", st.ReplayEntries, burst.Len())
	}
	if burstScored != 0 || burst.Evictions() != ips-scoring.DefaultBurstCapacity {
		t.Errorf("%d beacons scored the burst, %d evictions; want none and %d", burstScored, burst.Evictions(), ips-scoring.DefaultBurstCapacity)
	}
	if valid != ips || st.ReplayEvicted != ips-pow.DefaultReplayCap {
		t.Errorf("%d tokens valid, %d evicted; want all %d and %d", valid, st.ReplayEvicted, ips, ips-pow.DefaultReplayCap)
	}
	runtime.KeepAlive(limiter)
	runtime.KeepAlive(burst)
	runtime.KeepAlive(v)
}

// TestMemory_MadeUpSiteIDsKeepTheHeapFlat sends 3,000 bot beacons, each
// naming a site id of its own, through real Caddy: none is registered and
// none gets per-site state, so the live heap stays where it was (it grew
// by about 21 KB per made-up site id when every id was registered).
func TestMemory_MadeUpSiteIDsKeepTheHeapFlat(t *testing.T) {
	_, dir := startCaddy(t, "rate_limit_max 0")
	heap := func() uint64 {
		if err := sharedOf(t, dir).writer.Flush(); err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	for i := range 200 { // warm up: the (other) site's state, Caddy's and Badger's buffers
		junkBeacon(t, fmt.Sprintf("warm-%d", i))
	}
	before := heap()
	const n = 3000
	for i := range n {
		junkBeacon(t, fmt.Sprintf("junk-%d", i))
	}
	after := heap()
	grown := int64(after) - int64(before)
	t.Logf("%d made-up site ids: live heap %+.1f MB", n, float64(grown)/(1<<20))
	if grown > 8<<20 {
		t.Errorf("live heap grew %.1f MB for %d bot beacons naming made-up sites, want under 8 MB", float64(grown)/(1<<20), n)
	}
}

// TestMemory_HugeRequestsHoldNoMemory sends requests as large as an
// attacker likes through real Caddy: beacons with an 8 KB junk parameter,
// a 12 KB referrer URL, a distinct 8 KB User-Agent and an 8 KB
// Accept-Language each, then requests for distinct 16 KB paths. The
// beacons' views stay buffered (view_flush 1h) and every request is in
// the vitals ring, yet the live heap grows by a few hundred bytes a
// request, not by the request's size: nothing kept from a request points
// into it, and no cache keeps a long string. (When records shared the
// query, the UA cache kept any UA and the ring kept whole request lines,
// this held over 30 KB a request.)
func TestMemory_HugeRequestsHoldNoMemory(t *testing.T) {
	_, dir := startCaddyLargeHeaders(t, "rate_limit_max 0")
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	pad := func(c string, n int) string { return strings.Repeat(c, n) }
	send := func(i int) {
		q := beaconQuery(fmt.Sprintf("/p/%d", i%50), "shop", map[string]string{
			"ref": b64("https://r.example/" + pad("r", 12<<10)), "junk": pad("j", 8<<10),
		})
		h := http.Header{
			"User-Agent":      {fmt.Sprintf("Mozilla/5.0 (Windows NT 10.0) Chrome/131.0.%d.0 Safari/537.36 %s", i, pad("u", 8<<10))},
			"Accept-Language": {"en-US," + pad("l", 8<<10)},
		}
		if status, _, _ := do(t, "GET", baseURL+"/b.gif?"+q, nil, h); status != 200 {
			t.Fatalf("beacon: %d", status)
		}
	}
	for i := range 200 { // warm up Caddy's, Badger's and the writer's buffers
		send(i)
	}
	if err := sharedOf(t, dir).writer.Flush(); err != nil {
		t.Fatal(err)
	}
	before := heap()
	const n = 1500
	for i := range n {
		send(1000 + i)
	}
	for i := range n {
		do(t, "GET", baseURL+fmt.Sprintf("/x%d/%s", i, pad("p", 16<<10)), nil, nil)
	}
	after := heap()
	if st := sharedOf(t, dir).writer.Stats(); st.PendingViews < n {
		t.Fatalf("%d views buffered, want the %d beacons' still in memory", st.PendingViews, n)
	}
	grown := int64(after) - int64(before)
	t.Logf("%d huge beacons and %d huge paths: live heap %+.1f MB (%d bytes a request)", n, n, float64(grown)/(1<<20), grown/(2*n))
	if grown > 4<<20 {
		t.Errorf("live heap grew %.1f MB for %d requests of 16-36 KB, want under 4 MB", float64(grown)/(1<<20), 2*n)
	}
}
