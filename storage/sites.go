package storage

import (
	"bytes"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
)

// siteRegistry is the set of site ids that have rows. Ids are unique per
// table, not per site, and a row key needs the site, so a read by id tries
// the row key of each registered site. Every site has a meta key
// (siteMetaKey), written in the batch of its first record and never
// deleted; Open loads them. The set is small, read without locks and
// replaced whole when a site is added.
type siteRegistry struct {
	mu  sync.Mutex // serialises add
	set atomic.Pointer[siteSet]
}

type siteSet struct {
	has  map[string]bool
	list []string
}

// all returns the registered sites. The slice is shared: do not modify it.
func (r *siteRegistry) all() []string {
	if set := r.set.Load(); set != nil {
		return set.list
	}
	return nil
}

// missing returns, once each, the sites of n records that are not
// registered yet.
func (r *siteRegistry) missing(n int, site func(i int) string) []string {
	set := r.set.Load()
	var fresh []string
	prev := ""
	for i := range n {
		s := site(i)
		if s == prev {
			continue
		}
		prev = s
		if (set == nil || !set.has[s]) && !slices.Contains(fresh, s) {
			fresh = append(fresh, s)
		}
	}
	return fresh
}

// add registers sites in memory, after their meta keys are stored.
func (r *siteRegistry) add(sites []string) {
	if len(sites) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.set.Load()
	next := &siteSet{has: make(map[string]bool)}
	if old != nil {
		for s := range old.has {
			next.has[s] = true
		}
		next.list = slices.Clone(old.list)
	}
	for _, s := range sites {
		if !next.has[s] {
			next.has[s] = true
			next.list = append(next.list, s)
		}
	}
	r.set.Store(next)
}

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
