package storage

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ListVisitors returns one page of visitors (one row per visitor and site)
// over the retained views, filtered and sorted as q says.
//
// This first version groups every retained view of the sites in memory:
// its cost grows with the store. The visitor summaries replace it.
func (s *Store) ListVisitors(q VisitorQuery) (VisitorList, error) {
	sites, err := s.listSites(q.Site)
	if err != nil {
		return VisitorList{}, fmt.Errorf("list visitors: %w", err)
	}
	r := request{list: listVisitors, limit: limitOf(q.Limit), query: visitorQueryHash(q)}
	if r.cur, r.hasCursor, err = decodeCursor(q.Cursor, listVisitors, r.query); err != nil {
		return VisitorList{}, err
	}
	type key struct{ site, visitor string }
	by := map[key]*VisitorRow{}
	firstID, lastID := map[key]uint64{}, map[key]uint64{}
	for _, site := range sites {
		err := s.Views(site, time.Time{}, time.Unix(1<<40, 0), func(v *View) bool {
			if v.VisitorID == "" {
				return true
			}
			k := key{site, v.VisitorID}
			row := by[k]
			if row == nil {
				row = &VisitorRow{VisitorID: v.VisitorID, SiteID: site, FirstSeen: v.CreatedAt, MaxBotScore: v.BotScore}
				by[k] = row
				firstID[k] = v.ID
			}
			row.Views++
			row.LastSeen = v.CreatedAt
			lastID[k] = v.ID
			row.DeviceType, row.OSName, row.BrowserName, row.CountryCode = v.DeviceType, v.OSName, v.BrowserName, v.CountryCode
			row.MaxBotScore = max(row.MaxBotScore, v.BotScore)
			row.IsReturning = row.IsReturning || v.IsReturning
			return true
		})
		if err != nil {
			return VisitorList{}, fmt.Errorf("list visitors: %w", err)
		}
	}
	type item struct {
		row VisitorRow
		pos cursor
	}
	var all []item
	for k, row := range by {
		row.IsExcluded = s.IsExcluded(k.visitor)
		if !q.matches(row) {
			continue
		}
		pos := cursor{}
		switch q.Sort {
		case SortLastSeen:
			pos.id = lastID[k]
		case SortFirstSeen:
			pos.id = firstID[k]
		default:
			pos.views, pos.site, pos.token = uint64(row.Views), k.site, appendKeyToken(nil, k.visitor)
		}
		all = append(all, item{*row, pos})
	}
	order := func(a, b cursor) int { return comparePos(q.Sort, a, b) }
	slices.SortFunc(all, func(a, b item) int { return order(a.pos, b.pos) })
	total := Total{N: len(all), Exact: true}
	if r.hasCursor {
		total = r.cur.total
	}
	var w walked[VisitorRow]
	start := 0
	if r.hasCursor {
		start, _ = slices.BinarySearchFunc(all, r.cur, func(it item, c cursor) int { return order(it.pos, c) })
	}
	if r.back() {
		for i := start - 1; i >= 0 && len(w.rows) <= r.limit; i-- {
			w.add(all[i].row, all[i].pos)
		}
	} else {
		if r.hasCursor && start < len(all) && order(all[start].pos, r.cur) == 0 {
			start++
		}
		for i := start; i < len(all) && len(w.rows) <= r.limit; i++ {
			w.add(all[i].row, all[i].pos)
		}
	}
	rows, p, restart := pageOf(&r, w, total)
	if restart {
		q.Cursor = ""
		return s.ListVisitors(q)
	}
	return VisitorList{Visitors: rows, Page: p}, nil
}

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

// VisitorDetail reads one visitor's cards and newest views and events
// (at most limit each, newest first) on every site.
//
// This first version reads every row of the visitor.
func (s *Store) VisitorDetail(visitorID string, limit int) (VisitorDetail, error) {
	d := VisitorDetail{VisitorID: visitorID}
	if visitorID == "" {
		return d, nil
	}
	limit = max(0, min(limit, VisitorDetailLimit))
	views := newest[View]{n: limit}
	devices, sitesSeen := map[string]struct{}{}, map[string]struct{}{}
	err := s.VisitorViews(visitorID, func(v *View) bool {
		if d.Pageviews == 0 {
			d.FirstSeen = v.CreatedAt
		}
		d.Pageviews++
		d.LastSeen = v.CreatedAt
		d.ActiveMS += max(0, v.InteractionMS)
		addTo(devices, v.DeviceType)
		addTo(sitesSeen, v.SiteID)
		views.add(*v)
		return true
	})
	if err != nil {
		return d, fmt.Errorf("visitor detail: %w", err)
	}
	events := newest[Event]{n: limit}
	err = s.VisitorEvents(visitorID, func(e *Event) bool {
		d.EventCount++
		events.add(*e)
		return true
	})
	if err != nil {
		return d, fmt.Errorf("visitor detail: %w", err)
	}
	d.Devices, d.Sites = sortedKeys(devices), sortedKeys(sitesSeen)
	d.Views, d.Events = views.list(), events.list()
	if e, ok, err := s.Exclusion(visitorID); err != nil {
		return d, fmt.Errorf("visitor detail: %w", err)
	} else if ok {
		d.Exclusion = &e
	}
	return d, nil
}
