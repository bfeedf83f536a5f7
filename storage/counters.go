package storage

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
)

// Reads of the counters (agg_keys.go). Every read is a point read or a
// prefix scan of one (site, day, dimension): its cost grows with days and
// distinct values, never with views.

// Tally is one value of a dimension summed over a range of days.
type Tally struct {
	Value, Sub string // Sub: the second part of a campaign-scoped value
	Count      uint64 // clean views (events for the event dims)
	Visitors   uint64 // sum of the daily distinct visitors
}

// pending are dirty counter deltas (aggregator.pendingFor) that a query
// adds to what it reads.
type pending map[string][]int64

// add adds the pending delta of key to c.
func (p pending) add(key []byte, c []uint64) {
	for i, d := range p[string(key)] {
		if i < len(c) {
			c[i] = uint64(max(0, int64(c[i])+d))
		}
	}
}

// dayCounts reads one day's counter vector of a dimension without value
// (dimTotal, dimHours) into dst.
func dayCounts(txn *badger.Txn, p pending, site string, day Day, dim byte, dst []uint64) error {
	return readCounter(txn, p, counterPrefix(site, day, dim), dst)
}

// readCounter reads the counter vector at key into dst, pending changes
// included.
func readCounter(txn *badger.Txn, p pending, key []byte, dst []uint64) error {
	item, err := txn.Get(key)
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		clear(dst)
	case err != nil:
		return err
	default:
		if err := item.Value(func(v []byte) error { return readCounts(v, dst) }); err != nil {
			return err
		}
	}
	p.add(key, dst)
	return nil
}

// counterIter is an iterator over site's counters; scans of days and
// dimensions seek inside it instead of opening one iterator each.
func counterIter(txn *badger.Txn, site string) *badger.Iterator {
	return txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: siteCounterPrefix(site)})
}

// scanDim calls fn for every value of dim on site's day whose value starts
// with valuePrefix, stored or pending; pending-only values come last.
func scanDim(it *badger.Iterator, p pending, site string, day Day, dim byte, valuePrefix []byte, fn func(a, b string, c []uint64)) error {
	prefix := append(counterPrefix(site, day, dim), valuePrefix...)
	head := len(prefix) - len(valuePrefix)
	c := make([]uint64, fieldsOf(dim))
	var used map[string]bool
	if len(p) > 0 {
		used = map[string]bool{}
	}
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		key := item.Key()
		a, b, err := splitDimValue(dim, key[head:])
		if err != nil {
			return err
		}
		if err := item.Value(func(v []byte) error { return readCounts(v, c) }); err != nil {
			return fmt.Errorf("counter %x: %w", key, err)
		}
		if used != nil {
			p.add(key, c)
			used[string(key)] = true
		}
		fn(a, b, c)
	}
	for key, d := range p {
		if used[key] || !bytes.HasPrefix([]byte(key), prefix) {
			continue
		}
		a, b, err := splitDimValue(dim, []byte(key)[head:])
		if err != nil {
			return err
		}
		clear(c)
		for i := range min(len(c), len(d)) {
			c[i] = uint64(max(0, d[i]))
		}
		fn(a, b, c)
	}
	return nil
}

// tallyDays sums dim over days [from, to] of site, keyed by value; with a
// campaign, only that campaign's values (two-part dims).
func tallyDays(it *badger.Iterator, p pending, site string, from, to Day, dim byte, campaign *string) (map[[2]string]*Tally, error) {
	out := make(map[[2]string]*Tally)
	var vp []byte
	if campaign != nil {
		vp = campaignValuePrefix(*campaign)
	}
	for d := from; d <= to; d++ {
		err := scanDim(it, p, site, d, dim, vp, func(a, b string, c []uint64) {
			t := out[[2]string{a, b}]
			if t == nil {
				t = &Tally{Value: a, Sub: b}
				out[[2]string{a, b}] = t
			}
			t.Count += c[fCount]
			t.Visitors += c[fVisitors]
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ranked returns the tallies by count, then visitors, descending, then by
// value; at most limit (0 = all).
func ranked(m map[[2]string]*Tally, limit int) []Tally {
	out := make([]Tally, 0, len(m))
	for _, t := range m {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(x, y Tally) int {
		if c := cmp.Compare(y.Count, x.Count); c != 0 {
			return c
		}
		if c := cmp.Compare(y.Visitors, x.Visitors); c != 0 {
			return c
		}
		if c := cmp.Compare(x.Value, y.Value); c != 0 {
			return c
		}
		return cmp.Compare(x.Sub, y.Sub)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// counterSites lists the sites that have counters, for summaries over all
// sites.
func (s *Store) counterSites() []string { return s.sites.all() }

// deleteDayCounters deletes every counter of site's day that its rows
// re-derive: all but the drops (quality.go).
func deleteDayCounters(db *badger.DB, site string, day Day) error {
	prefix := counterPrefix(site, day, 0)
	prefix = prefix[:len(prefix)-1]
	dimAt := len(prefix)
	return deleteKeys(db, prefix, nil, func(k []byte) bool { return len(k) > dimAt && k[dimAt] == dimDrops })
}

// deletePrefix deletes every key with prefix (and, when end is set, below
// end) in batches.
func deletePrefix(db *badger.DB, prefix, end []byte) error { return deleteKeys(db, prefix, end, nil) }

// deleteKeys is deletePrefix sparing the keys keep (if set) reports true.
func deleteKeys(db *badger.DB, prefix, end []byte, keep func([]byte) bool) error {
	from := prefix // where the next round starts: past the kept keys
	for {
		var keys [][]byte
		more := false
		err := db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
			defer it.Close()
			for it.Seek(from); it.Valid(); it.Next() {
				k := it.Item().Key()
				if end != nil && bytes.Compare(k, end) >= 0 {
					break
				}
				if len(keys) == 10_000 {
					more, from = true, it.Item().KeyCopy(nil)
					break
				}
				if keep == nil || !keep(k) {
					keys = append(keys, it.Item().KeyCopy(nil))
				}
			}
			return nil
		})
		if err != nil || len(keys) == 0 && !more {
			return err
		}
		wb := db.NewWriteBatch()
		for _, k := range keys {
			if err := wb.Delete(k); err != nil {
				wb.Cancel()
				return err
			}
		}
		if err := wb.Flush(); err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
}

// Dimensions by name, for hourlyCounts.
var dimNames = map[string]byte{
	"path": dimPath, "device_type": dimDevice, "os_name": dimOS, "browser": dimBrowse, "country_code": dimCountr,
	"referrer_type": dimRefTyp, "referrer": dimRefOrg, "resolution": dimResol, "utm_source": dimUTMSrc,
	"utm_medium": dimUTMMed, "utm_campaign": dimUTMCmp, "utm_content": dimUTMCon, "utm_term": dimUTMTrm,
	"event_type": dimEvType,
}

// hourlyCounts reads the hourly counters of one dimension (by its column
// name: path, device_type, os_name, browser, country_code, referrer_type,
// referrer, resolution, utm_*, event_type) of site's day: per UTC hour,
// clean views (events for event_type) by value.
func (s *Store) hourlyCounts(site string, day Day, dimension string) ([24]map[string]uint64, error) {
	var out [24]map[string]uint64
	dim, ok := dimNames[dimension]
	if !ok {
		return out, fmt.Errorf("hourly counts: unknown dimension %q", dimension)
	}
	for h := range out {
		out[h] = map[string]uint64{}
	}
	p := pending(s.agg.pendingFor(site))
	err := s.db.View(func(txn *badger.Txn) error {
		it := counterIter(txn, site)
		defer it.Close()
		return scanDim(it, p, site, day, dim|hourlyDim, nil, func(a, _ string, c []uint64) {
			if len(a) > 0 && a[0] < 24 {
				out[a[0]][a[1:]] += c[fCount]
			}
		})
	})
	return out, err
}
