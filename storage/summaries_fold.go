package storage

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

var errBadSummary = errors.New("malformed visitor summary")

// summaryGroups gathers a merge pass's (or a rebuild's) views by visitor
// and site, as summaries of those views alone.
type summaryGroups struct {
	byKey   map[string]*summaryGroup // site | 0x00 | token
	sites   map[string]string        // interned site ids
	scratch []byte
}

type summaryGroup struct {
	site  string
	token []byte
	sum   visitorSummary
}

func newSummaryGroups() *summaryGroups {
	return &summaryGroups{byKey: make(map[string]*summaryGroup), sites: make(map[string]string)}
}

// add folds one view into its group.
func (g *summaryGroups) add(site, token []byte, id uint64, attrs []byte) {
	g.group(site, token).add(id, attrs)
}

// group returns the group of a visitor and site.
func (g *summaryGroups) group(site, token []byte) *summaryGroup {
	k := append(g.scratch[:0], site...)
	k = append(k, 0)
	k = append(k, token...)
	g.scratch = k
	grp := g.byKey[string(k)]
	if grp == nil {
		s, ok := g.sites[string(site)]
		if !ok {
			s = string(site)
			g.sites[s] = s
		}
		key := string(k)
		grp = &summaryGroup{site: s, token: []byte(key[len(site)+1:])}
		g.byKey[key] = grp
	}
	return grp
}

// add folds one view into the group; attrs are its appendViewAttrs (nil
// for an entry of an older log, which then counts without attributes).
func (grp *summaryGroup) add(id uint64, attrs []byte) {
	a := viewAttrs{tokens: emptyAttrTokens}
	if attrs != nil {
		a = parseViewAttrs(attrs)
	}
	grp.sum.add(id, a)
}

// emptyAttrTokens are four empty strings.
var emptyAttrTokens = []byte{tokRaw, tokRaw, tokRaw, tokRaw}

// applySummaries adds the groups to the stored summaries, setting the new
// records in wb; the caller holds s.sum.mu until wb is flushed. Keys and
// values come from one arena that only grows (as in mergePass).
func (s *Store) applySummaries(wb *badger.WriteBatch, g *summaryGroups) error {
	if len(g.byKey) == 0 {
		return nil
	}
	fresh := map[string]uint64{} // site → visitors new to it
	buf := make([]byte, 0, 96*len(g.byKey))
	set := func(build func([]byte) []byte, val []byte) error {
		start := len(buf)
		buf = build(buf)
		return wb.Set(buf[start:len(buf):len(buf)], val)
	}
	return s.db.View(func(txn *badger.Txn) error {
		for _, grp := range g.byKey {
			key := summaryKey(grp.site, grp.token)
			old, found, err := readSummary(txn, key)
			if err != nil {
				return err
			}
			sum := grp.sum
			if found {
				if err := wb.Delete(appendByViewsKey(nil, grp.site, old.views, grp.token)); err != nil {
					return err
				}
				old.merge(&sum)
				sum = old
			} else {
				fresh[grp.site]++
			}
			start := len(buf)
			buf = sum.encode(buf)
			val := buf[start:len(buf):len(buf)]
			if err := wb.Set(key, val); err != nil {
				return err
			}
			if err := set(func(b []byte) []byte { return appendByViewsKey(b, grp.site, sum.views, grp.token) }, val); err != nil {
				return err
			}
		}
		for site, n := range fresh {
			if err := addVisitorCount(txn, wb, site, int64(n)); err != nil {
				return err
			}
		}
		return nil
	})
}

// readSummary reads the summary at key (a copy).
func readSummary(txn *badger.Txn, key []byte) (visitorSummary, bool, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return visitorSummary{}, false, nil
	}
	if err != nil {
		return visitorSummary{}, false, err
	}
	val, err := item.ValueCopy(nil)
	if err != nil {
		return visitorSummary{}, false, err
	}
	sum, err := decodeSummary(val)
	if err != nil {
		return visitorSummary{}, false, fmt.Errorf("%x: %w", key, err)
	}
	return sum, true, nil
}

// addVisitorCount adds n to site's visitor count in wb.
func addVisitorCount(txn *badger.Txn, wb *badger.WriteBatch, site string, n int64) error {
	key := visitorCountKey(site)
	cur, err := visitorCount(txn, site)
	if err != nil {
		return err
	}
	return wb.Set(key, binary.AppendUvarint(nil, uint64(max(0, int64(cur)+n))))
}

// visitorCount reads site's number of summaries.
func visitorCount(txn *badger.Txn, site string) (uint64, error) {
	item, err := txn.Get(visitorCountKey(site))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var n uint64
	err = item.Value(func(v []byte) error {
		var k int
		if n, k = binary.Uvarint(v); k <= 0 || k != len(v) {
			return fmt.Errorf("visitor count of %s: %w", site, errTruncated)
		}
		return nil
	})
	return n, err
}

// setListState stores the list indexes' state.
func (s *Store) setListState(state byte) error {
	return s.db.Update(func(txn *badger.Txn) error { return txn.Set(metaListState, []byte{state}) })
}

// listState reads the list indexes' state; ok is false when it is absent.
func listState(txn *badger.Txn) (state byte, ok bool, err error) {
	item, err := txn.Get(metaListState)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	err = item.Value(func(v []byte) error {
		if len(v) != 1 {
			return fmt.Errorf("%q has %d bytes", metaListState, len(v))
		}
		state = v[0]
		return nil
	})
	return state, err == nil, err
}
