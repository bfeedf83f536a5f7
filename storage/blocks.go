package storage

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Row blocks (tableViews, tableEvents), key layout 3. A flush stores the
// rows of one site in blocks of up to maxBlockRows consecutive rows:
//
//	key:   table(1) | site | 0x00 | firstID(8)
//	value: kind(1) | { uvarint(id − previous id) | uvarint(len) | record }…
//
// The first row's delta is from firstID (so 0). Records are EncodeView /
// EncodeEvent values. One Badger key per block instead of per row halves
// the memtable inserts of a pageview (the visitor index keeps one key per
// row): a skiplist insert is the largest single cost of storing a view.
//
// kind is blockLive for the writer's flushes. Live ids only grow, so live
// blocks never overlap: the block holding a live row is the last block
// whose firstID ≤ its id, one reverse seek. Backdated imports (ids in the
// past) that could fall inside a live block's id range are stored one row
// per block, kind blockImport, in a table of their own (importTable):
//
//	tableImportedViews / tableImportedEvents: table(1) | site | 0x00 | id(8)  →  one-row block
//
// so a lookup is a point read there or one reverse seek among the live
// blocks, and a range read merges the two tables by id.
const (
	blockLive   byte = 1
	blockImport byte = 2

	maxBlockRows = 64

	// importMargin is one hour of ids (ids.go): see importKind.
	importMargin = uint64(time.Hour/time.Millisecond) << idSeqBits
)

// blockRow is one decoded row of a block; rec aliases the block value.
type blockRow struct {
	id  uint64
	rec []byte
}

// appendBlockRow appends one row to a block value whose previous row had
// id prev (the block's firstID for the first row).
func appendBlockRow(dst []byte, prev, id uint64, rec []byte) []byte {
	dst = binary.AppendUvarint(dst, id-prev)
	dst = binary.AppendUvarint(dst, uint64(len(rec)))
	return append(dst, rec...)
}

// decodeBlock calls fn for each row of a block value, in id order.
func decodeBlock(firstID uint64, val []byte, fn func(id uint64, rec []byte) bool) error {
	if len(val) == 0 || val[0] != blockLive && val[0] != blockImport {
		return fmt.Errorf("block %d: unknown kind", firstID)
	}
	b := val[1:]
	id := firstID
	for first := true; len(b) > 0; first = false {
		delta, n := binary.Uvarint(b)
		if n <= 0 || !first && delta == 0 || delta > 1<<62 {
			return fmt.Errorf("block %d: %w", firstID, errTruncated)
		}
		b = b[n:]
		size, n := binary.Uvarint(b)
		if n <= 0 || size > uint64(len(b)-n) {
			return fmt.Errorf("block %d: %w", firstID, errTruncated)
		}
		b = b[n:]
		id += delta
		if !fn(id, b[:size]) {
			return nil
		}
		b = b[size:]
	}
	return nil
}

// blockRows decodes a whole block into rows (aliasing val).
func blockRows(firstID uint64, val []byte, dst []blockRow) ([]blockRow, error) {
	err := decodeBlock(firstID, val, func(id uint64, rec []byte) bool {
		dst = append(dst, blockRow{id, rec})
		return true
	})
	return dst, err
}

// Tables of imported rows that may overlap live blocks (blocks.go).
const (
	tableImportedViews  byte = 0x0e
	tableImportedEvents byte = 0x0f
)

// importTable is the import table of a row table.
func importTable(table byte) byte {
	if table == tableViews {
		return tableImportedViews
	}
	return tableImportedEvents
}

// rowStream yields the rows of one table's blocks in key order, block by
// block; for the live table that is id order.
type rowStream struct {
	it   *badger.Iterator
	end  []byte
	rows []blockRow
	err  error
}

func newRowStream(txn *badger.Txn, table byte, site string, start, end uint64) *rowStream {
	prefix := sitePrefix(table, site)
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 16, Prefix: prefix})
	it.Seek(rowKey(table, site, start))
	return &rowStream{it: it, end: rowKey(table, site, end)}
}

// peek returns the next row, or false at the end (or on an error, in err).
func (rs *rowStream) peek() (blockRow, bool) {
	for len(rs.rows) == 0 {
		if rs.err != nil || !rs.it.Valid() || bytes.Compare(rs.it.Item().Key(), rs.end) >= 0 {
			return blockRow{}, false
		}
		item := rs.it.Item()
		key := item.Key()
		if len(key) < 9 {
			rs.err = fmt.Errorf("%w: %x", errBadKey, key)
			return blockRow{}, false
		}
		val, err := item.ValueCopy(nil)
		if err == nil {
			rs.rows, err = blockRows(keyID(key), val, rs.rows[:0])
		}
		if err != nil {
			rs.err = err
			return blockRow{}, false
		}
		rs.it.Next()
	}
	return rs.rows[0], true
}

func (rs *rowStream) next() { rs.rows = rs.rows[1:] }

// scanBlocks walks the rows of one site with from ≤ id < to, in id order:
// the live blocks (from the one that may hold from) merged with the
// imported rows.
func scanBlocks(txn *badger.Txn, table byte, site string, from, to uint64, fn func(id uint64, rec []byte) (bool, error)) error {
	start, err := liveBlockAtOrBefore(txn, table, site, from)
	if err != nil {
		return err
	}
	live := newRowStream(txn, table, site, start, to)
	defer live.it.Close()
	imp := newRowStream(txn, importTable(table), site, from, to)
	defer imp.it.Close()
	for {
		l, lok := live.peek()
		m, mok := imp.peek()
		var r blockRow
		switch {
		case lok && (!mok || l.id < m.id):
			r = l
			live.next()
		case mok:
			r = m
			imp.next()
		default:
			return cmp.Or(live.err, imp.err)
		}
		if r.id < from || r.id >= to {
			continue
		}
		if more, err := fn(r.id, r.rec); err != nil || !more {
			return err
		}
	}
}

// liveBlockAtOrBefore returns the firstID of the last live block starting
// at or before id (the one that may hold id and later rows), or id itself
// when there is none.
func liveBlockAtOrBefore(txn *badger.Txn, table byte, site string, id uint64) (uint64, error) {
	it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: sitePrefix(table, site), PrefetchValues: false})
	defer it.Close()
	if it.Seek(rowKey(table, site, id)); it.Valid() {
		return keyID(it.Item().Key()), nil
	}
	return id, nil
}

// findRow reads the record of row id of site: a point read among the
// imported rows, else the last live block starting at or before id. fn
// gets the record (valid during the call) and the key of its block.
func findRow(txn *badger.Txn, table byte, site string, id uint64, fn func(rec []byte, blockKey []byte) error) (bool, error) {
	key := rowKey(importTable(table), site, id)
	item, err := txn.Get(key)
	switch {
	case err == nil:
		return blockHas(item, id, fn)
	case !errors.Is(err, badger.ErrKeyNotFound):
		return false, err
	}
	it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: sitePrefix(table, site), PrefetchValues: false})
	defer it.Close()
	if it.Seek(rowKey(table, site, id)); !it.Valid() {
		return false, nil
	}
	return blockHas(it.Item(), id, fn)
}

// blockHas looks for row id in the block item and hands its record to fn.
func blockHas(item *badger.Item, id uint64, fn func(rec []byte, blockKey []byte) error) (found bool, err error) {
	key := item.KeyCopy(nil)
	err = item.Value(func(val []byte) error {
		var hit []byte
		if err := decodeBlock(keyID(key), val, func(rid uint64, rec []byte) bool {
			if rid == id {
				found, hit = true, rec
			}
			return rid < id
		}); err != nil || !found {
			return err
		}
		return fn(hit, key)
	})
	return found, err
}

// highestBlockID is the highest row id of a site: the last live block's
// last row, or a later imported row.
func highestBlockID(txn *badger.Txn, table byte, site string) (uint64, error) {
	var highest uint64
	for _, tb := range []byte{table, importTable(table)} {
		it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: sitePrefix(tb, site)})
		it.Seek(rowKey(tb, site, 1<<64-1))
		if it.Valid() {
			item := it.Item()
			first := keyID(item.Key())
			err := item.Value(func(val []byte) error {
				err := decodeBlock(first, val, func(id uint64, _ []byte) bool {
					highest = max(highest, id)
					return true
				})
				return err
			})
			if err != nil {
				it.Close()
				return 0, err
			}
		}
		it.Close()
	}
	return highest, nil
}

// setRows adds the blocks and the visitor index log entries
// (visitorindex.go) of n records with assigned ids to wb, and returns how
// many log entries it added. Consecutive records of one site share a block of up
// to maxBlockRows. Live records (the writer's) make live blocks. Imported
// (backdated) records must come sorted by site and id; a run of them makes
// a live block only where no stored block overlaps its id range and it
// lies below every live id to come, else each becomes an import block.
func (s *Store) setRows(wb *badger.WriteBatch, t *recordTable, n int, ref func(int) recordRef, encode func(dst []byte, i int) []byte, imported bool) (int, error) {
	// Keys and values must stay untouched until the batch commits;
	// appending them to arenas and slicing those keeps that true even when
	// an arena grows. Blocks and the index log have an arena each, so a
	// block's bytes stay contiguous.
	blocks := make([]byte, 0, 140*n)
	index := newLogSegment(t.log.table, n)
	index.attrs = t.rows == tableViews
	var scratch []byte
	var site string
	// The open block: where its key and value start in blocks, its row
	// count, the id of its last row and whether it may take more rows.
	blockKey, blockVal, rows, prev, limit := -1, -1, 0, uint64(0), 0
	closeBlock := func() error {
		if blockKey < 0 {
			return nil
		}
		err := wb.Set(blocks[blockKey:blockVal:blockVal], blocks[blockVal:len(blocks):len(blocks)])
		blockKey = -1
		return err
	}
	for i := range n {
		r := ref(i)
		if rows == limit || r.site != site {
			if err := closeBlock(); err != nil {
				return 0, err
			}
			kind, run := blockLive, maxBlockRows
			if imported {
				var err error
				if kind, run, err = s.importRun(t, n, i, ref); err != nil {
					return 0, err
				}
			}
			table := t.rows
			if kind == blockImport {
				table = importTable(t.rows)
			}
			blockKey = len(blocks)
			blocks = appendRowKey(blocks, table, r.site, *r.id)
			blockVal = len(blocks)
			blocks = append(blocks, kind)
			rows, prev, limit = 0, *r.id, run
		}
		site = r.site
		scratch = encode(scratch[:0], i)
		blocks = appendBlockRow(blocks, prev, *r.id, scratch)
		rows, prev = rows+1, *r.id
		switch {
		case r.visitor == "":
		case r.view != nil:
			index.addView(r.site, r.visitor, *r.id, r.view)
		default:
			index.add(r.site, r.visitor, *r.id)
		}
	}
	if err := closeBlock(); err != nil {
		return 0, err
	}
	return index.total, index.set(wb)
}

// importRun decides the block that imported record i starts: up to
// maxBlockRows records of its site that are older than the last hour of
// ids make a live block when no stored block overlaps their id range (so
// no later live block can overlap it either: live ids only grow); anything
// else is an import block of record i alone.
func (s *Store) importRun(t *recordTable, n, i int, ref func(int) recordRef) (kind byte, rows int, err error) {
	// Rows of the last hour may still sit in a writer's buffer or a
	// failed flush kept for retry, with ids assigned but no block stored
	// yet: only older runs can be sure nothing will overlap them.
	cur := t.ids.current()
	if cur < importMargin {
		return blockImport, 1, nil
	}
	first := ref(i)
	last := *first.id
	for j := i; j < n && j < i+maxBlockRows; j++ {
		r := ref(j)
		if r.site != first.site || *r.id >= cur-importMargin {
			break
		}
		last, rows = *r.id, rows+1
	}
	if rows == 0 {
		return blockImport, 1, nil
	}
	free := false
	err = s.db.View(func(txn *badger.Txn) error {
		prefix := sitePrefix(t.rows, first.site)
		it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: prefix})
		defer it.Close()
		it.Seek(rowKey(t.rows, first.site, last))
		if !it.Valid() {
			free = true
			return nil
		}
		before := keyID(it.Item().Key())
		if before >= *first.id {
			return nil // a stored block starts inside the run
		}
		return it.Item().Value(func(val []byte) error {
			end := before
			err := decodeBlock(before, val, func(id uint64, _ []byte) bool {
				end = id
				return true
			})
			free = end < *first.id
			return err
		})
	})
	if err != nil || !free {
		return blockImport, 1, err
	}
	return blockLive, rows, nil
}

// rewriteRow replaces the record of row id of site within its block: edit
// gets the current record and returns the new one (nil: delete the row),
// or ok false to leave the row alone. set and del store the rebuilt block
// (a transaction's Set and Delete, which later reads of the same
// transaction see); a block left empty is deleted, one that lost its first
// row moves to the key of its new first row. del may be nil when edit
// never deletes. found is false when there is no such row.
func rewriteRow(txn *badger.Txn, table byte, site string, id uint64, edit func(rec []byte) (out []byte, ok bool, err error), set func(k, v []byte) error, del func(k []byte) error) (found, changed bool, err error) {
	var key []byte
	found, err = findRow(txn, table, site, id, func(_ []byte, blockKey []byte) error {
		key = blockKey
		return nil
	})
	if err != nil || !found {
		return found, false, err
	}
	item, err := txn.Get(key)
	if err != nil {
		return true, false, err
	}
	block, err := item.ValueCopy(nil)
	if err != nil {
		return true, false, err
	}
	first := keyID(key)
	out := append(make([]byte, 0, len(block)+64), block[0])
	newFirst, prev, rows := uint64(0), uint64(0), 0
	var editErr error
	err = decodeBlock(first, block, func(rid uint64, rec []byte) bool {
		if rid == id {
			edited, ok, err := edit(rec)
			if err != nil {
				editErr = err
				return false
			}
			if ok {
				changed = true
				if edited == nil {
					return true // dropped
				}
				rec = edited
			}
		}
		if rows == 0 {
			newFirst, prev = rid, rid
		}
		out = appendBlockRow(out, prev, rid, rec)
		prev, rows = rid, rows+1
		return true
	})
	if err = cmp.Or(err, editErr); err != nil || !changed {
		return true, false, err
	}
	if rows == 0 || newFirst != first {
		if del == nil {
			return true, false, fmt.Errorf("block %d: deleting a row needs a delete function", first)
		}
		if err := del(key); err != nil {
			return true, false, err
		}
		if rows == 0 {
			return true, true, nil
		}
		key = rowKey(key[0], site, newFirst)
	}
	return true, true, set(key, out)
}
