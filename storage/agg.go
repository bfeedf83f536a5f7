package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// aggregator keeps the counters (agg_keys.go) up to date. Every batch of
// records the writer stores passes through it: the batch's records are
// merged in memory into one delta per counter. Deltas of committed batches
// collect in dirty and are written to Badger, inside a records batch, at
// most every persistEvery (or when dirty grows large, and on Close): each
// write is O(distinct counters), and a counter key gets a new Badger
// version a few hundred times a day at most rather than once per flush,
// which keeps the scans of today's counters short. Queries add the dirty
// deltas of their site to what they read (pendingFor).
//
// Distinct visitors are exact per day: for each (site, day) it has seen it
// keeps every visitor's state (counted yet? which values counted?), in
// memory up to a budget and on disk past it (agg_visitors.go). State it
// does not have, after a restart or for an older day, is rebuilt from that
// day's stored rows, and the day's counters are re-derived from them at
// the same time, so a crash that lost dirty deltas is repaired the first
// time the day is written again. Only the two newest days of a site, and
// no day older than the day before the newest, are kept.
type aggregator struct {
	mu    sync.Mutex // held from aggregating a batch to its commit
	db    *badger.DB
	lim   *limits
	days  map[siteDay]*dayState
	cache map[string][]uint64 // stored counter values, as last read or written
	dirty map[string]*pendingDelta
	// dirtyBy indexes dirty by site, so a query of one site copies its
	// own deltas without a pass over every site's (up to dirtyCap).
	dirtyBy map[string]map[string]*pendingDelta
	// batchDays are the states holding the deltas of the batch being
	// aggregated (agg_day.go).
	batchDays []*dayState
	// touched are the days the batch has records of; their state is
	// dropped when the batch fails.
	touched map[siteDay]bool
	newest  Day // the newest day a batch had records of
	// excluded are the visitors the last maintenance run left out of
	// finished days.
	excluded map[string]struct{}
	// rolling counts, for the (site, day) a rollup re-derives without the
	// lock, the batches that have touched it since it began (rollupSite).
	rolling      map[siteDay]int
	lastPersist  time.Time
	persistEvery time.Duration
	rows         dayRowsFunc
}

// dayRowsFunc reads the stored rows of site's day; a callback returning
// false stops the read.
type dayRowsFunc func(site string, day Day, views func(*View) bool, events func(*Event) bool) error

// pendingDelta is a counter's committed change not yet written.
type pendingDelta struct {
	k ckey
	d []int64
}

type siteDay struct {
	site string
	day  Day
}

const (
	cacheCap            = 200_000
	dirtyCap            = 20_000
	defaultPersistEvery = 5 * time.Minute
)

// aggConfig configures newAggregator; zero values take the defaults.
type aggConfig struct {
	persistEvery  time.Duration
	maxValues     int   // DefaultMaxValues
	valueBudget   int   // DefaultValueBudget
	visitorMemory int64 // DefaultVisitorMemory
}

func newAggregator(db *badger.DB, cfg aggConfig, rows dayRowsFunc) *aggregator {
	lim := &limits{
		db:            db,
		valueBudget:   int64(cmpOr(cfg.valueBudget, DefaultValueBudget)),
		visitorBudget: DefaultVisitorMemory,
	}
	if cfg.visitorMemory > 0 {
		lim.visitorBudget = cfg.visitorMemory
	}
	lim.maxValues.Store(int64(cmpOr(cfg.maxValues, DefaultMaxValues)))
	lim.gen.Store(uint64(time.Now().UnixNano()))
	return &aggregator{
		db:           db,
		lim:          lim,
		days:         make(map[siteDay]*dayState),
		cache:        make(map[string][]uint64),
		dirty:        make(map[string]*pendingDelta),
		dirtyBy:      make(map[string]map[string]*pendingDelta),
		rolling:      make(map[siteDay]int),
		persistEvery: cmpOr(cfg.persistEvery, defaultPersistEvery),
		rows:         rows,
	}
}

// drop lets go of the state of sd, if held. The caller holds a.mu.
func (a *aggregator) drop(sd siteDay) {
	if st := a.days[sd]; st != nil {
		st.release()
		delete(a.days, sd)
	}
}

// batch aggregates records for wb. add is called with the aggregator's
// locked state and feeds the records; the returned done must be called with
// the outcome of the batch's commit, and releases the lock.
func (a *aggregator) batch(wb *badger.WriteBatch, add func(a *aggregator) error) (done func(ok bool), err error) {
	a.mu.Lock()
	a.touched = map[siteDay]bool{}
	fail := func() {
		a.endBatch()
		for sd := range a.touched {
			a.drop(sd)
		}
		a.mu.Unlock()
	}
	if err := add(a); err != nil {
		fail()
		return nil, err
	}
	// Visitors kept on disk are written with the batch's rows.
	for _, st := range a.batchDays {
		if err := st.spill.writeBatch(wb.Set); err != nil {
			fail()
			return nil, err
		}
	}
	a.mergeDelta()
	persist := time.Since(a.lastPersist) >= a.persistEvery || len(a.dirty) >= dirtyCap
	var written map[string][]uint64
	if persist {
		if written, err = a.writeDirty(wb); err != nil {
			a.unmergeDelta()
			fail()
			return nil, err
		}
	}
	return func(ok bool) {
		if !ok {
			a.unmergeDelta()
			fail()
			return
		}
		if persist {
			a.persisted(written)
		}
		a.endBatch()
		a.mu.Unlock()
	}, nil
}

// mergeDelta adds the batch's deltas to dirty; unmergeDelta takes them
// out again when the batch fails.
func (a *aggregator) mergeDelta() { a.addDelta(1) }

func (a *aggregator) unmergeDelta() { a.addDelta(-1) }

// pending returns the pending delta of counter k (key its encoded key),
// entered in dirty and in its site's index when new. The caller holds a.mu.
func (a *aggregator) pending(k ckey, key []byte, fields int) *pendingDelta {
	p := a.dirty[string(key)]
	if p == nil {
		p = &pendingDelta{k: k, d: make([]int64, fields)}
		a.dirty[string(key)] = p
		by := a.dirtyBy[k.site]
		if by == nil {
			by = make(map[string]*pendingDelta)
			a.dirtyBy[k.site] = by
		}
		by[string(key)] = p
	}
	return p
}

func (a *aggregator) addDelta(sign int64) {
	for _, st := range a.batchDays {
		st.deltaKeys(func(k ckey, key []byte, d []int64) {
			p := a.pending(k, key, len(d))
			for i := range d {
				p.d[i] += sign * d[i]
			}
		})
	}
}

// endBatch zeroes the batch's deltas.
func (a *aggregator) endBatch() {
	for _, st := range a.batchDays {
		st.endBatch()
	}
	clear(a.batchDays)
	a.batchDays = a.batchDays[:0]
}

// persisted records that the dirty counters were written as written.
func (a *aggregator) persisted(written map[string][]uint64) {
	if len(a.cache)+len(written) > cacheCap {
		clear(a.cache)
	}
	for k, v := range written {
		a.cache[k] = v
	}
	clear(a.dirty)
	clear(a.dirtyBy)
	a.lastPersist = time.Now()
}

// writeDirty adds the dirty deltas to the stored counters and sets the sums
// in wb; it returns the new values by key for the cache.
func (a *aggregator) writeDirty(wb *badger.WriteBatch) (map[string][]uint64, error) {
	written := make(map[string][]uint64, len(a.dirty))
	err := a.db.View(func(txn *badger.Txn) error {
		for key, p := range a.dirty {
			cur, err := a.stored(txn, key, len(p.d))
			if err != nil {
				return err
			}
			next := make([]uint64, len(p.d))
			for i := range p.d {
				// Below zero only after lost deltas; the day is re-derived
				// when its state is rebuilt.
				next[i] = uint64(max(0, int64(cur[i])+p.d[i]))
			}
			if err := wb.Set([]byte(key), appendCounts(nil, next)); err != nil {
				return err
			}
			written[key] = next
		}
		return nil
	})
	return written, err
}

// stored is a counter's stored value, from the cache or Badger.
func (a *aggregator) stored(txn *badger.Txn, key string, fields int) ([]uint64, error) {
	if cur, ok := a.cache[key]; ok {
		return cur, nil
	}
	cur := make([]uint64, fields)
	item, err := txn.Get([]byte(key))
	switch {
	case err == nil:
		err = item.Value(func(v []byte) error { return readCounts(v, cur) })
	case errors.Is(err, badger.ErrKeyNotFound):
		err = nil
	}
	return cur, err
}

// flush writes the dirty counters now (Close, maintenance).
func (a *aggregator) flush() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.flushLocked()
}

func (a *aggregator) flushLocked() error {
	if len(a.dirty) == 0 {
		return nil
	}
	wb := a.db.NewWriteBatch()
	defer wb.Cancel()
	written, err := a.writeDirty(wb)
	if err == nil {
		err = wb.Flush()
	}
	if err != nil {
		return fmt.Errorf("write counters: %w", err)
	}
	a.persisted(written)
	return nil
}

// pendingFor copies the dirty deltas of site's counters, keyed by counter
// key, for a query to add to what it reads.
func (a *aggregator) pendingFor(site string) map[string][]int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	by := a.dirtyBy[site]
	out := make(map[string][]int64, len(by))
	for key, p := range by {
		out[key] = slices.Clone(p.d)
	}
	return out
}

// pendingBySite is pendingFor of every site with dirty deltas, in one pass
// (summaries over all sites).
func (a *aggregator) pendingBySite() map[string]pending {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]pending)
	for key, p := range a.dirty {
		m := out[p.k.site]
		if m == nil {
			m = make(pending)
			out[p.k.site] = m
		}
		m[key] = slices.Clone(p.d)
	}
	return out
}

// pendingOf is pendingFor of each of sites, in one pass over the dirty
// deltas when there are several (a query over every site would otherwise
// pass over all of them once per site).
func (a *aggregator) pendingOf(sites []string) map[string]pending {
	if len(sites) == 1 {
		return map[string]pending{sites[0]: a.pendingFor(sites[0])}
	}
	return a.pendingBySite()
}

// forget drops what the aggregator holds for site's day, after the day's
// counters were rewritten from raw rows. The caller holds a.mu.
func (a *aggregator) forget(site string, day Day) {
	a.drop(siteDay{site, day})
	for key, p := range a.dirtyBy[site] {
		// Drops are no rows' counters: a rebuild keeps them (quality.go).
		if p.k.day == day && p.k.dim != dimDrops {
			delete(a.dirty, key)
			delete(a.dirtyBy[site], key)
		}
	}
	clear(a.cache)
}

// state returns the state of (site, day), rebuilding it from the stored
// rows when missing, and enters it in the batch.
func (a *aggregator) state(site string, day Day) (*dayState, error) {
	sd := siteDay{site, day}
	a.touched[sd] = true
	if n, ok := a.rolling[sd]; ok {
		a.rolling[sd] = n + 1
	}
	st := a.days[sd]
	if st == nil {
		var err error
		if st, err = a.load(site, day); err != nil {
			return nil, err
		}
	}
	if !st.inBatch {
		st.inBatch = true
		a.batchDays = append(a.batchDays, st)
	}
	return st, nil
}

// load rebuilds the visitor states of (site, day) and keeps at most two
// days per site, and none older than the day before the newest.
func (a *aggregator) load(site string, day Day) (*dayState, error) {
	// A finished day is rebuilt as the daily maintenance left it: without
	// the visitors it last excluded.
	var excluded map[string]struct{}
	if day < a.newest {
		excluded = a.excluded
	}
	if day > a.newest {
		for k := range a.days {
			if k.day < day-1 {
				a.drop(k)
			}
		}
		a.newest = day
	}
	st, err := a.build(context.Background(), site, day, excluded)
	if err != nil {
		return nil, err
	}
	if _, err := a.install(st, true); err != nil {
		st.release()
		return nil, err
	}
	for k := range a.days {
		if k.site == site && k.day < day-1 {
			a.drop(k)
		}
	}
	a.days[siteDay{site, day}] = st
	return st, nil
}
