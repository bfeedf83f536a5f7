package scoring

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

func TestBurst_SixteenthHitOfAWindowScores(t *testing.T) {
	b := NewBurst(100)
	const k = 42
	for i := 1; i <= 15; i++ {
		if got := b.Hit(k, t0.Add(time.Duration(i)*time.Second)); got != i {
			t.Fatalf("hit %d: count %d", i, got)
		}
	}
	in := quietBeacon()
	in.Burst = b.Count(k, t0.Add(time.Minute))
	if p := points(testRules().Score(&in), "burst"); p != 0 {
		t.Errorf("after 15 hits: burst %d, want 0", p)
	}
	in.Burst = b.Hit(k, t0.Add(time.Minute))
	if in.Burst != 16 {
		t.Fatalf("16th hit: count %d", in.Burst)
	}
	if p := points(testRules().Score(&in), "burst"); p != 25 {
		t.Errorf("16th hit: burst %d, want 25", p)
	}
}

func TestBurst_FixedWindowOpensAtFirstHit(t *testing.T) {
	b := NewBurst(100)
	b.Hit(1, t0)
	b.Hit(1, t0.Add(4*time.Minute))
	if got := b.Count(1, t0.Add(BurstWindow-time.Nanosecond)); got != 2 {
		t.Errorf("just before the window ends: count %d, want 2", got)
	}
	if got := b.Count(1, t0.Add(BurstWindow)); got != 0 {
		t.Errorf("when the window ends: count %d, want 0", got)
	}
	if got := b.Hit(1, t0.Add(BurstWindow)); got != 1 {
		t.Errorf("first hit of the next window: count %d, want 1", got)
	}
}

func TestBurst_CountDoesNotAddAHit(t *testing.T) {
	b := NewBurst(100)
	if got := b.Count(7, t0); got != 0 {
		t.Errorf("unknown key: %d", got)
	}
	b.Hit(7, t0)
	for range 20 {
		b.Count(7, t0)
	}
	if got := b.Count(7, t0); got != 1 {
		t.Errorf("count %d after one hit and many reads, want 1", got)
	}
}

// oneShardBurst is a Burst of capacity keys in a single shard, so a test
// knows which keys compete for room.
func oneShardBurst(capacity int) *Burst {
	b := &Burst{base: t0, seed: maphash.MakeSeed(), m: fifoMap{shards: make([]fifoShard, 1)}}
	b.m.shards[0].init(capacity)
	return b
}

// TestBurst_FullMapEvictsCalmKeysFirst: a flood of new keys into a full
// map evicts (and counts) the oldest calm keys; newcomers are not scored
// as bursting, and a key past the threshold keeps its count.
func TestBurst_FullMapEvictsCalmKeysFirst(t *testing.T) {
	b := oneShardBurst(4)
	for range BurstThreshold + 1 {
		b.Hit(1, t0) // the guilty key, held first (oldest)
	}
	b.Hit(2, t0)
	b.Hit(3, t0)
	b.Hit(4, t0)
	for k := range uint64(100) {
		if got := b.Hit(100+k, t0.Add(time.Second)); got != 1 {
			t.Fatalf("new key %d on a full map: Hit = %d, want 1", k, got)
		}
	}
	if got := b.Count(999, t0.Add(time.Second)); got != 0 {
		t.Errorf("unknown key on a full map: Count = %d, want 0", got)
	}
	if got := b.Evictions(); got != 100 {
		t.Errorf("%d evictions, want 100", got)
	}
	in := quietBeacon()
	in.Burst = b.Hit(1, t0.Add(2*time.Second))
	if in.Burst != BurstThreshold+2 || points(testRules().Score(&in), "burst") != 25 {
		t.Errorf("the bursting key after the flood: count %d, want %d and the burst points", in.Burst, BurstThreshold+2)
	}
	if b.Len() != 4 {
		t.Errorf("Len = %d, want the capacity 4", b.Len())
	}
}

// TestBurst_AllBurstingEvictsTheOldest: when every key near the head is
// bursting, the oldest goes, so the map still never refuses.
func TestBurst_AllBurstingEvictsTheOldest(t *testing.T) {
	b := oneShardBurst(2)
	for k := range uint64(2) {
		for range BurstThreshold + 1 {
			b.Hit(k+1, t0)
		}
	}
	if got := b.Hit(3, t0.Add(time.Second)); got != 1 || b.Evictions() != 1 {
		t.Fatalf("Hit = %d, evictions %d; want 1 and 1", got, b.Evictions())
	}
	if got := b.Count(1, t0.Add(time.Second)); got != 0 {
		t.Errorf("the oldest bursting key still counts %d", got)
	}
	if got := b.Count(2, t0.Add(time.Second)); got != BurstThreshold+1 {
		t.Errorf("the newer bursting key counts %d, want %d", got, BurstThreshold+1)
	}
}

func TestBurst_NilCountsNothing(t *testing.T) {
	var b *Burst
	if b.Hit(1, t0) != 0 || b.Count(1, t0) != 0 || b.Len() != 0 {
		t.Error("nil Burst counted")
	}
}

func TestBurstKey_SameIPDifferentUAsCountApart(t *testing.T) {
	ip := IPKey(netip.MustParseAddr("198.51.100.7"), []byte("salt"))
	b := NewBurst(100)
	for range 20 {
		b.Hit(burstKey(ip, "curl/8.4.0"), t0)
	}
	if got := b.Hit(burstKey(ip, chromeWindowsUA), t0); got != 1 {
		t.Errorf("a browser behind the same NAT as a script: count %d, want 1", got)
	}
	if burstKey(ip, "a") == burstKey(IPKey(netip.MustParseAddr("198.51.100.8"), []byte("salt")), "a") {
		t.Error("two IPs with one UA share a key")
	}
}

func TestBurst_ConcurrentHitsAreAllCounted(t *testing.T) {
	b := NewBurst(1000)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				b.Hit(uint64(i%50), t0)
				b.Count(uint64(g), t0)
			}
		}()
	}
	wg.Wait()
	for k := range 50 {
		if got := b.Count(uint64(k), t0); got != 80 {
			t.Fatalf("key %d: count %d, want 80", k, got)
		}
	}
}

func BenchmarkBurstHit(b *testing.B) {
	m := NewBurst(DefaultBurstCapacity)
	keys := make([]uint64, 4096)
	for i := range keys {
		keys[i] = burstKey(IPKey(netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)}), nil), chromeWindowsUA)
	}
	now := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.Hit(keys[i%len(keys)], now)
		i++
	}
}

// burstKey is the Burst key of an IP key and a User-Agent, as the handlers
// make it with the UA's hash cached.
func burstKey(ip [16]byte, ua string) uint64 { return BurstKeyOf(ip, UAHash(ua)) }
