package storage

import (
	"bytes"
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
	// last is the pass's chunk of the visitor and site with the highest
	// first id (nil in a rebuild): it gets the trailer when no stored
	// chunk comes after it.
	last *chunkGroup
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

// appendTrailer appends the chunk trailer of a summary.
func appendTrailer(dst []byte, gen uint64, sum *visitorSummary) []byte {
	dst = binary.AppendUvarint(dst, gen)
	return sum.encode(dst)
}

// parseTrailer reads a chunk trailer; ok is false for one of another
// generation.
func parseTrailer(b []byte, gen uint64) (visitorSummary, bool, error) {
	g, n := binary.Uvarint(b)
	if n <= 0 {
		return visitorSummary{}, false, errBadSummary
	}
	if g != gen {
		return visitorSummary{}, false, nil
	}
	sum, err := decodeSummary(b[n:])
	return sum, err == nil, err
}

// lastChunk is a visitor's last stored chunk on a site and its summary.
type lastChunk struct {
	key    []byte // nil: the visitor has no chunk on the site
	ids    []uint64
	sum    visitorSummary // when hasSum
	hasSum bool
}

// summaryFinder finds visitors' last chunks and summaries: one reverse
// iterator over the views' index, a seek per visitor.
type summaryFinder struct {
	it  *badger.Iterator
	gen uint64
	key []byte
}

func newSummaryFinder(txn *badger.Txn, gen uint64) *summaryFinder {
	return &summaryFinder{it: txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: []byte{tableVisitorViews}}), gen: gen}
}

func (f *summaryFinder) close() { f.it.Close() }

// find returns the last chunk of the visitor (its key token) on site.
// The result is a copy.
func (f *summaryFinder) find(token []byte, site string) (lastChunk, error) {
	prefix := append(append(f.key[:0], tableVisitorViews), token...)
	f.key = binary.BigEndian.AppendUint64(prefix, 1<<64-1)
	prefix = f.key[:len(prefix)]
	for f.it.Seek(f.key); f.it.Valid(); f.it.Next() {
		item := f.it.Item()
		key := item.Key()
		if !bytes.HasPrefix(key, prefix) {
			break
		}
		if len(key) != len(prefix)+8 {
			return lastChunk{}, fmt.Errorf("%w: %x", errBadKey, key)
		}
		var lc lastChunk
		var match bool
		err := item.Value(func(v []byte) error {
			s, ids, trailer, err := decodeChunkTrailer(keyID(key), v, nil)
			if err != nil || s != site {
				return err
			}
			match = true
			lc.key, lc.ids = item.KeyCopy(nil), ids
			if trailer != nil {
				var sum visitorSummary
				if sum, lc.hasSum, err = parseTrailer(trailer, f.gen); lc.hasSum {
					lc.sum = sum
					lc.sum.tokens = bytes.Clone(sum.tokens)
				}
			}
			return err
		})
		if err != nil || match {
			return lc, err
		}
	}
	return lastChunk{}, nil
}

// foldSummaries adds the groups' views to the stored summaries. For each
// visitor and site it finds the stored summary (in the recent cache, as
// none when the known filter says so, else with a seek), merges, and puts
// the result as a trailer on the last chunk: the pass's own last chunk
// (grp.last.trailer, written by the caller) when it comes after every
// stored one, else the stored last chunk, rewritten in wb. It moves the
// by-views entries and counts new visitors in wb. The caller holds
// s.sum.mu until wb is flushed. Keys and values come from an arena that
// only grows (as in mergePass).
func (s *Store) foldSummaries(wb *badger.WriteBatch, g *summaryGroups) error {
	if len(g.byKey) == 0 {
		return nil
	}
	if s.sum.recent == nil {
		s.sum.recent = make(map[string]recentSummary)
	}
	gen := s.sum.gen.Load()
	fresh := map[string]int64{} // site → visitors new to it
	buf := make([]byte, 0, 96*len(g.byKey))
	piece := func(start int) []byte { return buf[start:len(buf):len(buf)] }
	return s.db.View(func(txn *badger.Txn) error {
		f := newSummaryFinder(txn, gen)
		defer f.close()
		for key, grp := range g.byKey {
			var lc lastChunk
			var lastFirst uint64 // first id of the stored last chunk, 0 if none
			looked := false
			if r, ok := s.sum.recent[key]; ok {
				lc, lastFirst = lastChunk{sum: r.sum, hasSum: true}, r.last
			} else if s.sum.known == nil || s.sum.known.mayHave(grp.site, grp.token) {
				var err error
				if lc, err = f.find(grp.token, grp.site); err != nil {
					return err
				}
				looked = true
				if lc.key != nil {
					lastFirst = keyID(lc.key)
				}
			}
			sum := grp.sum
			if lc.hasSum {
				start := len(buf)
				buf = appendByViewsKey(buf, grp.site, lc.sum.views, grp.token)
				if err := wb.Delete(piece(start)); err != nil {
					return err
				}
				lc.sum.merge(&sum)
				sum = lc.sum
			} else {
				fresh[grp.site]++
			}
			start := len(buf)
			buf = sum.encode(buf)
			val := piece(start)
			start = len(buf)
			buf = appendByViewsKey(buf, grp.site, sum.views, grp.token)
			if err := wb.Set(piece(start), val); err != nil {
				return err
			}
			start = len(buf)
			buf = appendTrailer(buf, gen, &sum)
			trailer := piece(start)
			carrier := lastFirst
			switch {
			case grp.last != nil && (lastFirst == 0 || grp.last.ids[0] >= lastFirst):
				grp.last.trailer, carrier = trailer, grp.last.ids[0]
			default:
				// A stored chunk comes last (the pass imported older
				// views, or it is a rebuild): it carries the trailer.
				if !looked {
					var err error
					if lc, err = f.find(grp.token, grp.site); err != nil {
						return err
					}
				}
				if lc.key == nil {
					continue // nothing is indexed to carry it
				}
				start = len(buf)
				buf = appendChunkTrailer(buf, grp.site, lc.ids, trailer)
				if err := wb.Set(lc.key, piece(start)); err != nil {
					return err
				}
				carrier = keyID(lc.key)
			}
			s.remember(key, grp.site, grp.token, recentSummary{sum: sum, last: carrier})
		}
		for site, n := range fresh {
			if err := addVisitorCount(txn, wb, site, n); err != nil {
				return err
			}
		}
		return nil
	})
}

// addVisitorCount adds n to site's visitor count in wb.
func addVisitorCount(txn *badger.Txn, wb *badger.WriteBatch, site string, n int64) error {
	cur, err := visitorCount(txn, site)
	if err != nil {
		return err
	}
	return wb.Set(visitorCountKey(site), binary.AppendUvarint(nil, uint64(max(0, int64(cur)+n))))
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

// summaryGen reads the trailers' generation (0 when unset).
func summaryGen(txn *badger.Txn) (uint64, error) {
	item, err := txn.Get(metaSummaryGen)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var g uint64
	err = item.Value(func(v []byte) error {
		var k int
		if g, k = binary.Uvarint(v); k <= 0 || k != len(v) {
			return fmt.Errorf("%q: %w", metaSummaryGen, errTruncated)
		}
		return nil
	})
	return g, err
}
