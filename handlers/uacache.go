package handlers

import (
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/echelon-analytics/caddy-echelon/scoring"
)

// uaCache remembers what a User-Agent parses to and whether it is on the
// known-bot list. Browsers send a few hundred distinct UA strings, so
// nearly every hit finds its UA here instead of parsing (~0.5 µs) and
// matching it again. Direct-mapped with a fixed number of slots (decision
// 6): a UA landing on a taken slot replaces its entry. Entries are
// immutable and swapped atomically, so lookups take no lock.
type uaCache struct {
	once    sync.Once
	seed    maphash.Seed
	entries [uaCacheSlots]atomic.Pointer[uaEntry]
}

const uaCacheSlots = 4096

// maxCachedUA is the longest User-Agent the cache keeps (real ones are
// under 400 bytes), so it holds at most uaCacheSlots × maxCachedUA bytes of
// UA text; a longer UA is parsed on every hit.
const maxCachedUA = 512

type uaEntry struct {
	ua     string
	parsed scoring.UserAgent
	bot    bool   // the known-bot list matches ua (false without a list)
	hash   uint64 // scoring.UAHash(ua), for burst keys
}

// uaInfo returns the parse and bot match of ua, from the cache or fresh.
func (t *Tracking) uaInfo(ua string) *uaEntry {
	c := &t.uas
	c.once.Do(func() { c.seed = maphash.MakeSeed() })
	slot := &c.entries[maphash.String(c.seed, ua)%uaCacheSlots]
	if e := slot.Load(); e != nil && e.ua == ua {
		return e
	}
	e := &uaEntry{ua: ua, parsed: scoring.ParseUA(ua), hash: scoring.UAHash(ua)}
	if t.Bots != nil {
		_, e.bot = t.Bots.Match(ua)
	}
	if len(ua) <= maxCachedUA {
		slot.Store(e)
	}
	return e
}
