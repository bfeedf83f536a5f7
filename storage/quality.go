package storage

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Traffic quality (docs/bot-defense.md): per site and day, how many clean
// views carried a valid proof of work (tVerified in the totals), and the
// hits kept out of the clean statistics by reason:
//
//   - dimQuality counts the stored rows scoring 50 or more (and the rows of
//     visitors excluded after they were stored), by the reason rowReason
//     reads from the row. It is derived from the rows like every other
//     counter, so rebuilds and rollups keep it right.
//   - dimDrops counts the hits that were never stored (known bot, rate
//     limit, excluded visitor, discard threshold), which no row can
//     rebuild: rebuilds leave it alone. Handlers count them in memory
//     without a lock (CountDrop); the writer folds the counts into the
//     counters' pending deltas at each flush, so they are written with
//     the other counters.
//
// Both have the value "" and the fields reason×2 + (0 views, 1 events).
// Reasons are a fixed set: append only.

// Reason is why a hit was kept out of the clean statistics.
type Reason uint8

const (
	ReasonKnownUA     Reason = iota // known-bot User-Agent, automation brand or navigator.webdriver
	ReasonRateLimited               // over the per-address rate limit
	ReasonPoWMissing                // no proof-of-work token
	ReasonPoWInvalid                // a token that does not verify
	ReasonPoWExpired                // a token that verifies but is older than the window
	ReasonPoWReplayed               // a pageview token seen before
	ReasonThreshold                 // other signals reached the bot line
	ReasonExcluded                  // an excluded visitor
	ReasonCorrelator                // raised by the correlator
	NumReasons
)

var reasonNames = [NumReasons]string{
	"known_ua", "rate_limited", "pow_missing", "pow_invalid", "pow_expired",
	"pow_replayed", "threshold", "excluded", "correlator",
}

func (r Reason) String() string {
	if r >= NumReasons {
		return fmt.Sprintf("reason(%d)", r)
	}
	return reasonNames[r]
}

// Reasons returns every reason, in order.
func Reasons() []Reason {
	out := make([]Reason, NumReasons)
	for i := range out {
		out[i] = Reason(i)
	}
	return out
}

// ProofReason is the reason of a proof-of-work result that is not valid,
// by the name a score records under "pow_result" (scoring.PoWResult:
// "missing", "invalid", "expired", "replayed"); ok is false for "valid",
// "" and anything else.
func ProofReason(result string) (Reason, bool) {
	switch result {
	case "missing":
		return ReasonPoWMissing, true
	case "invalid":
		return ReasonPoWInvalid, true
	case "expired":
		return ReasonPoWExpired, true
	case "replayed":
		return ReasonPoWReplayed, true
	}
	return 0, false
}

const qualityFields = 2 * int(NumReasons)

// powResultKey opens the proof-of-work result in a score detail.
const powResultKey = `"pow_result":"`

// proofResult reads the proof-of-work result of a score detail ("" when
// the detail has none).
func proofResult(detail string) string {
	i := strings.Index(detail, powResultKey)
	if i < 0 {
		return ""
	}
	rest := detail[i+len(powResultKey):]
	if j := strings.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return ""
}

// proofValid reports whether a score detail records a valid proof of work.
func proofValid(detail string) bool {
	return strings.Contains(detail, powResultKey+`valid"`)
}

// rowReason is why a stored row scoring 50 or more is a bot's: a raise by
// the correlator first (the row was clean before it), then a proof of
// work that did not pass, else the other signals.
func rowReason(detail string) Reason {
	if HasDetailKey(detail, "correlated") {
		return ReasonCorrelator
	}
	if r, ok := ProofReason(proofResult(detail)); ok {
		return r
	}
	return ReasonThreshold
}

// dropCounts are one site's hits not stored since the last drain, by
// reason and kind (0 views, 1 events).
type dropCounts [NumReasons][2]atomic.Uint64

// dropTable holds the drop counts by site as the requests named it, read
// without a lock; a site's counts are added once, on its first drop, for
// at most maxDropSites sites (the rest count under OtherSite at once). A
// drain attributes each site's counts to it if it is registered by then,
// else to OtherSite, as its rows would be.
type dropTable struct {
	mu    sync.Mutex // serialises additions
	sites atomic.Pointer[map[string]*dropCounts]
	other dropCounts
}

// maxDropSites bounds the sites with counts of their own: the registered
// ones and as many again that bots named.
const maxDropSites = 2 * DefaultMaxSites

// CountDrop counts n hits of site (as the request named it) that were not
// stored, for the traffic-quality counters. It takes no lock but on a
// site's first drop.
func (s *Store) CountDrop(site string, r Reason, event bool, n int) {
	if r >= NumReasons || n <= 0 {
		return
	}
	c := s.dropsOf(site)
	kind := 0
	if event {
		kind = 1
	}
	c[r][kind].Add(uint64(n))
}

func (s *Store) dropsOf(site string) *dropCounts {
	t := &s.drops
	if m := t.sites.Load(); m != nil {
		if c := (*m)[site]; c != nil {
			return c
		}
	}
	if site == OtherSite {
		return &t.other
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.sites.Load()
	if old != nil {
		if c := (*old)[site]; c != nil {
			return c
		}
		if len(*old) >= max(maxDropSites, 2*int(s.sites.max.Load())) {
			return &t.other
		}
	}
	next := make(map[string]*dropCounts, 1)
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	c := new(dropCounts)
	next[site] = c
	t.sites.Store(&next)
	return c
}

// drainDrops moves the drop counts into the pending counter deltas of day
// (the writer calls it at every flush).
func (s *Store) drainDrops(day Day) error {
	sum := map[string][]int64{}
	take := func(site string, c *dropCounts) {
		if site != OtherSite && !s.sites.has(site) {
			site = OtherSite
		}
		for r := range c {
			for k := range c[r] {
				if n := c[r][k].Swap(0); n > 0 {
					d := sum[site]
					if d == nil {
						d = make([]int64, qualityFields)
						sum[site] = d
					}
					d[2*r+k] += int64(n)
				}
			}
		}
	}
	if m := s.drops.sites.Load(); m != nil {
		for site, c := range *m {
			take(site, c)
		}
	}
	take(OtherSite, &s.drops.other)
	if len(sum) == 0 {
		return nil
	}
	a := s.agg
	a.mu.Lock()
	defer a.mu.Unlock()
	for site, d := range sum {
		a.addPending(ckey{site: site, day: day, dim: dimDrops}, d)
	}
	if time.Since(a.lastPersist) >= a.persistEvery || len(a.dirty) >= dirtyCap {
		return a.flushLocked()
	}
	return nil
}

// addPending adds d to the pending delta of counter k. The caller holds
// a.mu.
func (a *aggregator) addPending(k ckey, d []int64) {
	p := a.pending(k, appendCounterKey(nil, &k), len(d))
	for i := range d {
		p.d[i] += d[i]
	}
}

// DayQuality is one day of a site's traffic quality.
type DayQuality struct {
	Day Day
	// Views are the clean views, Verified those of them that carried a
	// valid proof of work, BotViews the stored views scoring 50 or more.
	Views, Verified, BotViews uint64
	// Filtered counts the hits kept out of the clean statistics, stored
	// or not, by reason: [reason][0 views, 1 events].
	Filtered [NumReasons][2]uint64
}

// Quality reads site's traffic quality for the days [today−days, today],
// as Overview counts them, oldest first, pending changes (and drops not
// yet drained) included.
func (s *Store) Quality(site string, days int, now time.Time) ([]DayQuality, error) {
	to := DayOf(now)
	from := to - Day(max(days, 0))
	out := make([]DayQuality, 0, days+1)
	p := pending(s.agg.pendingFor(site))
	err := s.db.View(func(txn *badger.Txn) error {
		tot := make([]uint64, totalFields)
		q := make([]uint64, qualityFields)
		for d := from; d <= to; d++ {
			dq := DayQuality{Day: d}
			if err := dayCounts(txn, p, site, d, dimTotal, tot); err != nil {
				return err
			}
			dq.Views, dq.Verified, dq.BotViews = tot[tViews], tot[tVerified], tot[tBotViews]
			for _, dim := range [2]byte{dimQuality, dimDrops} {
				if err := dayCounts(txn, p, site, d, dim, q); err != nil {
					return err
				}
				for i, n := range q {
					dq.Filtered[i/2][i%2] += n
				}
			}
			out = append(out, dq)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("quality of %s: %w", site, err)
	}
	if to == DayOf(time.Now()) {
		s.addUndrained(site, &out[len(out)-1])
	}
	return out, nil
}

// addUndrained adds the drops of site not yet drained to dq: its own
// once registered; for OtherSite, those of every site that is not.
func (s *Store) addUndrained(site string, dq *DayQuality) {
	add := func(c *dropCounts) {
		for r := range c {
			for k := range c[r] {
				dq.Filtered[r][k] += c[r][k].Load()
			}
		}
	}
	m := s.drops.sites.Load()
	if site != OtherSite {
		if m != nil && (*m)[site] != nil && s.sites.has(site) {
			add((*m)[site])
		}
		return
	}
	add(&s.drops.other)
	if m != nil {
		for x, c := range *m {
			if !s.sites.has(x) {
				add(c)
			}
		}
	}
}
