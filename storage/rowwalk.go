package storage

import (
	"container/heap"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// rowWalk yields the rows of one table on a set of sites in id (= time)
// order, newest or oldest first, strictly beyond a bound. It merges, by id,
// two block walks per site: the live blocks and the imported rows
// (blocks.go). Ids are unique per table across sites, so the order is
// total. Opening costs two iterators per site (three for an oldest-first
// walk, which first finds the live block that may hold the bound); then
// each row costs its share of one block read.
type rowWalk struct {
	walks   walkHeap
	advance *blockWalk // the walk whose row was returned last, moved on lazily
	err     error
}

// blockWalk walks one table of one site's blocks.
type blockWalk struct {
	site  string
	it    *badger.Iterator
	end   []byte // the key prefix of the site's blocks
	desc  bool
	bound uint64 // rows must be beyond it (below when desc, above when not)
	buf   []byte // the current block's value
	rows  []blockRow
	i     int // the current row in rows
	err   error
}

// newRowWalk opens a walk of table's rows on sites. desc walks newest
// first. With bounded, only rows with id < bound (desc) or id > bound are
// walked; without, the walk starts at the newest or the oldest row.
func newRowWalk(txn *badger.Txn, table byte, sites []string, desc bool, bound uint64, bounded bool) *rowWalk {
	w := &rowWalk{walks: walkHeap{desc: desc}}
	if !bounded {
		// 0 and the largest id are never ids: every row is beyond them.
		bound = 0
		if desc {
			bound = 1<<64 - 1
		}
	}
	for _, site := range sites {
		for _, tb := range []byte{table, importTable(table)} {
			bw := openBlockWalk(txn, tb, site, desc, bound, bounded, tb == table)
			if bw.load() {
				w.walks.items = append(w.walks.items, bw)
			} else {
				bw.it.Close()
				if bw.err != nil && w.err == nil {
					w.err = bw.err
				}
			}
		}
	}
	heap.Init(&w.walks)
	return w
}

func openBlockWalk(txn *badger.Txn, table byte, site string, desc bool, bound uint64, bounded, live bool) *blockWalk {
	prefix := sitePrefix(table, site)
	bw := &blockWalk{site: site, end: prefix, desc: desc, bound: bound}
	start := bound
	if !desc && live && bounded {
		// The live block holding the row after bound may start before it.
		start, bw.err = liveBlockAtOrBefore(txn, table, site, bound)
	}
	bw.it = txn.NewIterator(badger.IteratorOptions{Reverse: desc, Prefix: prefix, PrefetchValues: false})
	bw.it.Seek(rowKey(table, site, start))
	return bw
}

// load makes the walk's current row valid, reading blocks as needed; it
// reports false at the end or on an error (in err).
func (bw *blockWalk) load() bool {
	for {
		for bw.i >= 0 && bw.i < len(bw.rows) {
			id := bw.rows[bw.i].id
			if bw.desc && id < bw.bound || !bw.desc && id > bw.bound {
				return true
			}
			bw.step()
		}
		if bw.err != nil || !bw.it.Valid() {
			return false
		}
		item := bw.it.Item()
		key := item.Key()
		if len(key) < len(bw.end)+8 {
			bw.err = fmt.Errorf("%w: %x", errBadKey, key)
			return false
		}
		first := keyID(key)
		var err error
		if bw.buf, err = item.ValueCopy(bw.buf[:0]); err == nil {
			bw.rows, err = blockRows(first, bw.buf, bw.rows[:0])
		}
		if err != nil {
			bw.err = err
			return false
		}
		bw.it.Next()
		bw.i = 0
		if bw.desc {
			bw.i = len(bw.rows) - 1
		}
	}
}

func (bw *blockWalk) step() {
	if bw.desc {
		bw.i--
	} else {
		bw.i++
	}
}

func (bw *blockWalk) row() blockRow { return bw.rows[bw.i] }

// next returns the next row: its site, id and record, which stays valid
// until the following call. ok is false at the end or on an error (err).
func (w *rowWalk) next() (site string, id uint64, rec []byte, ok bool) {
	if bw := w.advance; bw != nil {
		w.advance = nil
		bw.step()
		if bw.load() {
			heap.Fix(&w.walks, 0)
		} else {
			if bw.err != nil && w.err == nil {
				w.err = bw.err
			}
			heap.Pop(&w.walks)
			bw.it.Close()
		}
	}
	if w.err != nil || len(w.walks.items) == 0 {
		return "", 0, nil, false
	}
	bw := w.walks.items[0]
	w.advance = bw
	r := bw.row()
	return bw.site, r.id, r.rec, true
}

// close closes the iterators; err reports a read error met on the way.
func (w *rowWalk) close() error {
	for _, bw := range w.walks.items {
		bw.it.Close()
	}
	w.walks.items = nil
	return w.err
}

// walkHeap orders block walks by their current row's id: the largest first
// when desc.
type walkHeap struct {
	items []*blockWalk
	desc  bool
}

func (h *walkHeap) Len() int { return len(h.items) }
func (h *walkHeap) Less(i, j int) bool {
	a, b := h.items[i].row().id, h.items[j].row().id
	if h.desc {
		return a > b
	}
	return a < b
}
func (h *walkHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *walkHeap) Push(x any)    { h.items = append(h.items, x.(*blockWalk)) }
func (h *walkHeap) Pop() any {
	n := len(h.items)
	x := h.items[n-1]
	h.items = h.items[:n-1]
	return x
}
