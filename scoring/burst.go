package scoring

import (
	"hash/maphash"
	"math"
	"time"
)

// Burst detection (the burst signal of docs/bot-defense.md).
const (
	// BurstWindow is the fixed window a key's first hit opens.
	BurstWindow = 5 * time.Minute
	// BurstThreshold is the most hits a window may hold without the burst
	// signal: the 16th and later hits score.
	BurstThreshold = 15
	// DefaultBurstCapacity is the number of keys a Burst holds when
	// NewBurst is given no capacity.
	DefaultBurstCapacity = 100_000
)

// Burst counts tracking hits per visitor key in fixed windows of
// BurstWindow, for the burst signal (Input.Burst).
//
// The key is BurstKeyOf(IPKey(ip, salt), UAHash(ua)): per IP and User-Agent, so one
// office NAT or CGNAT address is not one counter for everybody behind it
// while a script that keeps its UA still adds up. The count resets with
// the daily salt.
//
// Memory is bounded: at most capacity keys, about 28 bytes each (2.8 MB
// for the default), dropped in O(1) as their windows end (see fifoMap).
// When the map is full of windows that have not ended, a new key evicts
// one (counted, Evictions) instead of being scored as guilty: otherwise a
// flood of fresh keys would give every real visitor the burst points. The
// victim is the oldest key that is not bursting, among the 16 oldest; a
// key past BurstThreshold is evicted only when all 16 are bursting. So to
// make the map forget a bursting client within its window, a flood must
// first push out every calmer key held before it and then outnumber it
// with bursting keys of its own, 16 hits each (docs/bot-defense.md).
//
// Safe for concurrent use; the zero value is not usable, nil counts
// nothing.
type Burst struct {
	base time.Time // times are stored as offsets from base
	seed maphash.Seed
	m    fifoMap
}

// NewBurst returns a Burst holding at most capacity keys
// (DefaultBurstCapacity if capacity <= 0).
func NewBurst(capacity int) *Burst {
	if capacity <= 0 {
		capacity = DefaultBurstCapacity
	}
	return &Burst{base: time.Now(), seed: maphash.MakeSeed(), m: newFIFOMap(capacity)}
}

// bursting shields a key from eviction while its window holds more than
// BurstThreshold hits.
func bursting(count int32) bool { return count > BurstThreshold }

// Hit counts one hit for key at now (a pageview beacon that passed the
// gates) and returns the key's count in its window, this hit included.
// now should come from the same clock on every call, normally time.Now.
func (b *Burst) Hit(key uint64, now time.Time) int {
	if b == nil {
		return 0
	}
	t, h, sh := b.lock(key, now)
	defer sh.mu.Unlock()
	if slot, p := sh.find(h); p >= 0 {
		expires, count := sh.at(p)
		if t < expires {
			if count < math.MaxInt32 {
				count++
				sh.setCount(p, count)
			}
			return int(count)
		}
		sh.requeue(slot, p, h, t, t+int64(BurstWindow), 1)
		return 1
	}
	sh.insertEvict(h, t, t+int64(BurstWindow), 1, bursting)
	return 1
}

// Count returns key's count in its current window without adding a hit
// (an event batch), 0 if it has none.
func (b *Burst) Count(key uint64, now time.Time) int {
	if b == nil {
		return 0
	}
	t, h, sh := b.lock(key, now)
	defer sh.mu.Unlock()
	if _, p := sh.find(h); p >= 0 {
		if expires, count := sh.at(p); t < expires {
			return int(count)
		}
		return 0
	}
	return 0
}

// Evictions returns how many keys were dropped before their window ended
// to make room for new ones.
func (b *Burst) Evictions() uint64 {
	if b == nil {
		return 0
	}
	return b.m.evictions()
}

// Len returns the number of keys held, including expired ones not yet
// dropped. It never exceeds the capacity.
func (b *Burst) Len() int {
	if b == nil {
		return 0
	}
	return b.m.len()
}

// UAHash is the FNV-1a hash of a User-Agent for BurstKeyOf. Hashing a UA
// byte by byte is most of a burst key's cost, so a caller that sees the
// same UAs over and over (the handlers' UA cache) keeps it.
func UAHash(ua string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(ua); i++ {
		h = (h ^ uint64(ua[i])) * fnvPrime
	}
	return h
}

// BurstKeyOf combines a client's IP key (IPKey) and the UAHash of its
// User-Agent into a Burst key: FNV-1a over the IP key, then the UA hash.
// The IP key is already a secret-keyed hash, so a plain FNV-1a is enough
// here: nobody can aim a UA at another client's counter without knowing
// that client's IP key.
func BurstKeyOf(ip [16]byte, uaHash uint64) uint64 {
	h := uint64(fnvOffset)
	for _, c := range ip {
		h = (h ^ uint64(c)) * fnvPrime
	}
	for i := 0; i < 8; i++ {
		h = (h ^ uaHash&0xff) * fnvPrime
		uaHash >>= 8
	}
	return h
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// lock finds key's shard and locks it; the caller unlocks. t is now on the
// map's clock and h the key's hash.
func (b *Burst) lock(key uint64, now time.Time) (t int64, h uint64, sh *fifoShard) {
	t = int64(now.Sub(b.base))
	h = maphash.Comparable(b.seed, key)
	sh = b.m.shard(h)
	sh.mu.Lock()
	return t, h, sh
}
