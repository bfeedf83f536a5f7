//go:build !race

// Heap figures are not meaningful under the race detector, so this file
// is left out of -race builds.

package scoring

import (
	"net/netip"
	"runtime"
	"testing"
	"time"
)

// Memory budget (docs/bot-defense.md, Under hostile traffic): the rate limiter, the burst map
// and the proof-of-work replay cache together stay under 64 MB with a
// million distinct client IPs. The two maps here get 40 MB of it.
const (
	memoryTestIPs = 1_000_000
	// moduleRateLimitCap is the capacity the module gives its limiter
	// (rateLimiterCap in pool.go): all million IPs fit, the worst case.
	moduleRateLimitCap = 1 << 20
	memoryBudget       = 40 << 20
)

// TestMemory_MillionClientIPs sends a million distinct client IPs through
// the rate limiter and the burst map, as beacons would, sampling the heap,
// and checks the peak against the budget. The burst map holds 100,000 keys
// at most: the other 900,000 each evict an older key (counted), and none
// of them is scored as a burst.
func TestMemory_MillionClientIPs(t *testing.T) {
	clk := newFakeClock()
	salt := []byte("0123456789abcdef0123456789abcdef")

	// The budget is what the maps hold: the live heap after a collection,
	// sampled as they fill. Garbage between collections depends on GOGC
	// and on when the collector gets to run, which a loaded machine
	// delays, not on the maps.
	var ms runtime.MemStats
	live := func() uint64 {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	base := live()
	peak := uint64(0)
	sample := func() {
		v := live()
		peak = max(peak, v-min(base, v))
	}

	limiter := NewRateLimiter(100, time.Minute, moduleRateLimitCap, clk.Now)
	burst := NewBurst(DefaultBurstCapacity)
	var buf [16]byte
	scored := 0
	beacon := func(i int) {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if ok, _ := limiter.Allow(string(ip.AppendTo(buf[:0]))); !ok {
			t.Fatalf("IP %d of %d rate limited", i, memoryTestIPs)
		}
		if burst.Hit(burstKey(IPKey(ip, salt), chromeWindowsUA), clk.Now()) > BurstThreshold {
			scored++
		}
	}
	if n := testing.AllocsPerRun(10, func() { beacon(0) }); n != 0 {
		t.Fatalf("%v allocations per beacon; the heap samples would measure garbage", n)
	}
	for i := 1; i < memoryTestIPs; i++ {
		beacon(i)
		if i%25_000 == 0 {
			sample()
		}
		if i%1000 == 0 {
			clk.Advance(time.Millisecond) // a million beacons in 1 s: no window ends
		}
	}
	sample()

	if scored != 0 {
		t.Errorf("%d beacons scored a burst, want none (one hit per key)", scored)
	}
	if want := uint64(memoryTestIPs - DefaultBurstCapacity); burst.Evictions() != want {
		t.Errorf("%d evictions, want %d (all beyond the burst capacity)", burst.Evictions(), want)
	}
	if n := limiter.Len(); n != memoryTestIPs {
		t.Errorf("limiter holds %d keys, want %d", n, memoryTestIPs)
	}
	if n := burst.Len(); n != DefaultBurstCapacity {
		t.Errorf("burst map holds %d keys, want %d", n, DefaultBurstCapacity)
	}

	// Full: a new visitor's beacon and event batch score no burst.
	newcomer := burstKey(IPKey(netip.MustParseAddr("192.0.2.1"), salt), chromeWindowsUA)
	for name, count := range map[string]int{
		"beacon (Hit)":   burst.Hit(newcomer, clk.Now()),
		"events (Count)": burst.Count(newcomer, clk.Now()),
	} {
		in := quietBeacon()
		in.Burst = count
		if res := testRules().Score(&in); points(res, "burst") != 0 {
			t.Errorf("%s on the full map: %s, want no burst points", name, res.DetailJSON())
		}
	}

	t.Logf("%d IPs: peak live heap %.1f MB (budget %d MB)", memoryTestIPs, float64(peak)/(1<<20), memoryBudget>>20)
	if peak > memoryBudget {
		t.Errorf("peak live heap %.1f MB over the %d MB budget", float64(peak)/(1<<20), memoryBudget>>20)
	}
	runtime.KeepAlive(limiter)
	runtime.KeepAlive(burst)
}
