package scoring

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/internal/testkit"
)

func newFakeClock() *testkit.Clock { return testkit.NewClock(time.Unix(1_700_000_000, 0)) }

func TestRateLimiter_MaxHitsPerWindowThenLimited(t *testing.T) {
	clk := newFakeClock()
	r := NewRateLimiter(3, time.Minute, 100, clk.Now)
	for i := 1; i <= 3; i++ {
		if ok, retry := r.Allow("1.2.3.4"); !ok || retry != 0 {
			t.Fatalf("hit %d: (%v, %v), want allowed", i, ok, retry)
		}
	}
	clk.Advance(20 * time.Second)
	if ok, retry := r.Allow("1.2.3.4"); ok || retry != 40*time.Second {
		t.Errorf("hit 4: (%v, %v), want limited with retryAfter 40s", ok, retry)
	}
	if ok, _ := r.Allow("5.6.7.8"); !ok {
		t.Error("another key was limited")
	}
}

func TestRateLimiter_WindowBoundaryOpensNewWindow(t *testing.T) {
	clk := newFakeClock()
	r := NewRateLimiter(1, time.Minute, 100, clk.Now)
	r.Allow("k")
	clk.Advance(time.Minute - time.Nanosecond)
	if ok, retry := r.Allow("k"); ok || retry != time.Nanosecond {
		t.Errorf("just before the end: (%v, %v), want limited for 1ns", ok, retry)
	}
	clk.Advance(time.Nanosecond)
	if ok, _ := r.Allow("k"); !ok {
		t.Error("at the end of the window: limited, want a new window")
	}
	if ok, _ := r.Allow("k"); ok {
		t.Error("second hit of the new window allowed")
	}
}

func TestRateLimiter_WindowIsFixedNotSliding(t *testing.T) {
	clk := newFakeClock()
	r := NewRateLimiter(2, time.Minute, 100, clk.Now)
	r.Allow("k")
	clk.Advance(50 * time.Second)
	r.Allow("k")
	clk.Advance(10 * time.Second) // the window opened by the first hit ends
	for i := 0; i < 2; i++ {
		if ok, _ := r.Allow("k"); !ok {
			t.Fatalf("hit %d of the second window limited", i+1)
		}
	}
}

func TestRateLimiter_DisabledAlwaysAllows(t *testing.T) {
	clk := newFakeClock()
	for _, r := range []*RateLimiter{
		NewRateLimiter(0, time.Minute, 1, clk.Now),
		NewRateLimiter(-1, time.Minute, 1, clk.Now),
		NewRateLimiter(5, 0, 1, clk.Now),
		nil,
	} {
		for i := 0; i < 100; i++ {
			if ok, retry := r.Allow(fmt.Sprint(i % 3)); !ok || retry != 0 {
				t.Fatalf("disabled limiter refused hit %d", i)
			}
		}
		if r.Len() != 0 {
			t.Errorf("disabled limiter holds %d keys", r.Len())
		}
	}
}

func TestRateLimiter_FullFailsClosedForNewKeys(t *testing.T) {
	clk := newFakeClock()
	r := NewRateLimiter(10, time.Minute, 1, clk.Now)
	if ok, _ := r.Allow("a"); !ok {
		t.Fatal("first key refused")
	}
	clk.Advance(15 * time.Second)
	if ok, retry := r.Allow("b"); ok || retry != 45*time.Second {
		t.Errorf("new key in a full limiter: (%v, %v), want limited until the oldest window ends (45s)", ok, retry)
	}
	if ok, _ := r.Allow("a"); !ok {
		t.Error("held key refused while the limiter is full")
	}
	if r.Len() != 1 {
		t.Errorf("Len = %d, want 1", r.Len())
	}
}

func TestRateLimiter_ExpiredEntriesFreeSlots(t *testing.T) {
	clk := newFakeClock()
	const capacity = 64
	r := NewRateLimiter(1, time.Minute, capacity, clk.Now)
	admitted := 0
	for i := 0; i < 10*capacity; i++ {
		if ok, _ := r.Allow(fmt.Sprint("old-", i)); ok {
			admitted++
		}
	}
	// 640 keys over 16 shards of 4 slots fill every shard (the chance
	// that one gets fewer than 4 keys is about 1e-12).
	if admitted != capacity || r.Len() != capacity {
		t.Fatalf("admitted %d keys, Len %d; want %d", admitted, r.Len(), capacity)
	}
	clk.Advance(time.Minute)
	readmitted := 0
	for i := 0; i < 10*capacity; i++ {
		if ok, _ := r.Allow(fmt.Sprint("new-", i)); ok {
			readmitted++
		}
	}
	if readmitted != admitted {
		t.Errorf("after expiry admitted %d new keys, want the %d freed slots reused", readmitted, admitted)
	}
	if r.Len() > capacity {
		t.Errorf("Len = %d exceeds capacity %d", r.Len(), capacity)
	}
}

func TestRateLimiter_RenewedKeyExpiresAfterOlderOnes(t *testing.T) {
	clk := newFakeClock()
	r := NewRateLimiter(1, time.Minute, 1, clk.Now)
	r.Allow("a")
	clk.Advance(time.Minute)
	r.Allow("a") // reopened: now expires at +2m
	clk.Advance(30 * time.Second)
	if ok, retry := r.Allow("b"); ok || retry != 30*time.Second {
		t.Errorf("new key: (%v, %v), want limited for 30s by the renewed window", ok, retry)
	}
	clk.Advance(30 * time.Second)
	if ok, _ := r.Allow("b"); !ok {
		t.Error("new key refused after the renewed window ended")
	}
	if r.Len() != 1 {
		t.Errorf("Len = %d, want 1", r.Len())
	}
}

func TestRateLimiter_ConcurrentUseStaysWithinCapacity(t *testing.T) {
	const capacity = 100
	r := NewRateLimiter(5, time.Minute, capacity, nil)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				r.Allow(fmt.Sprint(g, "-", i%300))
			}
		}()
	}
	wg.Wait()
	if n := r.Len(); n > capacity {
		t.Errorf("Len = %d exceeds capacity %d", n, capacity)
	}
}

func TestRateLimiter_DefaultCapacity(t *testing.T) {
	r := NewRateLimiter(1, time.Minute, 0, nil)
	total := 0
	for i := range r.m.shards {
		total += r.m.shards[i].capacity
	}
	if total != DefaultRateLimitCapacity {
		t.Errorf("capacity %d, want %d", total, DefaultRateLimitCapacity)
	}
}

func BenchmarkRateLimiterAllow(b *testing.B) {
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = fmt.Sprintf("203.0.%d.%d", i/256, i%256)
	}
	r := NewRateLimiter(100, time.Minute, DefaultRateLimitCapacity, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			r.Allow(keys[i%len(keys)])
			i++
		}
	})
}
