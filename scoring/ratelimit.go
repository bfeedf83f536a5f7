package scoring

import (
	"hash/maphash"
	"math"
	"time"
)

// DefaultRateLimitCapacity is the number of keys a RateLimiter holds when
// NewRateLimiter is given no capacity.
const DefaultRateLimitCapacity = 200_000

// RateLimiter counts hits per key (the client IP) in fixed windows
// (docs/bot-defense.md, The gates): the first hit for a key, or the first
// after its window ended, opens a window of the configured length; up to max
// hits in it pass and later ones are limited until it ends.
//
// Memory is bounded (docs/bot-defense.md, Under hostile traffic): keys are held as seeded 64-bit
// hashes in a fifoMap, about 28 bytes each at capacity, so the module's
// 1<<20 keys take under 32 MB. Every window has the same length, so the
// oldest window always ends first and expired keys are dropped from the
// front of a queue in O(1), a few per new key. When the map is full and its
// oldest window has not ended, a new key is limited (fail closed) rather
// than admitted untracked.
//
// The clock is injected; it should not run backwards (with time.Now it
// does not, through its monotonic reading). Safe for concurrent use.
type RateLimiter struct {
	max    int
	window time.Duration
	now    func() time.Time
	base   time.Time // times are stored as offsets from base
	seed   maphash.Seed
	m      fifoMap
}

// NewRateLimiter returns a limiter allowing max hits per key per window,
// holding at most capacity keys (DefaultRateLimitCapacity if capacity <=
// 0). max <= 0 or window <= 0 disables it: Allow always succeeds. now is
// the clock (time.Now if nil).
func NewRateLimiter(max int, window time.Duration, capacity int, now func() time.Time) *RateLimiter {
	if now == nil {
		now = time.Now
	}
	if capacity <= 0 {
		capacity = DefaultRateLimitCapacity
	}
	r := &RateLimiter{max: max, window: window, now: now, base: now(), seed: maphash.MakeSeed()}
	if !r.disabled() {
		r.m = newFIFOMap(capacity)
	}
	return r
}

func (r *RateLimiter) disabled() bool { return r.max <= 0 || r.window <= 0 }

// Allow records a hit for key and reports whether it may pass. When it may
// not, retryAfter is the time until the key's window ends, or, for a new
// key refused because the limiter is full, until the oldest held window
// ends. A disabled or nil limiter always allows.
func (r *RateLimiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	if r == nil || r.disabled() {
		return true, 0
	}
	now := int64(r.now().Sub(r.base))
	h := maphash.String(r.seed, key)
	sh := r.m.shard(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()

	if slot, p := sh.find(h); p >= 0 {
		expires, count := sh.at(p)
		if now < expires {
			if int(count) >= r.max {
				return false, time.Duration(expires - now)
			}
			if count < math.MaxInt32 {
				sh.setCount(p, count+1)
			}
			return true, 0
		}
		// The window is over: reopen it. It now ends last.
		sh.requeue(slot, p, h, now, now+int64(r.window), 1)
		return true, 0
	}
	if !sh.insert(h, now, now+int64(r.window), 1) {
		return false, time.Duration(sh.headExpires() - now)
	}
	return true, 0
}

// Len returns the number of keys held, including expired ones not yet
// evicted. It never exceeds the capacity.
func (r *RateLimiter) Len() int {
	if r == nil {
		return 0
	}
	return r.m.len()
}
