package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
)

// OtherSite is the site that records of unregistered sites are stored
// under. It is not a valid site id (ValidSiteID), so no beacon can name
// it, and it does not count towards the cap on sites.
const OtherSite = "(other)"

// DefaultMaxSites is the cap on registered sites when Options.MaxSites is
// not set.
const DefaultMaxSites = 1000

// siteRegistry is the set of site ids that have rows. Ids are unique per
// table, not per site, and a row key needs the site, so a read by id tries
// the row key of each registered site. Every site has a meta key
// (siteMetaKey), written before its first record and never deleted; Open
// loads them. The set is small, read without locks and replaced whole when
// a site is added.
//
// Every per-site cost of the store (the aggregator's day states, the
// correlator's sweep, the summary, the daily rollup and purge) grows with
// this set, and a beacon can name any site id, so registration is bounded
// (place): a site is registered by its first clean record (score below
// 50, or an ingested one), never by a bot's, and only while fewer than max
// sites are registered. Records of sites that are not registered are
// stored under OtherSite.
type siteRegistry struct {
	mu  sync.Mutex // serialises registrations
	set atomic.Pointer[siteSet]
	max atomic.Int64 // registrations stop at this many sites (OtherSite aside)
	// use is read-held by a write from its placement to its commit, and
	// held by unregister, so no row is stored under a site being dropped.
	use sync.RWMutex
}

type siteSet struct {
	has  map[string]bool
	list []string
	// free are registered sites that do not count towards the cap:
	// OtherSite, and sites found at Open without a clean count (bots
	// registered them under earlier versions; they leave when their rows
	// expire, unregisterIdle).
	free map[string]bool
	n    int // registered sites that count towards the cap
}

// all returns the registered sites. The slice is shared: do not modify it.
func (r *siteRegistry) all() []string {
	if set := r.set.Load(); set != nil {
		return set.list
	}
	return nil
}

// has reports whether site is registered.
func (r *siteRegistry) has(site string) bool {
	set := r.set.Load()
	return set != nil && set.has[site]
}

// add registers sites in memory, after their meta keys are stored; the
// sites free reports true for do not count towards the cap (nil: none but
// OtherSite).
func (r *siteRegistry) add(sites []string, free func(string) bool) {
	if len(sites) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addLocked(sites, free)
}

func (r *siteRegistry) addLocked(sites []string, free func(string) bool) {
	old := r.set.Load()
	next := &siteSet{has: make(map[string]bool), free: make(map[string]bool)}
	if old != nil {
		for s := range old.has {
			next.has[s] = true
		}
		for s := range old.free {
			next.free[s] = true
		}
		next.list = slices.Clone(old.list)
		next.n = old.n
	}
	for _, s := range sites {
		if next.has[s] {
			continue
		}
		next.has[s] = true
		next.list = append(next.list, s)
		if s == OtherSite || free != nil && free(s) {
			next.free[s] = true
		} else {
			next.n++
		}
	}
	r.set.Store(next)
}

// siteOf is what place needs of one record: its site (which place may
// change to OtherSite) and whether it is clean.
type siteOf func(i int) (site *string, clean bool)

// place decides the site each of n records is stored under: its own if it
// is registered, or registered now by this clean record while there is
// room; OtherSite otherwise. New registrations are stored (one small
// transaction) before the records that need them, so a stored row always
// has its site registered, and the decision sticks: a retried batch finds
// the site registered or its records already moved.
func (s *Store) place(n int, rec siteOf) error {
	set := s.sites.set.Load()
	var fresh []string // unregistered sites with a clean record, in order
	var seen map[string]bool
	unregistered, known := false, false
	prev := ""
	for i := range n {
		site, clean := rec(i)
		if i == 0 || *site != prev {
			prev = *site
			known = set != nil && set.has[prev]
			unregistered = unregistered || !known
		}
		if !known && clean && !seen[prev] {
			if seen == nil {
				seen = map[string]bool{}
			}
			seen[prev] = true
			fresh = append(fresh, prev)
		}
	}
	if !unregistered {
		return nil
	}
	if err := s.register(fresh); err != nil {
		return err
	}
	set = s.sites.set.Load()
	other := false
	for i := range n {
		if site, _ := rec(i); set == nil || !set.has[*site] {
			*site, other = OtherSite, true
		}
	}
	if other && (set == nil || !set.has[OtherSite]) {
		return s.register([]string{OtherSite})
	}
	return nil
}

// register stores and registers the sites of fresh that fit under the cap,
// in order; OtherSite is always registered when asked for.
func (s *Store) register(fresh []string) error {
	r := &s.sites
	r.mu.Lock()
	defer r.mu.Unlock()
	set := r.set.Load()
	n := 0
	if set != nil {
		n = set.n
	}
	var add []string
	room := int(r.max.Load()) - n
	for _, site := range fresh {
		switch {
		case set != nil && set.has[site]:
		case site == OtherSite:
			add = append(add, site)
		case room > 0:
			add = append(add, site)
			room--
		}
	}
	if len(add) == 0 {
		return nil
	}
	err := s.db.Update(func(txn *badger.Txn) error {
		for _, site := range add {
			if err := txn.Set(siteMetaKey(site), nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("register sites: %w", err)
	}
	r.addLocked(add, nil)
	return nil
}

// unregisterIdle drops site from the registry if it holds no rows and its
// counters never counted a clean view or event: a site only bots named,
// which earlier versions registered. The daily purge calls it after
// deleting a site's expired rows, so such a site leaves the registry (and
// stops counting towards max_sites) once its bot rows are past retention.
// Its remaining counters (bot views) go with it.
func (s *Store) unregisterIdle(site string) (bool, error) {
	if site == OtherSite {
		return false, nil
	}
	r := &s.sites
	r.use.Lock()
	defer r.use.Unlock()
	idle, err := s.siteIdle(site)
	if err != nil || !idle {
		return false, err
	}
	a := s.agg
	a.mu.Lock()
	for sd := range a.days {
		if sd.site == site {
			a.forget(sd.site, sd.day)
		}
	}
	for key := range a.dirtyBy[site] {
		delete(a.dirty, key)
	}
	delete(a.dirtyBy, site)
	a.mu.Unlock()
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete(siteMetaKey(site)) }); err != nil {
		return false, err
	}
	r.mu.Lock()
	old := r.set.Load()
	next := &siteSet{has: make(map[string]bool, len(old.has)), free: make(map[string]bool), n: old.n}
	for _, x := range old.list {
		switch {
		case x == site && !old.free[x]:
			next.n--
		case x != site:
			next.has[x] = true
			next.free[x] = old.free[x]
			next.list = append(next.list, x)
		}
	}
	r.set.Store(next)
	r.mu.Unlock()
	return true, deletePrefix(s.db, siteCounterPrefix(site), nil)
}

// siteIdle reports whether site has no rows and no clean count in its
// daily totals. The caller holds sites.use.
func (s *Store) siteIdle(site string) (bool, error) {
	idle := true
	err := s.db.View(func(txn *badger.Txn) error {
		for _, table := range []byte{tableViews, tableEvents, tableImportedViews, tableImportedEvents} {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: sitePrefix(table, site)})
			it.Rewind()
			rows := it.Valid()
			it.Close()
			if rows {
				idle = false
				return nil
			}
		}
		clean, err := countedClean(txn, site)
		idle = !clean
		return err
	})
	return idle, err
}

// countedClean reports whether site's daily totals count a clean view or
// event (an ingested one included) on any day kept.
func countedClean(txn *badger.Txn, site string) (bool, error) {
	// Each day's totals are the first counter of the day (dimTotal is 0):
	// seek from day to day.
	prefix := siteCounterPrefix(site)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	tot := make([]uint64, totalFields)
	for it.Rewind(); it.Valid(); {
		k := it.Item().Key()
		if len(k) < len(prefix)+3 {
			return false, fmt.Errorf("%w: %x", errBadKey, k)
		}
		day := Day(binary.BigEndian.Uint16(k[len(prefix):]))
		if k[len(prefix)+2] == dimTotal && len(k) == len(prefix)+3 {
			if err := it.Item().Value(func(v []byte) error { return readCounts(v, tot) }); err != nil {
				return false, err
			}
			if tot[tViews] > 0 || tot[tEvents] > 0 || tot[tOtherEvents] > 0 {
				return true, nil
			}
		}
		if day >= 1<<16-1 {
			break
		}
		it.Seek(counterPrefix(site, day+1, 0))
	}
	return false, nil
}

// SetMaxSites changes the cap on registered sites (DefaultMaxSites when n
// is zero or negative). Sites registered already stay registered.
func (s *Store) SetMaxSites(n int) { s.sites.max.Store(int64(cmpOr(n, DefaultMaxSites))) }

// SetMaxValues changes the cap on distinct values per dimension, site and
// day (DefaultMaxValues when n is zero or negative); values held already
// are kept.
func (s *Store) SetMaxValues(n int) { s.agg.lim.maxValues.Store(int64(cmpOr(n, DefaultMaxValues))) }

// loadSites reads the registered sites.
func loadSites(txn *badger.Txn) []string {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: metaSitePrefix})
	defer it.Close()
	var sites []string
	for it.Rewind(); it.Valid(); it.Next() {
		sites = append(sites, string(bytes.TrimPrefix(it.Item().Key(), metaSitePrefix)))
	}
	return sites
}
