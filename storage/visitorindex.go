package storage

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Visitor index (tableVisitorViews, tableVisitorEvents), key layout 4: one
// visitor's history is a prefix scan of chunks,
//
//	table(1) | token(visitor) | firstID(8)  →  site [ 0x00 | uvarint(id − previous id)… ]
//
// A chunk lists, in order, ids of the visitor's rows on one site within one
// UTC day of ids, the first in the key (token: appendKeyToken). A chunk of
// one id is the site alone, which is how layout 3 stored every index
// entry, so its keys read as chunks unchanged. Site ids hold no 0x00.
//
// The writer does not insert chunk keys on the beacon path: a skiplist
// insert per row was the largest single cost of storing a view. Its flush
// appends the batch's (site, visitor, id) entries to the index log, in the
// same batch as the rows, so the index is exactly as durable as they are:
//
//	log table(1) | firstID(8)  →  [ 0x00 0x01 ] { uvarint(len(site)) site | token(visitor) | varint(id − previous id) [ attrs ] }…
//
// (a site length of 0 repeats the previous entry's site; at most
// segmentEntries entries a key). The views' log (layout 5) starts with
// 0x00 0x01, which no entry starts with, and each of its entries carries
// the view's attributes that the visitor summaries keep (summaries.go:
// appendViewAttrs). mergeIndex folds the log into chunks, one
// per visitor, site and day, and deletes the segments it folded: when a
// table has mergeEntries entries waiting or mergeEvery has passed (the
// writer checks after each flush; an import checks after its batch), at
// Open, and before anything reads the index, so readers see every stored
// row. A merge that crashed between writing its chunks and deleting its
// segments is repeated: a chunk key it writes again is overwritten, and any
// id the old chunk had and the new one lacks is still in a segment, to be
// merged into another chunk (mergePass). Readers drop duplicate ids.
const (
	tableViewIndexLog  byte = 0x0a
	tableEventIndexLog byte = 0x0b

	segmentEntries = 16384
	mergeEntries   = 1 << 16
	mergeEvery     = 5 * time.Minute
	// maxPassSegments keeps a merge pass's deletion of its segments to one
	// Badger transaction, so it is atomic: a pass's segments are all gone
	// or all there, and a chunk a repeated pass overwrites only loses ids
	// that are still in segments.
	maxPassSegments = 1024
)

// indexLog is a record table's unmerged index log.
type indexLog struct {
	table   byte
	pending atomic.Int64 // entries written to the log and not merged yet
	merged  atomic.Int64 // Unix ns of the last merge
	mu      sync.Mutex   // serialises merges
}

// appendLogEntry appends one entry to a segment value; prevSite and prevID
// are the previous entry's (empty and 0 for the first).
func appendLogEntry(dst []byte, site, prevSite, visitor string, id, prevID uint64) []byte {
	if site == prevSite {
		dst = append(dst, 0)
	} else {
		dst = binary.AppendUvarint(dst, uint64(len(site)))
		dst = append(dst, site...)
	}
	dst = appendKeyToken(dst, visitor)
	return binary.AppendVarint(dst, int64(id-prevID))
}

// splitKeyToken splits an appendKeyToken token off the front of b.
func splitKeyToken(b []byte) (token, rest []byte, ok bool) {
	h, k := binary.Uvarint(b)
	if k <= 0 || h>>1 > uint64(len(b)-k) {
		return nil, nil, false
	}
	end := k + int(h>>1)
	return b[:end], b[end:], true
}

// logAttrsHeader starts a segment whose entries carry view attributes.
var logAttrsHeader = []byte{0, 1}

// decodeSegment calls fn for each entry of a segment value, with the
// visitor's key token (appendKeyToken) and, in a views segment, the view's
// attributes (else nil); site, token and attrs alias val.
func decodeSegment(val []byte, fn func(site, token []byte, id uint64, attrs []byte)) error {
	var site []byte
	var id uint64
	withAttrs := bytes.HasPrefix(val, logAttrsHeader)
	if withAttrs {
		val = val[len(logAttrsHeader):]
	}
	for len(val) > 0 {
		n, k := binary.Uvarint(val)
		if k <= 0 || n > uint64(len(val)-k) || n == 0 && site == nil {
			return fmt.Errorf("index log: %w", errTruncated)
		}
		val = val[k:]
		if n > 0 {
			site, val = val[:n], val[n:]
		}
		token, rest, ok := splitKeyToken(val)
		if !ok {
			return fmt.Errorf("index log: %w", errTruncated)
		}
		val = rest
		d, k := binary.Varint(val)
		if k <= 0 {
			return fmt.Errorf("index log: %w", errTruncated)
		}
		val = val[k:]
		id += uint64(d)
		var attrs []byte
		if withAttrs {
			if attrs, val, ok = splitViewAttrs(val); !ok {
				return fmt.Errorf("index log: %w", errTruncated)
			}
		}
		fn(site, token, id, attrs)
	}
	return nil
}

// logSegment collects one flush's index entries into segment values.
type logSegment struct {
	table    byte
	attrs    bool   // entries carry view attributes (addView)
	buf      []byte // keys and values, one after the other
	start    int    // where the open segment's key starts in buf, -1: none
	entries  int    // in the open segment
	total    int
	prevSite string
	prevID   uint64
	done     [][2]int // [key start, value end] of closed segments
}

func newLogSegment(table byte, n int) *logSegment {
	return &logSegment{table: table, buf: make([]byte, 0, 32*n), start: -1}
}

func (l *logSegment) add(site, visitor string, id uint64) {
	if l.start >= 0 && l.entries == segmentEntries {
		l.close()
	}
	if l.start < 0 {
		l.start = len(l.buf)
		l.buf = append(l.buf, l.table)
		l.buf = binary.BigEndian.AppendUint64(l.buf, id)
		if l.attrs {
			l.buf = append(l.buf, logAttrsHeader...)
		}
		l.prevSite, l.prevID, l.entries = "", 0, 0
	}
	l.buf = appendLogEntry(l.buf, site, l.prevSite, visitor, id, l.prevID)
	l.prevSite, l.prevID = site, id
	l.entries++
	l.total++
}

// addView adds a view's entry with its attributes (a segment made with
// attrs set).
func (l *logSegment) addView(site, visitor string, id uint64, v *View) {
	l.add(site, visitor, id)
	l.buf = appendViewAttrs(l.buf, v)
}

func (l *logSegment) close() {
	if l.start >= 0 {
		l.done = append(l.done, [2]int{l.start, len(l.buf)})
		l.start = -1
	}
}

// set adds the segments to wb. The keys and values alias buf, which must
// stay untouched until the batch commits.
func (l *logSegment) set(wb *badger.WriteBatch) error {
	l.close()
	for _, s := range l.done {
		key, val := l.buf[s[0]:s[0]+9:s[0]+9], l.buf[s[0]+9:s[1]:s[1]]
		if err := wb.Set(key, val); err != nil {
			return err
		}
	}
	return nil
}

// indexEntry is one row of a visitor's history.
type indexEntry struct {
	id   uint64
	site string
}

// visitorEntries lists visitor's index entries with lo ≤ id < hi, on site
// ("" for all), in id order without duplicates. Chunks never span two
// days, so the scan starts at the chunks of lo's day.
func visitorEntries(txn *badger.Txn, index byte, visitor, site string, lo, hi uint64) ([]indexEntry, error) {
	prefix := visitorPrefix(index, visitor)
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 100, Prefix: prefix})
	defer it.Close()
	var out []indexEntry
	var ids []uint64
	start := idFloor(DayOf(idTime(lo)).Time().UnixMilli())
	for it.Seek(appendVisitorKey(nil, index, visitor, start)); it.Valid(); it.Next() {
		item := it.Item()
		key := item.Key()
		if len(key) != len(prefix)+8 {
			return nil, fmt.Errorf("%w: %x", errBadKey, key)
		}
		first := keyID(key)
		if first >= hi {
			break
		}
		var s string
		err := item.Value(func(v []byte) (err error) {
			s, ids, err = decodeChunk(first, v, ids[:0])
			return err
		})
		if err != nil {
			return nil, err
		}
		if site != "" && s != site {
			continue
		}
		for _, id := range ids {
			if id >= lo && id < hi {
				out = append(out, indexEntry{id, s})
			}
		}
	}
	slices.SortFunc(out, func(a, b indexEntry) int { return cmp.Compare(a.id, b.id) })
	return slices.CompactFunc(out, func(a, b indexEntry) bool { return a.id == b.id }), nil
}

// indexLogged counts n entries written to t's log.
func (t *recordTable) indexLogged(n int) { t.log.pending.Add(int64(n)) }

// indexDue reports whether t's log should be merged now.
func (t *recordTable) indexDue(now time.Time) bool {
	n := t.log.pending.Load()
	if n <= 0 {
		return false
	}
	return n >= mergeEntries || now.Sub(time.Unix(0, t.log.merged.Load())) >= mergeEvery
}

// syncIndexes merges both index logs if they hold anything, so that a read
// of the visitor index that follows sees every stored row.
func (s *Store) syncIndexes() error {
	for _, t := range []*recordTable{&s.views, &s.events} {
		if t.log.pending.Load() == 0 {
			continue
		}
		if _, err := s.mergeIndex(t); err != nil {
			return err
		}
	}
	return nil
}

// mergeDue merges the index logs that are due (the writer calls it after
// its flushes); n is the entries merged.
func (s *Store) mergeDue(now time.Time) (n int, err error) {
	for _, t := range []*recordTable{&s.views, &s.events} {
		if !t.indexDue(now) {
			continue
		}
		m, err := s.mergeIndex(t)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// mergeIndex folds every segment of t's index log into chunks and deletes
// the segments, in passes of about mergeEntries entries so that a long log
// (after an import, or a crash under load) does not need its whole
// grouping in memory at once; it returns how many entries it merged.
// Segments written while it runs wait for the next merge. (Chunks from
// two passes can share a visitor, site and day: they are two chunks.)
func (s *Store) mergeIndex(t *recordTable) (int, error) {
	t.log.mu.Lock()
	defer t.log.mu.Unlock()
	total := 0
	for {
		n, more, err := s.mergePass(t)
		total += n
		if err != nil {
			return total, fmt.Errorf("merge visitor index: %w", err)
		}
		if t.log.pending.Add(-int64(n)) < 0 {
			t.log.pending.Store(0)
		}
		if !more {
			break
		}
	}
	if total == 0 {
		t.log.pending.Store(0)
	}
	t.log.merged.Store(time.Now().UnixNano())
	return total, nil
}

// mergePass folds the oldest segments, up to about mergeEntries entries
// and maxPassSegments segments; more reports that segments are left.
func (s *Store) mergePass(t *recordTable) (n int, more bool, err error) {
	groups := chunkGroups{byKey: make(map[string]*chunkGroup), sites: make(map[string]string)}
	var sums *summaryGroups // the views' summaries, once they are complete (summaries.go)
	if t == &s.views && s.sum.ready.Load() {
		sums = newSummaryGroups()
		groups.sums = sums
	}
	var segments [][]byte
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Prefix: []byte{t.log.table}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if n >= mergeEntries || len(segments) == maxPassSegments {
				more = true
				return nil
			}
			item := it.Item()
			err := item.Value(func(v []byte) error {
				return decodeSegment(v, func(site, token []byte, id uint64, attrs []byte) {
					groups.add(site, token, id, attrs)
					n++
				})
			})
			if err != nil {
				return fmt.Errorf("%x: %w", item.Key(), err)
			}
			segments = append(segments, item.KeyCopy(nil))
		}
		return nil
	})
	if err != nil || len(segments) == 0 {
		return 0, false, err
	}
	// Chunks first, then the segments' deletion: a crash in between leaves
	// the segments for the next merge, which writes the same chunks again.
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	// Keys and values are slices of one arena, which only grows: a slice
	// taken stays valid (and untouched) when a later append moves it.
	buf := make([]byte, 0, 32*n)
	for _, g := range groups.byKey {
		slices.Sort(g.ids)
		g.ids = slices.Compact(g.ids)
		if g.sum != nil && (g.sum.last == nil || g.ids[0] > g.sum.last.ids[0]) {
			g.sum.last = g
		}
	}
	if sums != nil {
		// Dirty until the segments are gone: a crash in between would
		// fold them twice (summaries.go). A pass that fails after this
		// may have stored part of its summaries: they stay unmaintained
		// (and the list of visitors unanswered) until Open rebuilds them.
		s.sum.mu.Lock()
		defer s.sum.mu.Unlock()
		defer func() {
			if err != nil {
				s.sum.ready.Store(false)
				s.forgetRecent()
			}
		}()
		if err := s.setListState(listDirty); err != nil {
			return 0, false, err
		}
		if err := s.foldSummaries(wb, sums); err != nil {
			return 0, false, err
		}
	}
	for _, g := range groups.byKey {
		start := len(buf)
		buf = append(buf, t.visitors)
		buf = append(buf, g.token...)
		buf = binary.BigEndian.AppendUint64(buf, g.ids[0])
		mid := len(buf)
		buf = appendChunkTrailer(buf, g.site, g.ids, g.trailer)
		if err := wb.Set(buf[start:mid:mid], buf[mid:len(buf):len(buf)]); err != nil {
			return 0, false, err
		}
	}
	if err := wb.Flush(); err != nil {
		return 0, false, err
	}
	del := s.db.NewWriteBatch()
	defer del.Cancel()
	for _, k := range segments {
		if err := del.Delete(k); err != nil {
			return 0, false, err
		}
	}
	if sums != nil {
		if err := del.Set(metaListState, []byte{listReady}); err != nil {
			return 0, false, err
		}
	}
	if err := del.Flush(); err != nil {
		return 0, false, err
	}
	if sums != nil {
		if err := s.growKnown(); err != nil {
			return 0, false, err
		}
	}
	return n, more, nil
}

// unindex removes ids from visitors' chunks (retention purge): purged maps
// a visitor to the ids of its rows that are gone.
func (s *Store) unindex(index byte, purged map[string][]uint64) error {
	if len(purged) == 0 {
		return nil
	}
	type edit struct{ key, val []byte } // val nil: delete
	var edits []edit
	err := s.db.View(func(txn *badger.Txn) error {
		for visitor, gone := range purged {
			drop := make(map[uint64]bool, len(gone))
			for _, id := range gone {
				drop[id] = true
			}
			prefix := visitorPrefix(index, visitor)
			it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Prefix: prefix})
			for it.Rewind(); it.Valid(); it.Next() {
				item := it.Item()
				key := item.Key()
				if len(key) != len(prefix)+8 {
					it.Close()
					return fmt.Errorf("%w: %x", errBadKey, key)
				}
				var site string
				var ids []uint64
				err := item.Value(func(v []byte) (err error) {
					site, ids, err = decodeChunk(keyID(key), v, nil)
					return err
				})
				if err != nil {
					it.Close()
					return err
				}
				n := len(ids)
				kept := slices.DeleteFunc(ids, func(id uint64) bool { return drop[id] })
				if len(kept) == n {
					continue
				}
				edits = append(edits, edit{item.KeyCopy(nil), nil})
				if len(kept) > 0 {
					edits = append(edits, edit{appendVisitorKey(nil, index, visitor, kept[0]), appendChunk(nil, site, kept)})
				}
			}
			it.Close()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("unindex: %w", err)
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, e := range edits {
		// A rewritten chunk may keep its key: deletes come before sets.
		if e.val == nil {
			if err := wb.Delete(e.key); err != nil {
				return err
			}
		}
	}
	for _, e := range edits {
		if e.val != nil {
			if err := wb.Set(e.key, e.val); err != nil {
				return err
			}
		}
	}
	return wb.Flush()
}
