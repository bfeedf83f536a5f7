package pow

import (
	"strings"
	"sync"
	"time"
)

// Bounded, expiring state of a Verifier. Each cache is a ring of per-tick
// maps behind its own mutex (held for a few lines). What a full cache does
// is documented on each (docs/bot-defense.md, Under hostile traffic): the replay cache
// evicts its oldest tokens, the others refuse the newcomer.

// replayCache remembers the hash of every admitted pageview token, keyed by
// the token's own bucket, for as long as that bucket is accepted: W+2 minute
// slots cover buckets now−W … now+1.
//
// Full: a token of the oldest minute held is forgotten (counted in
// evicted) and the new one admitted. Refusing newcomers instead would score
// every real visitor's fresh token as invalid for as long as a flood kept
// the cache full. A forgotten token could be replayed once more, but only
// while its minute is still accepted, and every entry a flood adds is a
// token that verified, a solved proof of work: to make the cache forget one
// token, an attacker must solve as many proofs as the cache holds
// (docs/bot-defense.md).
type replayCache struct {
	mu      sync.Mutex
	r       *ring[[16]byte, struct{}]
	window  int64
	evicted int64
}

type admission int

const (
	admitted admission = iota
	seenBefore
	tooOld // a request with a later clock already recycled the bucket's slot
)

func newReplayCache(window, limit int) *replayCache {
	return &replayCache{r: newRing[[16]byte, struct{}](window+2, limit), window: int64(window)}
}

func (c *replayCache) admit(bucket, nowBucket int64, h [16]byte) admission {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, seen := c.r.get(bucket, h); seen {
		return seenBefore
	}
	res, evicted := c.r.putEvict(bucket, nowBucket-c.window, h, struct{}{})
	if evicted {
		c.evicted++
	}
	if res == stale {
		return tooOld
	}
	return admitted
}

// Sessions and flags use five-minute ticks and stay live for six ticks after
// the one they were last written in: between 30 and 35 minutes.
const (
	tickSeconds = 300
	liveTicks   = 6
	// maxKeyLen bounds what the session and flag caches store; longer keys
	// are never stored (sessions) or ignored (flags).
	maxKeyLen = 256
)

func tickOf(t time.Time) int64 { return floorDiv(t.Unix(), tickSeconds) }

type sessionKey struct{ site, sid string }

// sessionCache holds sessions (site + sid) verified by a valid token, each
// with the visitor that proved it first (its owner); each valid pageview
// renews the session, keeping its owner.
//
// Full: the session is not recorded, so its events must carry a token that
// still verifies on its own; once that token expires they are scored.
type sessionCache struct {
	mu      sync.Mutex
	r       *ring[sessionKey, string]
	refused int64
}

func newSessionCache(limit int) *sessionCache {
	return &sessionCache{r: newRing[sessionKey, string](liveTicks+1, limit)}
}

// mark records (site, sid) as verified at now, owned by visitor unless it
// already has an owner. A pageview (renew) moves a verified session to
// now's tick, so it lives on; an event batch (not renew) only verifies a
// session that is not verified yet.
func (c *sessionCache) mark(site, sid, visitor string, now time.Time, renew bool) {
	if len(site)+len(sid)+len(visitor) > maxKeyLen {
		return
	}
	tick := tickOf(now)
	k := sessionKey{site, sid}
	c.mu.Lock()
	defer c.mu.Unlock()
	owner, age, ok := c.findLocked(tick, k)
	switch {
	case ok && (age == 0 || !renew):
		return
	case !ok:
		owner = strings.Clone(visitor)
	}
	// Clone so the cache does not pin the request that carried the strings.
	k = sessionKey{strings.Clone(site), strings.Clone(sid)}
	if c.r.put(tick, tick-liveTicks, k, owner) == full {
		c.refused++
	}
}

// owner returns the visitor that proved (site, sid), if it is verified.
func (c *sessionCache) owner(site, sid string, now time.Time) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	owner, _, ok := c.findLocked(tickOf(now), sessionKey{site, sid})
	return owner, ok
}

// findLocked returns k's owner and how many ticks before tick it was last
// marked, if it is live.
func (c *sessionCache) findLocked(tick int64, k sessionKey) (owner string, age int64, ok bool) {
	for age = range int64(liveTicks + 1) {
		if owner, ok = c.r.get(tick-age, k); ok {
			return owner, age, true
		}
	}
	return "", 0, false
}

// flagCache counts how often a visitor hash was flagged in the last 30–35
// minutes.
//
// Full: the new flag is not recorded, and every visitor is treated as
// flagged once for the next 35 minutes, so difficulty rises for all rather
// than dropping for someone who was flagged.
type flagCache struct {
	mu             sync.Mutex
	r              *ring[string, int]
	saturatedUntil int64 // tick after which the fail-closed mode ends
}

func newFlagCache(limit int) *flagCache {
	return &flagCache{r: newRing[string, int](liveTicks+1, limit), saturatedUntil: -1 << 62}
}

func (c *flagCache) flag(visitor string, now time.Time) {
	if visitor == "" || len(visitor) > maxKeyLen {
		return
	}
	tick := tickOf(now)
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.r.get(tick, visitor)
	if !ok {
		visitor = strings.Clone(visitor)
	}
	if c.r.put(tick, tick-liveTicks, visitor, n+1) == full {
		c.saturatedUntil = tick + liveTicks
	}
}

// count returns the flags of visitor still live, at least 1 while the cache
// is saturated.
func (c *flagCache) count(visitor string, now time.Time) int {
	tick := tickOf(now)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.r.len() == 0 && tick > c.saturatedUntil {
		return 0
	}
	total := 0
	if visitor != "" {
		for i := range int64(liveTicks + 1) {
			n, _ := c.r.get(tick-i, visitor)
			total += n
		}
	}
	if total == 0 && tick <= c.saturatedUntil {
		total = 1
	}
	return total
}
