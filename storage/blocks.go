package storage

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
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
// whose firstID ≤ its id. Backdated imports (ids in the past) are stored
// one row per block with kind blockImport; such a block can fall inside a
// live block's id range, so readers merge by id and a lookup walks back
// over import blocks to the live block before them.
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
func decodeBlock(firstID uint64, val []byte, fn func(id uint64, rec []byte) bool) (kind byte, err error) {
	if len(val) == 0 || val[0] != blockLive && val[0] != blockImport {
		return 0, fmt.Errorf("block %d: unknown kind", firstID)
	}
	kind, b := val[0], val[1:]
	id := firstID
	for first := true; len(b) > 0; first = false {
		delta, n := binary.Uvarint(b)
		if n <= 0 || !first && delta == 0 || delta > 1<<62 {
			return kind, fmt.Errorf("block %d: %w", firstID, errTruncated)
		}
		b = b[n:]
		size, n := binary.Uvarint(b)
		if n <= 0 || size > uint64(len(b)-n) {
			return kind, fmt.Errorf("block %d: %w", firstID, errTruncated)
		}
		b = b[n:]
		id += delta
		if !fn(id, b[:size]) {
			return kind, nil
		}
		b = b[size:]
	}
	return kind, nil
}

// blockRows decodes a whole block into rows (aliasing val).
func blockRows(firstID uint64, val []byte, dst []blockRow) ([]blockRow, byte, error) {
	kind, err := decodeBlock(firstID, val, func(id uint64, rec []byte) bool {
		dst = append(dst, blockRow{id, rec})
		return true
	})
	return dst, kind, err
}

// scanBlocks walks the rows of one site with from ≤ id < to, in id order.
func scanBlocks(txn *badger.Txn, table byte, site string, from, to uint64, fn func(id uint64, rec []byte) (bool, error)) error {
	prefix := sitePrefix(table, site)
	start, err := liveBlockAtOrBefore(txn, prefix, table, site, from)
	if err != nil {
		return err
	}
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 16, Prefix: prefix})
	defer it.Close()
	// pending holds decoded rows not yet handed out, in id order; a block
	// overlapping earlier ones (an import) is merged in.
	var pending []blockRow
	emit := func(below uint64) (bool, error) {
		n := 0
		for ; n < len(pending) && pending[n].id < below; n++ {
			r := pending[n]
			if r.id < from {
				continue
			}
			if more, err := fn(r.id, r.rec); err != nil || !more {
				return false, err
			}
		}
		pending = pending[n:]
		return true, nil
	}
	for it.Seek(rowKey(table, site, start)); it.Valid(); it.Next() {
		item := it.Item()
		key := item.Key()
		if len(key) != len(prefix)+8 {
			return fmt.Errorf("%w: %x", errBadKey, key)
		}
		first := keyID(key)
		if more, err := emit(min(first, to)); err != nil || !more {
			return err
		}
		if first >= to {
			return nil
		}
		val, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		rows, _, err := blockRows(first, val, nil)
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			pending = rows
		} else {
			pending = append(pending, rows...)
			slices.SortStableFunc(pending, func(a, b blockRow) int { return cmpID(a.id, b.id) })
		}
	}
	_, err = emit(to)
	return err
}

func cmpID(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// liveBlockAtOrBefore returns the firstID of the last live block starting
// at or before id (the one that may hold id and later rows), or id itself
// when there is none. Import blocks passed on the way hold one row each,
// before id, so they do not matter to a scan starting at id.
func liveBlockAtOrBefore(txn *badger.Txn, prefix []byte, table byte, site string, id uint64) (uint64, error) {
	it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: prefix, PrefetchValues: false})
	defer it.Close()
	for it.Seek(rowKey(table, site, id)); it.Valid(); it.Next() {
		item := it.Item()
		var kind byte
		if err := item.Value(func(v []byte) error {
			if len(v) > 0 {
				kind = v[0]
			}
			return nil
		}); err != nil {
			return 0, err
		}
		if kind == blockLive {
			return keyID(item.Key()), nil
		}
	}
	return id, nil
}

// findRow reads the record of row id of site: the block holding it is an
// import block starting at id, or the first live block found walking back
// from id. fn gets the record (valid during the call) and the block's
// firstID.
func findRow(txn *badger.Txn, table byte, site string, id uint64, fn func(rec []byte, blockID uint64) error) (bool, error) {
	prefix := sitePrefix(table, site)
	it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: prefix, PrefetchValues: false})
	defer it.Close()
	for it.Seek(rowKey(table, site, id)); it.Valid(); it.Next() {
		item := it.Item()
		first := keyID(item.Key())
		var found, live bool
		err := item.Value(func(val []byte) error {
			var hit []byte
			kind, err := decodeBlock(first, val, func(rid uint64, rec []byte) bool {
				if rid == id {
					found, hit = true, rec
					return false
				}
				return rid < id
			})
			if err != nil {
				return err
			}
			live = kind == blockLive
			if !found {
				return nil
			}
			return fn(hit, first)
		})
		if err != nil || found || live {
			return found, err
		}
	}
	return false, nil
}

// highestBlockID is the highest row id of a site: the last live block's
// last row, or a later import row.
func highestBlockID(txn *badger.Txn, table byte, site string) (uint64, error) {
	prefix := sitePrefix(table, site)
	it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: prefix})
	defer it.Close()
	var highest uint64
	for it.Seek(rowKey(table, site, 1<<64-1)); it.Valid(); it.Next() {
		item := it.Item()
		first := keyID(item.Key())
		var kind byte
		err := item.Value(func(val []byte) (err error) {
			kind, err = decodeBlock(first, val, func(id uint64, _ []byte) bool {
				highest = max(highest, id)
				return true
			})
			return err
		})
		if err != nil {
			return 0, err
		}
		if kind == blockLive {
			break
		}
	}
	return highest, nil
}

// setRows adds the blocks and visitor index keys of n records with
// assigned ids to wb. Consecutive records of one site share a block of up
// to maxBlockRows. Live records (the writer's) make live blocks. Imported
// (backdated) records must come sorted by site and id; a run of them makes
// a live block only where no stored block overlaps its id range and it
// lies below every live id to come, else each becomes an import block.
func (s *Store) setRows(wb *badger.WriteBatch, t *recordTable, n int, ref func(int) recordRef, encode func(dst []byte, i int) []byte, imported bool) error {
	// Keys and values must stay untouched until the batch commits;
	// appending them to arenas and slicing those keeps that true even when
	// an arena grows. Blocks and index keys have an arena each, so a
	// block's bytes stay contiguous. Records of one site share the index
	// value.
	blocks := make([]byte, 0, 140*n)
	index := make([]byte, 0, 24*n)
	var scratch []byte
	var site string
	var siteVal []byte
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
				return err
			}
			kind, run := blockLive, maxBlockRows
			if imported {
				var err error
				if kind, run, err = s.importRun(t, n, i, ref); err != nil {
					return err
				}
			}
			blockKey = len(blocks)
			blocks = appendRowKey(blocks, t.rows, r.site, *r.id)
			blockVal = len(blocks)
			blocks = append(blocks, kind)
			rows, prev, limit = 0, *r.id, run
		}
		if r.site != site {
			site, siteVal = r.site, []byte(r.site)
		}
		scratch = encode(scratch[:0], i)
		blocks = appendBlockRow(blocks, prev, *r.id, scratch)
		rows, prev = rows+1, *r.id
		if r.visitor == "" {
			continue
		}
		start := len(index)
		index = appendVisitorKey(index, t.visitors, r.visitor, *r.id)
		if err := wb.Set(index[start:len(index):len(index)], siteVal); err != nil {
			return err
		}
	}
	return closeBlock()
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
			_, err := decodeBlock(before, val, func(id uint64, _ []byte) bool {
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
// gets the current record and returns the new one, or ok false to leave
// the row alone. set stores the rebuilt block (a transaction's Set, which
// later reads of the same transaction see). found is false when there is
// no such row.
func rewriteRow(txn *badger.Txn, table byte, site string, id uint64, edit func(rec []byte) (out []byte, ok bool, err error), set func(k, v []byte) error) (found, changed bool, err error) {
	var key, block []byte
	found, err = findRow(txn, table, site, id, func(_ []byte, first uint64) error {
		key = rowKey(table, site, first)
		return nil
	})
	if err != nil || !found {
		return found, false, err
	}
	item, err := txn.Get(key)
	if err != nil {
		return true, false, err
	}
	if block, err = item.ValueCopy(nil); err != nil {
		return true, false, err
	}
	first := keyID(key)
	out := append(make([]byte, 0, len(block)+64), block[0])
	prev := first
	var editErr error
	_, err = decodeBlock(first, block, func(rid uint64, rec []byte) bool {
		if rid == id {
			edited, ok, err := edit(rec)
			if err != nil {
				editErr = err
				return false
			}
			if ok {
				rec, changed = edited, true
			}
		}
		out = appendBlockRow(out, prev, rid, rec)
		prev = rid
		return true
	})
	if err = cmp.Or(err, editErr); err != nil || !changed {
		return true, false, err
	}
	return true, true, set(key, out)
}
