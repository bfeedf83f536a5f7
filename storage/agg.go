package storage

import (
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
// keeps every visitor's state (counted yet? which values counted?) in
// memory. State it does not have, after a restart or for an older day, is
// rebuilt from that day's stored rows, and the day's counters are
// re-derived from them at the same time, so a crash that lost dirty deltas
// is repaired the first time the day is written again. Only the two newest
// days of a site are kept.
type aggregator struct {
	mu    sync.Mutex // held from aggregating a batch to its commit
	db    *badger.DB
	days  map[siteDay]*dayState
	cache map[string][]uint64 // stored counter values, as last read or written
	dirty map[string]*pendingDelta
	// batchDays are the states holding the deltas of the batch being
	// aggregated (agg_day.go).
	batchDays []*dayState
	// touched are the days the batch has records of; their state is
	// dropped when the batch fails.
	touched map[siteDay]bool
	newest  Day // the newest day a batch had records of
	// excluded are the visitors the last maintenance run left out of
	// finished days.
	excluded     map[string]struct{}
	lastPersist  time.Time
	persistEvery time.Duration
	rows         func(site string, day Day, views func(*View), events func(*Event)) error
}

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

func newAggregator(db *badger.DB, persistEvery time.Duration, rows func(string, Day, func(*View), func(*Event)) error) *aggregator {
	return &aggregator{
		db:           db,
		days:         make(map[siteDay]*dayState),
		cache:        make(map[string][]uint64),
		dirty:        make(map[string]*pendingDelta),
		persistEvery: cmpOr(persistEvery, defaultPersistEvery),
		rows:         rows,
	}
}

// batch aggregates records for wb. add is called with the aggregator's
// locked state and feeds the records; the returned done must be called with
// the outcome of the batch's commit, and releases the lock.
func (a *aggregator) batch(wb *badger.WriteBatch, add func(a *aggregator) error) (done func(ok bool), err error) {
	a.mu.Lock()
	a.touched = map[siteDay]bool{}
	fail := func() {
		for sd := range a.touched {
			delete(a.days, sd)
		}
		a.endBatch()
		a.mu.Unlock()
	}
	if err := add(a); err != nil {
		fail()
		return nil, err
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

func (a *aggregator) addDelta(sign int64) {
	for _, st := range a.batchDays {
		st.deltaKeys(func(k ckey, key []byte, d []int64) {
			p := a.dirty[string(key)]
			if p == nil {
				p = &pendingDelta{k: k, d: make([]int64, len(d))}
				a.dirty[string(key)] = p
			}
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
	out := make(map[string][]int64)
	for key, p := range a.dirty {
		if p.k.site == site {
			out[key] = slices.Clone(p.d)
		}
	}
	return out
}

// forget drops what the aggregator holds for site's day, after the day's
// counters were rewritten from raw rows. The caller holds a.mu.
func (a *aggregator) forget(site string, day Day) {
	delete(a.days, siteDay{site, day})
	for key, p := range a.dirty {
		if p.k.site == site && p.k.day == day {
			delete(a.dirty, key)
		}
	}
	clear(a.cache)
}

// state returns the state of (site, day), rebuilding it from the stored
// rows when missing, and enters it in the batch.
func (a *aggregator) state(site string, day Day) (*dayState, error) {
	sd := siteDay{site, day}
	a.touched[sd] = true
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
// days per site.
func (a *aggregator) load(site string, day Day) (*dayState, error) {
	// A finished day is rebuilt as the daily maintenance left it: without
	// the visitors it last excluded.
	var excluded map[string]struct{}
	if day < a.newest {
		excluded = a.excluded
	}
	a.newest = max(a.newest, day)
	st, _, err := a.rederive(site, day, excluded, true)
	if err != nil {
		return nil, err
	}
	for k := range a.days {
		if k.site == site && k.day < day-1 {
			delete(a.days, k)
		}
	}
	a.days[siteDay{site, day}] = st
	return st, nil
}

// rederive computes the counters of site's day from its stored rows
// (skipping the visitors excluded, if set), replaces the stored ones with
// them (without minute counters unless minutes) and returns the day's
// visitor states and the number of counters written. The caller holds a.mu.
func (a *aggregator) rederive(site string, day Day, excluded map[string]struct{}, minutes bool) (*dayState, int, error) {
	st := newDayState(site, day)
	skip := func(visitor string) bool {
		_, ok := excluded[visitor]
		return ok && visitor != ""
	}
	err := a.rows(site, day, func(v *View) {
		if skip(v.VisitorID) {
			st.viewRow(v)
		} else {
			st.view(v)
		}
	}, func(e *Event) {
		if skip(e.VisitorID) {
			st.eventRow(e)
		} else {
			st.event(e)
		}
	})
	if err != nil {
		return nil, 0, err
	}
	a.forget(site, day)
	if err := deleteDayCounters(a.db, site, day); err != nil {
		return nil, 0, err
	}
	wb := a.db.NewWriteBatch()
	defer wb.Cancel()
	n := 0
	var setErr error
	st.deltaKeys(func(k ckey, key []byte, d []int64) {
		if k.dim == dimMinute && !minutes || setErr != nil {
			return
		}
		vals := make([]uint64, len(d))
		for i := range d {
			vals[i] = uint64(max(0, d[i]))
		}
		setErr = wb.Set(slices.Clone(key), appendCounts(nil, vals))
		n++
	})
	if setErr != nil {
		return nil, 0, setErr
	}
	if err := wb.Flush(); err != nil {
		return nil, 0, err
	}
	st.endBatch()
	return st, n, nil
}
