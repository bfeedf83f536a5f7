package storage

import (
	"bytes"
	"cmp"
	"container/heap"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// visitorQueryHash identifies a visitor query for its cursors.
func visitorQueryHash(q VisitorQuery) uint32 {
	return queryHash(listVisitors, q.Site, q.Device, q.Country, string(rune('0'+q.Returning)),
		string(rune('0'+q.Bot)), q.Search, string(rune('0'+q.Sort)))
}

// matches applies the filters of q to a visitor.
func (q *VisitorQuery) matches(row *VisitorRow) bool {
	switch {
	case q.Device != "" && row.DeviceType != q.Device,
		q.Country != "" && row.CountryCode != q.Country,
		q.Returning == ReturningOnly && !row.IsReturning,
		q.Returning == NewOnly && row.IsReturning,
		q.Bot == BotSuspect && row.MaxBotScore < 50,
		q.Bot == BotClean && (row.MaxBotScore < 0 || row.MaxBotScore >= 50),
		q.Search != "" && !strings.Contains(row.VisitorID, q.Search):
		return false
	}
	return true
}

// comparePos orders two positions of the visitors list in the list's
// order: last seen newest first, first seen oldest first, views (then
// visitor key token, then site) either way.
func comparePos(sort VisitorSort, a, b cursor) int {
	switch sort {
	case SortLastSeen:
		return cmp.Compare(b.id, a.id)
	case SortFirstSeen:
		return cmp.Compare(a.id, b.id)
	}
	c := cmp.Compare(a.views, b.views)
	if c == 0 {
		c = strings.Compare(string(a.token), string(b.token))
	}
	if c == 0 {
		c = strings.Compare(a.site, b.site)
	}
	if sort == SortViewsDesc {
		c = -c
	}
	return c
}

// VisitorDetail reads one visitor's cards and newest views and events (at
// most limit each, up to VisitorDetailLimit, newest first) on every site.
//
// Cost, after folding the index log's unmerged entries: one walk of the
// visitor's index chunks per table (a chunk holds the visitor's rows of a
// site, day and merge pass, so this grows with the days and sites the
// visitor was seen on, not with its rows), one summary read per site (the
// active time and devices), and a read of each listed row.
func (s *Store) VisitorDetail(visitorID string, limit int) (VisitorDetail, error) {
	d := VisitorDetail{VisitorID: visitorID, Views: []View{}, Events: []Event{}}
	if visitorID == "" || len(visitorID) > maxVisitorIDLen {
		return d, nil
	}
	limit = max(0, min(limit, VisitorDetailLimit))
	if err := s.syncIndexes(); err != nil {
		return d, fmt.Errorf("visitor detail: %w", err)
	}
	err := s.db.View(func(txn *badger.Txn) error {
		views, err := newestOfVisitor(txn, tableVisitorViews, visitorID, limit)
		if err != nil {
			return err
		}
		events, err := newestOfVisitor(txn, tableVisitorEvents, visitorID, limit)
		if err != nil {
			return err
		}
		d.Pageviews, d.EventCount = views.count, events.count
		if views.count > 0 {
			d.FirstSeen, d.LastSeen = idTime(views.first), idTime(views.last)
		}
		devices := map[string]struct{}{}
		gen := s.sum.gen.Load()
		for _, trailer := range views.trailers {
			sum, ok, err := parseTrailer(trailer, gen)
			if err != nil {
				return err
			}
			if ok {
				d.ActiveMS += int64(sum.active)
				device, _, _, _ := sum.strings()
				addTo(devices, device)
			}
		}
		for _, e := range views.newest {
			_, err := findRow(txn, tableViews, e.site, e.id, func(rec []byte, _ []byte) error {
				v := View{ID: e.id, CreatedAt: idTime(e.id), SiteID: e.site}
				err := DecodeView(rec, &v)
				d.Views = append(d.Views, v)
				addTo(devices, v.DeviceType)
				return err
			})
			if err != nil {
				return err
			}
		}
		for _, e := range events.newest {
			_, err := findRow(txn, tableEvents, e.site, e.id, func(rec []byte, _ []byte) error {
				ev := Event{ID: e.id, CreatedAt: idTime(e.id), SiteID: e.site}
				err := DecodeEvent(rec, &ev)
				d.Events = append(d.Events, ev)
				return err
			})
			if err != nil {
				return err
			}
		}
		d.Devices, d.Sites = sortedKeys(devices), views.sites
		return nil
	})
	if err != nil {
		return d, fmt.Errorf("visitor detail: %w", err)
	}
	if e, ok, err := s.Exclusion(visitorID); err != nil {
		return d, fmt.Errorf("visitor detail: %w", err)
	} else if ok {
		d.Exclusion = &e
	}
	return d, nil
}

// visitorRows is what newestOfVisitor found.
type visitorRows struct {
	count       int
	first, last uint64
	sites       []string     // sorted
	newest      []indexEntry // newest first
	// trailers are the trailers of the last chunk of each site (views'
	// index: the visitor's summaries there), by site.
	trailers map[string][]byte
}

// newestOfVisitor walks visitor's index chunks: it counts the rows, finds
// the first and last, the sites, and keeps the newest n.
func newestOfVisitor(txn *badger.Txn, index byte, visitor string, n int) (visitorRows, error) {
	out := visitorRows{trailers: map[string][]byte{}}
	prefix := visitorPrefix(index, visitor)
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 100, Prefix: prefix})
	defer it.Close()
	top := &entryHeap{}
	sites := map[string]struct{}{}
	var ids []uint64
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		key := item.Key()
		if len(key) != len(prefix)+8 {
			return out, fmt.Errorf("%w: %x", errBadKey, key)
		}
		var site string
		err := item.Value(func(v []byte) (err error) {
			var trailer []byte
			site, ids, trailer, err = decodeChunkTrailer(keyID(key), v, ids[:0])
			if err == nil {
				// Chunks come in key order: the site's last one wins.
				out.trailers[site] = bytes.Clone(trailer)
			}
			return err
		})
		if err != nil {
			return out, err
		}
		sites[site] = struct{}{}
		for _, id := range ids {
			if out.count == 0 || id < out.first {
				out.first = id
			}
			out.last = max(out.last, id)
			out.count++
			if n == 0 {
				continue
			}
			if top.Len() < n {
				heap.Push(top, indexEntry{id, site})
			} else if id > top.items[0].id {
				top.items[0] = indexEntry{id, site}
				heap.Fix(top, 0)
			}
		}
	}
	out.sites = sortedKeys(sites)
	out.newest = make([]indexEntry, top.Len())
	for i := len(out.newest) - 1; i >= 0; i-- {
		out.newest[i] = heap.Pop(top).(indexEntry)
	}
	return out, nil
}

// entryHeap is a min-heap of index entries by id.
type entryHeap struct{ items []indexEntry }

func (h *entryHeap) Len() int           { return len(h.items) }
func (h *entryHeap) Less(i, j int) bool { return h.items[i].id < h.items[j].id }
func (h *entryHeap) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *entryHeap) Push(x any)         { h.items = append(h.items, x.(indexEntry)) }
func (h *entryHeap) Pop() any {
	n := len(h.items)
	x := h.items[n-1]
	h.items = h.items[:n-1]
	return x
}
