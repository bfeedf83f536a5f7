package storage

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// summaryPass is how many views a rebuild folds per batch, as a merge pass
// does at most (mergeEntries): its memory stays bounded.
const summaryPass = mergeEntries

// openLists readies the list indexes at Open, after the index logs are
// merged: a store of an older layout gets its row counters re-derived
// and its summaries built, one whose last merge pass crashed gets its
// summaries rebuilt. Both read every stored row once.
func (s *Store) openLists() error {
	var state byte
	var ok bool
	err := s.db.View(func(txn *badger.Txn) (err error) {
		state, ok, err = listState(txn)
		return err
	})
	switch {
	case err != nil:
		return err
	case ok && state == listReady:
		s.sum.ready.Store(true)
		return s.buildKnown(0)
	case !ok:
		if err := s.rederiveAll(); err != nil {
			return fmt.Errorf("row counters: %w", err)
		}
	}
	if err := s.rebuildSummaries(); err != nil {
		return fmt.Errorf("visitor summaries: %w", err)
	}
	return nil
}

// rederiveAll re-derives every day of every site that has rows, so that
// counters written before the row totals existed have them; finished days
// leave out the excluded visitors, as the daily maintenance does.
func (s *Store) rederiveAll() error {
	excluded, err := s.Excluded()
	if err != nil {
		return err
	}
	a := s.agg
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.flushLocked(); err != nil {
		return err
	}
	today := DayOf(time.Now())
	a.excluded = excluded
	for _, site := range s.sites.all() {
		var first, last uint64
		err := s.db.View(func(txn *badger.Txn) error {
			for _, t := range []*recordTable{&s.views, &s.events} {
				for _, tb := range []byte{t.rows, importTable(t.rows)} {
					it := txn.NewIterator(badger.IteratorOptions{Prefix: sitePrefix(tb, site)})
					if it.Rewind(); it.Valid() {
						id := keyID(it.Item().Key())
						if first == 0 || id < first {
							first = id
						}
					}
					it.Close()
				}
				high, err := highestBlockID(txn, t.rows, site)
				if err != nil {
					return err
				}
				last = max(last, high)
			}
			return nil
		})
		if err != nil || first == 0 {
			return err
		}
		for day := DayOf(idTime(first)); day <= DayOf(idTime(max(first, last))); day++ {
			ex, minutes := excluded, false
			if day >= today {
				ex, minutes = nil, true
			}
			if _, _, err := a.rederive(site, day, ex, minutes); err != nil {
				return err
			}
		}
	}
	return nil
}

// rebuildSummaries makes the summaries again from the stored views, in
// passes of summaryPass views, and marks them ready. It starts a new
// generation (random), so the trailers already stored count for nothing.
func (s *Store) rebuildSummaries() error {
	s.sum.mu.Lock()
	defer s.sum.mu.Unlock()
	s.sum.ready.Store(false)
	if err := s.setListState(listDirty); err != nil {
		return err
	}
	// A random generation: one that a lost or older meta key knew is
	// not met again.
	gen := rand.Uint64() | 1
	err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(metaSummaryGen, binary.AppendUvarint(nil, gen))
	})
	if err != nil {
		return err
	}
	s.sum.gen.Store(gen)
	s.sum.known, s.sum.recent = newKnownVisitors(0), make(map[string]recentSummary)
	for _, prefix := range [][]byte{{tableVisitorsByViews}, metaVisitorCount} {
		if err := deletePrefix(s.db, prefix, nil); err != nil {
			return err
		}
	}
	for _, site := range s.sites.all() {
		groups, n := newSummaryGroups(), 0
		var attrs, token []byte
		flush := func() error {
			wb := s.db.NewWriteBatch()
			defer wb.Cancel()
			if err := s.foldSummaries(wb, groups); err != nil {
				return err
			}
			groups, n = newSummaryGroups(), 0
			if err := wb.Flush(); err != nil {
				return err
			}
			return s.growKnown()
		}
		var ferr error
		err := s.Views(site, time.Time{}, time.Unix(1<<40, 0), func(v *View) bool {
			if v.VisitorID == "" {
				return true
			}
			attrs = appendViewAttrs(attrs[:0], v)
			token = appendKeyToken(token[:0], v.VisitorID)
			groups.add([]byte(site), token, v.ID, attrs)
			if n++; n == summaryPass {
				ferr = flush()
			}
			return ferr == nil
		})
		if err == nil {
			err = ferr
		}
		if err == nil {
			err = flush()
		}
		if err != nil {
			return err
		}
	}
	if err := s.setListState(listReady); err != nil {
		return err
	}
	s.sum.ready.Store(true)
	return nil
}

// lastChunks finds the last chunk and summary of visitors on site.
func (s *Store) lastChunks(site string, visitors []string) (map[string]lastChunk, error) {
	out := make(map[string]lastChunk, len(visitors))
	err := s.db.View(func(txn *badger.Txn) error {
		f := newSummaryFinder(txn, s.sum.gen.Load())
		defer f.close()
		for _, v := range visitors {
			lc, err := f.find(appendKeyToken(nil, v), site)
			if err != nil {
				return err
			}
			out[v] = lc
		}
		return nil
	})
	return out, err
}

// unindexSummarized is unindex (retention purge) followed, for the views'
// index, by the re-derivation of the summaries of the visitors who lost
// rows on site.
func (s *Store) unindexSummarized(index byte, site string, gone map[string][]uint64) error {
	if index != tableVisitorViews || len(gone) == 0 || !s.sum.ready.Load() {
		return s.unindex(index, gone)
	}
	s.sum.mu.Lock()
	defer s.sum.mu.Unlock()
	visitors := make([]string, 0, len(gone))
	for v := range gone {
		visitors = append(visitors, v)
	}
	before, err := s.lastChunks(site, visitors)
	if err != nil {
		return err
	}
	if err := s.unindex(index, gone); err != nil {
		return err
	}
	if err := s.resummarize(site, visitors, before); err != nil {
		return err
	}
	// The filter cannot forget the visitors the purge removed.
	return s.buildKnown(0)
}

// resummarize re-derives the summaries of visitors on site from the views
// they have left (retention purge), given their summaries before
// (lastChunks): a visitor left without views loses its summary. It reads
// each visitor's index and remaining views. The caller holds s.sum.mu.
func (s *Store) resummarize(site string, visitors []string, before map[string]lastChunk) error {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	gen := s.sum.gen.Load()
	err := s.db.View(func(txn *badger.Txn) error {
		var removed int64
		var attrs []byte
		var sums []visitorSummary
		for _, visitor := range visitors {
			entries, err := visitorEntries(txn, tableVisitorViews, visitor, site, 0, 1<<64-1)
			if err != nil {
				return err
			}
			var sum visitorSummary
			for _, e := range entries {
				_, err := findRow(txn, tableViews, site, e.id, func(rec []byte, _ []byte) error {
					v := View{}
					if err := DecodeView(rec, &v); err != nil {
						return err
					}
					attrs = appendViewAttrs(attrs[:0], &v)
					sum.add(e.id, parseViewAttrs(attrs))
					return nil
				})
				if err != nil {
					return err
				}
			}
			sums = append(sums, sum)
		}
		f := newSummaryFinder(txn, gen)
		defer f.close()
		for i, visitor := range visitors {
			token := appendKeyToken(nil, visitor)
			old, sum := before[visitor], sums[i]
			if old.hasSum {
				if err := wb.Delete(appendByViewsKey(nil, site, old.sum.views, token)); err != nil {
					return err
				}
			}
			switch {
			case sum.views == 0 && old.hasSum:
				removed++
				continue
			case sum.views == 0:
				continue
			case !old.hasSum:
				removed--
			}
			val := sum.encode(nil)
			if err := wb.Set(appendByViewsKey(nil, site, sum.views, token), val); err != nil {
				return err
			}
			lc, err := f.find(token, site)
			if err != nil {
				return err
			}
			if lc.key != nil {
				if err := wb.Set(lc.key, appendChunkTrailer(nil, site, lc.ids, appendTrailer(nil, gen, &sum))); err != nil {
					return err
				}
			}
		}
		if removed == 0 {
			return nil
		}
		return addVisitorCount(txn, wb, site, -removed)
	})
	if err != nil {
		return fmt.Errorf("visitor summaries of %s: %w", site, err)
	}
	return wb.Flush()
}

// raiseSummaries lifts the highest score of visitors' summaries on site
// to the scores their views were raised to (raised: visitor → highest new
// score), inside a raise's transaction; the caller holds s.sum.mu until
// it commits.
func (s *Store) raiseSummaries(txn *badger.Txn, set func(k, v []byte) error, site string, raised map[string]int) error {
	if !s.sum.ready.Load() || len(raised) == 0 {
		return nil
	}
	gen := s.sum.gen.Load()
	type change struct {
		lc    lastChunk
		token []byte
	}
	var changes []change
	f := newSummaryFinder(txn, gen)
	for visitor, score := range raised {
		token := appendKeyToken(nil, visitor)
		lc, err := f.find(token, site)
		if err != nil {
			f.close()
			return err
		}
		if lc.hasSum && lc.sum.maxScore < score {
			lc.sum.maxScore = score
			changes = append(changes, change{lc, token})
		}
	}
	// A read-write transaction allows one iterator at a time: the writes
	// come after it is closed.
	f.close()
	for _, c := range changes {
		delete(s.sum.recent, site+"\x00"+string(c.token))
		if err := set(c.lc.key, appendChunkTrailer(nil, site, c.lc.ids, appendTrailer(nil, gen, &c.lc.sum))); err != nil {
			return err
		}
		if err := set(appendByViewsKey(nil, site, c.lc.sum.views, c.token), c.lc.sum.encode(nil)); err != nil {
			return err
		}
	}
	return nil
}
