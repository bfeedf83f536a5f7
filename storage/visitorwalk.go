package storage

import (
	"bytes"
	"cmp"
	"container/heap"
	"errors"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// ListVisitors returns one page of visitors (one row per visitor and
// site) over the retained views, from the visitor summaries
// (summaries.go), filtered and sorted as q says.
//
// Cost, after folding the index log's unmerged entries as every visitor
// index read does (at most the last 5 minutes or 65,536 entries):
//   - last seen / first seen: the views are walked newest first (oldest
//     first) from the cursor, and a view is listed when it is its
//     visitor's last (first) one, which one summary read per visitor met
//     tells: a page costs its visitors' views, or, filtered, at most
//     listScanBudget views;
//   - views: the by-views index is walked from the cursor, one entry per
//     visitor: a page costs its rows, or, filtered, at most
//     listScanBudget entries;
//   - both open one or two iterators per site. The first page counts the
//     total: unfiltered, the sites' visitor counts; filtered, the
//     summaries up to countBudget ("more than N" past it).
func (s *Store) ListVisitors(q VisitorQuery) (VisitorList, error) {
	sites, err := s.listSites(q.Site)
	if err != nil {
		return VisitorList{}, fmt.Errorf("list visitors: %w", err)
	}
	r := request{list: listVisitors, limit: limitOf(q.Limit), query: visitorQueryHash(q)}
	if r.cur, r.hasCursor, err = decodeCursor(q.Cursor, listVisitors, r.query); err != nil {
		return VisitorList{}, err
	}
	if q.Sort > SortViewsAsc {
		return VisitorList{}, fmt.Errorf("list visitors: unknown sort %d", q.Sort)
	}
	if byViews := q.Sort >= SortViewsDesc; r.hasCursor && byViews != (r.cur.token != nil) {
		return VisitorList{}, ErrBadCursor
	}
	if err := s.syncIndexes(); err != nil {
		return VisitorList{}, fmt.Errorf("list visitors: %w", err)
	}
	if !s.sum.ready.Load() {
		return VisitorList{}, errors.New("list visitors: the visitor summaries are being rebuilt")
	}
	var w walked[VisitorRow]
	total := r.cur.total
	err = s.db.View(func(txn *badger.Txn) error {
		if !r.hasCursor {
			var err error
			if total, err = s.countVisitors(txn, sites, &q); err != nil {
				return err
			}
		}
		if q.Sort == SortLastSeen || q.Sort == SortFirstSeen {
			return s.visitorsByTime(txn, sites, &q, &r, &w)
		}
		return s.visitorsByViews(txn, sites, &q, &r, &w)
	})
	if err != nil {
		return VisitorList{}, fmt.Errorf("list visitors: %w", err)
	}
	rows, p, restart := pageOf(&r, w, total)
	if restart {
		q.Cursor = ""
		return s.ListVisitors(q)
	}
	return VisitorList{Visitors: rows, Page: p}, nil
}

func (q *VisitorQuery) filtered() bool {
	return q.Device != "" || q.Country != "" || q.Returning != ReturningAny || q.Bot != BotAny || q.Search != ""
}

// countVisitors is the total of a first page: the sites' visitor counts,
// or, filtered, the matching summaries among the first countBudget.
func (s *Store) countVisitors(txn *badger.Txn, sites []string, q *VisitorQuery) (Total, error) {
	if !q.filtered() {
		var n uint64
		for _, site := range sites {
			c, err := visitorCount(txn, site)
			if err != nil {
				return Total{}, err
			}
			n += c
		}
		return Total{N: int(n), Exact: true}, nil
	}
	examined, matched := 0, 0
	for _, site := range sites {
		prefix := append(append([]byte{tableVisitorsByViews}, site...), 0)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
		for it.Rewind(); it.Valid(); it.Next() {
			if examined == s.budgets.count {
				it.Close()
				return Total{N: matched}, nil
			}
			examined++
			item := it.Item()
			if len(item.Key()) < len(prefix)+5 {
				it.Close()
				return Total{}, fmt.Errorf("%w: %x", errBadKey, item.Key())
			}
			token := item.Key()[len(prefix)+4:]
			var row VisitorRow
			err := item.Value(func(v []byte) (err error) {
				row, err = s.summaryRow(site, token, v)
				return err
			})
			if err != nil {
				it.Close()
				return Total{}, err
			}
			if q.matches(&row) {
				matched++
			}
		}
		it.Close()
	}
	return Total{N: matched, Exact: true}, nil
}

// summaryRow makes the row of a stored summary.
func (s *Store) summaryRow(site string, token, val []byte) (VisitorRow, error) {
	visitor, ok := keyTokenString(token)
	if !ok {
		return VisitorRow{}, fmt.Errorf("%w: visitor token %x", errBadKey, token)
	}
	sum, err := decodeSummary(val)
	if err != nil {
		return VisitorRow{}, err
	}
	return sum.row(site, visitor, s.IsExcluded(visitor)), nil
}

func (v *visitorSummary) row(site, visitor string, excluded bool) VisitorRow {
	r := VisitorRow{VisitorID: visitor, SiteID: site, Views: int(v.views), FirstSeen: idTime(v.first), LastSeen: idTime(v.last),
		MaxBotScore: v.maxScore, IsReturning: v.returning, IsExcluded: excluded}
	r.DeviceType, r.OSName, r.BrowserName, r.CountryCode = v.strings()
	return r
}

// visitorsByTime walks the views from the cursor and lists each view that
// is its visitor's last (first) one: a visitor is listed at the position
// of that view.
func (s *Store) visitorsByTime(txn *badger.Txn, sites []string, q *VisitorQuery, r *request, w *walked[VisitorRow]) error {
	last := q.Sort == SortLastSeen
	desc := last != r.back()
	walk := newRowWalk(txn, tableViews, sites, desc, r.cur.id, r.hasCursor)
	defer walk.close()
	type known struct {
		sum   visitorSummary
		found bool
	}
	seen := map[string]*known{} // site | 0x00 | visitor → its summary
	f := newSummaryFinder(txn, s.sum.gen.Load())
	defer f.close()
	var key []byte
	examined := 0
	for len(w.rows) <= r.limit {
		site, id, rec, ok := walk.next()
		if !ok {
			break
		}
		if examined++; examined > s.budgets.scan {
			w.stopped = &cursor{id: id}
			break
		}
		v := View{}
		if err := DecodeView(rec, &v); err != nil {
			return fmt.Errorf("view %d: %w", id, err)
		}
		// A view that is its visitor's last has the attributes the
		// summary shows: a view that fails the filters is not listed.
		if v.VisitorID == "" || q.Search != "" && !strings.Contains(v.VisitorID, q.Search) ||
			last && (q.Device != "" && v.DeviceType != q.Device || q.Country != "" && v.CountryCode != q.Country) {
			continue
		}
		key = append(append(append(key[:0], site...), 0), v.VisitorID...)
		k := seen[string(key)]
		if k == nil {
			lc, err := f.find(appendKeyToken(nil, v.VisitorID), site)
			if err != nil {
				return err
			}
			k = &known{sum: lc.sum, found: lc.hasSum}
			seen[string(key)] = k
		}
		anchor := k.sum.first
		if last {
			anchor = k.sum.last
		}
		if !k.found || anchor != id {
			continue
		}
		row := k.sum.row(site, v.VisitorID, s.IsExcluded(v.VisitorID))
		if q.matches(&row) {
			w.add(row, cursor{id: id})
		}
	}
	return walk.close()
}

// visitorsByViews walks the by-views index of the sites, merged in the
// order (views, visitor token, site), from the cursor.
func (s *Store) visitorsByViews(txn *badger.Txn, sites []string, q *VisitorQuery, r *request, w *walked[VisitorRow]) error {
	desc := (q.Sort == SortViewsDesc) != r.back()
	h := &viewsHeap{desc: desc}
	defer func() {
		for _, e := range h.items {
			e.it.Close()
		}
	}()
	for _, site := range sites {
		e := &viewsEntry{site: site, prefix: append(append([]byte{tableVisitorsByViews}, site...), 0)}
		e.it = txn.NewIterator(badger.IteratorOptions{Prefix: e.prefix, Reverse: desc, PrefetchValues: false})
		switch {
		case r.hasCursor:
			e.it.Seek(appendByViewsKey(nil, site, r.cur.views, r.cur.token))
		case desc:
			e.it.Seek(append(append([]byte(nil), e.prefix...), bytes.Repeat([]byte{0xff}, 16)...))
		default:
			e.it.Rewind()
		}
		ok, err := e.load()
		// Entries at the cursor's (views, token) of a site on the near
		// side of the cursor's were listed already.
		for ok && r.hasCursor && e.views == r.cur.views && bytes.Equal(e.token, r.cur.token) &&
			(desc && site >= r.cur.site || !desc && site <= r.cur.site) {
			e.it.Next()
			ok, err = e.load()
		}
		if err != nil {
			e.it.Close()
			return err
		}
		if !ok {
			e.it.Close()
			continue
		}
		h.items = append(h.items, e)
	}
	heap.Init(h)
	examined := 0
	for len(w.rows) <= r.limit && len(h.items) > 0 {
		e := h.items[0]
		pos := cursor{views: e.views, site: e.site, token: append([]byte(nil), e.token...)}
		if examined++; examined > s.budgets.scan {
			w.stopped = &pos
			break
		}
		row, err := s.summaryRow(e.site, e.token, e.val)
		if err != nil {
			return err
		}
		if q.matches(&row) {
			w.add(row, pos)
		}
		e.it.Next()
		ok, err := e.load()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
			e.it.Close()
		}
	}
	return nil
}

// viewsEntry is one site's position in the by-views index.
type viewsEntry struct {
	site   string
	prefix []byte
	it     *badger.Iterator
	views  uint64
	token  []byte
	val    []byte
}

// load reads the iterator's entry; ok is false past the site's entries.
func (e *viewsEntry) load() (ok bool, err error) {
	if !e.it.Valid() {
		return false, nil
	}
	item := e.it.Item()
	key := item.Key()
	if len(key) < len(e.prefix)+5 {
		return false, fmt.Errorf("%w: %x", errBadKey, key)
	}
	rest := key[len(e.prefix):]
	e.views = uint64(rest[0])<<24 | uint64(rest[1])<<16 | uint64(rest[2])<<8 | uint64(rest[3])
	e.token = append(e.token[:0], rest[4:]...)
	e.val, err = item.ValueCopy(e.val[:0])
	return err == nil, err
}

// viewsHeap orders the sites' entries by (views, token, site), largest
// first when desc.
type viewsHeap struct {
	items []*viewsEntry
	desc  bool
}

func (h *viewsHeap) Len() int { return len(h.items) }
func (h *viewsHeap) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	c := cmp.Or(cmp.Compare(a.views, b.views), bytes.Compare(a.token, b.token), cmp.Compare(a.site, b.site))
	if h.desc {
		return c > 0
	}
	return c < 0
}
func (h *viewsHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *viewsHeap) Push(x any)    { h.items = append(h.items, x.(*viewsEntry)) }
func (h *viewsHeap) Pop() any {
	n := len(h.items)
	x := h.items[n-1]
	h.items = h.items[:n-1]
	return x
}
