package scoring

import (
	"hash/maphash"
	"sync"
	"time"
)

// DefaultRateLimitCapacity is the number of keys a RateLimiter holds when
// NewRateLimiter is given no capacity. It is the key count at which the
// reference starts sweeping on every request.
const DefaultRateLimitCapacity = 200_000

const maxRateLimitShards = 16

// RateLimiter counts hits per key (the client IP) in fixed windows
// (bot-defense.md §3): the first hit for a key, or the first after its
// window ended, opens a window of the configured length; up to max hits in
// it pass and later ones are limited until it ends.
//
// Memory is bounded (spec decision 6). Keys live in shards, each a map
// plus a list of entries in the order their windows opened. All windows
// have the same length, so the head of the list always expires first:
// expired entries are evicted from the head in O(1) each, a few per new
// key. When a shard is full and its head has not expired, a new key is
// limited (fail closed) rather than admitted or tracked.
//
// The clock is injected; it should not run backwards (with time.Now it
// does not, through its monotonic reading). Safe for concurrent use.
type RateLimiter struct {
	max    int
	window time.Duration
	now    func() time.Time
	base   time.Time // times are stored as offsets from base
	seed   maphash.Seed
	shards []rateShard
}

type rateShard struct {
	mu         sync.Mutex
	capacity   int
	index      map[string]int32 // key → entries slot
	entries    []rateEntry
	head, tail int32 // oldest and newest window; -1 when empty
	free       int32 // singly linked through next; -1 when none
	_          [64]byte
}

type rateEntry struct {
	key        string
	expires    time.Duration // since base
	count      int32
	prev, next int32
}

// evictPerInsert bounds how many expired entries one new key sweeps, so no
// single request pays for a long quiet period.
const evictPerInsert = 4

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
	if r.disabled() {
		return r
	}
	n := min(maxRateLimitShards, capacity)
	r.shards = make([]rateShard, n)
	for i := range r.shards {
		sh := &r.shards[i]
		sh.capacity = capacity / n
		if i < capacity%n {
			sh.capacity++
		}
		sh.index = make(map[string]int32)
		sh.head, sh.tail, sh.free = -1, -1, -1
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
	now := r.now().Sub(r.base)
	sh := &r.shards[maphash.String(r.seed, key)%uint64(len(r.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()

	if i, found := sh.index[key]; found {
		e := &sh.entries[i]
		if now < e.expires {
			if int(e.count) >= r.max {
				return false, e.expires - now
			}
			e.count++
			return true, 0
		}
		// The window is over: reopen it. It now expires last.
		e.expires, e.count = now+r.window, 1
		sh.unlink(i)
		sh.pushBack(i)
		return true, 0
	}

	for n := 0; n < evictPerInsert && sh.head >= 0 && sh.entries[sh.head].expires <= now; n++ {
		sh.remove(sh.head)
	}
	if len(sh.index) >= sh.capacity {
		return false, sh.entries[sh.head].expires - now
	}
	i := sh.alloc()
	sh.entries[i] = rateEntry{key: key, expires: now + r.window, count: 1}
	sh.index[key] = i
	sh.pushBack(i)
	return true, 0
}

// Len returns the number of keys held, including expired ones not yet
// evicted. It never exceeds the capacity.
func (r *RateLimiter) Len() int {
	if r == nil {
		return 0
	}
	n := 0
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		n += len(sh.index)
		sh.mu.Unlock()
	}
	return n
}

func (sh *rateShard) alloc() int32 {
	if i := sh.free; i >= 0 {
		sh.free = sh.entries[i].next
		return i
	}
	sh.entries = append(sh.entries, rateEntry{})
	return int32(len(sh.entries) - 1)
}

func (sh *rateShard) remove(i int32) {
	delete(sh.index, sh.entries[i].key)
	sh.unlink(i)
	sh.entries[i] = rateEntry{next: sh.free}
	sh.free = i
}

func (sh *rateShard) unlink(i int32) {
	e := &sh.entries[i]
	if e.prev >= 0 {
		sh.entries[e.prev].next = e.next
	} else {
		sh.head = e.next
	}
	if e.next >= 0 {
		sh.entries[e.next].prev = e.prev
	} else {
		sh.tail = e.prev
	}
	e.prev, e.next = -1, -1
}

func (sh *rateShard) pushBack(i int32) {
	e := &sh.entries[i]
	e.prev, e.next = sh.tail, -1
	if sh.tail >= 0 {
		sh.entries[sh.tail].next = i
	} else {
		sh.head = i
	}
	sh.tail = i
}
