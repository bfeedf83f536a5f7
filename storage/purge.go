package storage

import (
	"cmp"
	"context"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// purge deletes raw rows past retention and counters past CounterDays.
func (s *Store) purge(ctx context.Context, m *Maintenance, now time.Time) (views, events int, err error) {
	cleanCut, botCut, counterCut := m.cutoffs(now)
	for _, site := range s.sites.all() {
		if err := ctx.Err(); err != nil {
			return views, events, err
		}
		nv, err := s.purgeRows(ctx, tableViews, tableVisitorViews, site, cleanCut, botCut, func(val []byte) (string, int, error) {
			var v View
			err := DecodeView(val, &v)
			return v.VisitorID, v.BotScore, err
		})
		views += nv
		if err != nil {
			return views, events, err
		}
		ne, err := s.purgeRows(ctx, tableEvents, tableVisitorEvents, site, cleanCut, botCut, func(val []byte) (string, int, error) {
			var e Event
			err := DecodeEvent(val, &e)
			return e.VisitorID, e.BotScore, err
		})
		events += ne
		if err != nil {
			return views, events, err
		}
		end := counterPrefix(site, counterCut, 0)
		if err := deletePrefix(s.db, siteCounterPrefix(site), end[:len(end)-1]); err != nil {
			return views, events, err
		}
		if err := s.purgeRollupBases(site, counterCut); err != nil {
			return views, events, err
		}
		if _, err := s.unregisterIdle(site); err != nil {
			return views, events, err
		}
	}
	// The list pages count the retained rows from the day counters.
	if err := s.setRetentionCut(DayOf(cleanCut), DayOf(botCut)); err != nil {
		return views, events, err
	}
	// The experiment index follows the events (its entries carry the day
	// of their last event); perf metrics follow the raw-row retention
	// (docs/privacy.md, How long).
	indexCut := cleanCut
	if botCut.Before(indexCut) {
		indexCut = botCut
	}
	if _, err := s.PurgeExperimentIndex(indexCut); err != nil {
		return views, events, err
	}
	if _, err := s.PurgePerf(cleanCut); err != nil {
		return views, events, err
	}
	return views, events, nil
}

// purgeRows deletes site's rows of table (and their visitor index entries)
// that are clean and before cleanCut, or not clean and before botCut. Rows
// live in blocks (blocks.go): a block that loses every row is deleted, one
// that keeps some is stored again with those, under its first kept id.
func (s *Store) purgeRows(ctx context.Context, table, index byte, site string, cleanCut, botCut time.Time, decode func([]byte) (string, int, error)) (int, error) {
	if err := s.syncIndexes(); err != nil {
		return 0, err
	}
	n := 0
	for _, tb := range []byte{table, importTable(table)} {
		m, err := s.purgeBlocks(ctx, tb, index, site, cleanCut, botCut, decode)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// purgeBlocks is purgeRows for one table of blocks.
func (s *Store) purgeBlocks(ctx context.Context, table, index byte, site string, cleanCut, botCut time.Time, decode func([]byte) (string, int, error)) (int, error) {
	cleanMax, botMax := idFloor(ceilMilli(cleanCut)), idFloor(ceilMilli(botCut))
	c := purgeCut{table: table, index: index, site: site, end: max(cleanMax, botMax), cleanMax: cleanMax, botMax: botMax, decode: decode}
	n := 0
	from := uint64(0)
	for {
		m, more, next, err := s.purgeChunk(&c, from)
		n += m
		if err != nil || !more {
			return n, err
		}
		from = next
		if err := ctx.Err(); err != nil {
			return n, err
		}
	}
}

// purgeCut is what purgeChunk deletes: rows of site in table with an id
// below end that are clean and below cleanMax, or not clean and below
// botMax; index is the table's visitor index.
type purgeCut struct {
	table, index          byte
	site                  string
	end, cleanMax, botMax uint64
	decode                func([]byte) (visitor string, score int, err error)
}

// purges reports whether the row id with score is past retention: a clean
// row (score 0-49) before cleanMax, any other before botMax.
func (c *purgeCut) purges(id uint64, score int) bool {
	clean := score >= 0 && score < 50
	return clean && id < c.cleanMax || !clean && id < c.botMax
}

// purgeChunkRows bounds one purgeChunk: block writes plus index entries.
const purgeChunkRows = 20_000

// purgeChunk purges the blocks from the one at from, up to about
// purgeChunkRows rows, as one read-modify-write under rewriteMu; more
// reports that blocks are left, from next on. The blocks are written
// before the visitor index: an index entry whose row is gone is skipped by
// readers, a row without its entry would be lost to them.
func (s *Store) purgeChunk(c *purgeCut, from uint64) (n int, more bool, next uint64, err error) {
	s.rewriteMu.Lock()
	defer s.rewriteMu.Unlock()
	gone := purgedRows{byVisitor: make(map[string][]uint64)}
	edits, n, more, next, err := s.purgeEdits(c, from, &gone)
	if err != nil {
		return 0, false, 0, err
	}
	if err := s.writeEdits(edits); err != nil {
		return 0, false, 0, err
	}
	if err := s.unindexSummarized(c.index, c.site, gone.byVisitor); err != nil {
		return n, false, 0, err
	}
	return n, more, next, nil
}

// rowEdit is one write of a purge: val nil deletes key.
type rowEdit struct {
	key, val []byte
}

// purgedRows are the purged rows that have a visitor index entry.
type purgedRows struct {
	byVisitor map[string][]uint64 // visitor → row ids
	n         int
}

func (p *purgedRows) add(visitor string, id uint64) {
	if visitor != "" {
		p.byVisitor[visitor] = append(p.byVisitor[visitor], id)
		p.n++
	}
}

// purgeEdits reads the blocks of c from the one at from and returns the
// writes that purge them: a block that loses every row is deleted, one that
// keeps some is stored again with those, under its first kept id. It stops
// at c.end or, with more and next set, once about purgeChunkRows rows are
// affected; n counts the purged rows and gone receives those indexed.
func (s *Store) purgeEdits(c *purgeCut, from uint64, gone *purgedRows) (edits []rowEdit, n int, more bool, next uint64, err error) {
	prefix := sitePrefix(c.table, c.site)
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Seek(rowKey(c.table, c.site, from)); it.Valid(); it.Next() {
			item := it.Item()
			first := keyID(item.Key())
			if first >= c.end {
				return nil
			}
			if len(edits)+gone.n >= purgeChunkRows {
				more, next = true, first
				return nil
			}
			val, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			kept, keptFirst, dropped, err := c.filterBlock(first, val, gone)
			if err != nil {
				return err
			}
			if dropped == 0 {
				continue
			}
			n += dropped
			if kept == nil || keptFirst != first {
				edits = append(edits, rowEdit{item.KeyCopy(nil), nil})
			}
			if kept != nil {
				edits = append(edits, rowEdit{rowKey(c.table, c.site, keptFirst), kept})
			}
		}
		return nil
	})
	return edits, n, more, next, err
}

// filterBlock drops the rows that c purges from the block stored under id
// first (val, blocks.go) and adds the dropped ones to gone. kept is the
// block of the rows left, nil when none, and keptFirst the id of its first
// row.
func (c *purgeCut) filterBlock(first uint64, val []byte, gone *purgedRows) (kept []byte, keptFirst uint64, dropped int, err error) {
	prev := uint64(0)
	var derr error
	err = decodeBlock(first, val, func(id uint64, rec []byte) bool {
		visitor, score, err := c.decode(rec)
		if err != nil {
			derr = err
			return false
		}
		if c.purges(id, score) {
			dropped++
			gone.add(visitor, id)
			return true
		}
		if kept == nil {
			kept, keptFirst, prev = []byte{val[0]}, id, id
		}
		kept = appendBlockRow(kept, prev, id, rec)
		prev = id
		return true
	})
	return kept, keptFirst, dropped, cmp.Or(err, derr)
}

// writeEdits applies edits in one write batch.
func (s *Store) writeEdits(edits []rowEdit) error {
	wb := s.db.NewWriteBatch()
	for _, e := range edits {
		var err error
		if e.val == nil {
			err = wb.Delete(e.key)
		} else {
			err = wb.Set(e.key, e.val)
		}
		if err != nil {
			wb.Cancel()
			return err
		}
	}
	return wb.Flush()
}
