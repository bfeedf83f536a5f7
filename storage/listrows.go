package storage

import (
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// ListViews returns one page of raw views, newest first (oldest first with
// q.Oldest), of a site or of all sites, filtered by device type, country,
// bot class and a substring of the visitor id or the path.
//
// Cost: one iterator per site and table, then the rows walked from the
// cursor: a page reads its rows (plus one), or, filtered, at most
// listScanBudget rows; the first page also counts the total (filtered: at
// most countBudget rows, "more than N" past that; the count shares the
// page's walk). Later pages read the total from their cursor.
func (s *Store) ListViews(q ViewQuery) (ViewList, error) {
	sites, err := s.listSites(q.Site)
	if err != nil {
		return ViewList{}, fmt.Errorf("list views: %w", err)
	}
	r := request{list: listViews, limit: limitOf(q.Limit),
		query: queryHash(listViews, q.Site, q.Device, q.Country, string(rune('0'+q.Bot)), q.Search, boolKey(q.Oldest))}
	if r.cur, r.hasCursor, err = decodeCursor(q.Cursor, listViews, r.query); err != nil {
		return ViewList{}, err
	}
	filtered := q.Device != "" || q.Country != "" || q.Bot != BotAny || q.Search != ""
	known := func() (Total, bool, error) {
		if filtered {
			return Total{}, false, nil
		}
		return s.rowTotal(tableViews, sites)
	}
	match := func(v *View) bool {
		return (q.Device == "" || v.DeviceType == q.Device) &&
			(q.Country == "" || v.CountryCode == q.Country) &&
			q.Bot.matches(v.BotScore) &&
			(q.Search == "" || strings.Contains(v.VisitorID, q.Search) || strings.Contains(v.Path, q.Search))
	}
	decode := func(site string, id uint64, rec []byte) (View, error) {
		v := View{ID: id, CreatedAt: idTime(id), SiteID: site}
		return v, DecodeView(rec, &v)
	}
	rows, p, restart, err := listRows(s, tableViews, &r, sites, q.Oldest, known, decode, match)
	if restart {
		q.Cursor = ""
		return s.ListViews(q)
	}
	if err != nil {
		return ViewList{}, fmt.Errorf("list views: %w", err)
	}
	return ViewList{Views: rows, Page: p}, nil
}

// ListEvents is ListViews for events, filtered by type (exactly) and a
// substring of the type or the data. Same cost bound.
func (s *Store) ListEvents(q EventQuery) (EventList, error) {
	sites, err := s.listSites(q.Site)
	if err != nil {
		return EventList{}, fmt.Errorf("list events: %w", err)
	}
	r := request{list: listEvents, limit: limitOf(q.Limit),
		query: queryHash(listEvents, q.Site, q.Type, q.Search, boolKey(q.Oldest))}
	if r.cur, r.hasCursor, err = decodeCursor(q.Cursor, listEvents, r.query); err != nil {
		return EventList{}, err
	}
	known := func() (Total, bool, error) {
		if q.Search != "" {
			return Total{}, false, nil
		}
		return s.eventTotal(sites, q.Type)
	}
	match := func(e *Event) bool {
		return (q.Type == "" || e.EventType == q.Type) &&
			(q.Search == "" || strings.Contains(e.EventType, q.Search) || strings.Contains(e.Data, q.Search))
	}
	decode := func(site string, id uint64, rec []byte) (Event, error) {
		e := Event{ID: id, CreatedAt: idTime(id), SiteID: site}
		return e, DecodeEvent(rec, &e)
	}
	rows, p, restart, err := listRows(s, tableEvents, &r, sites, q.Oldest, known, decode, match)
	if restart {
		q.Cursor = ""
		return s.ListEvents(q)
	}
	if err != nil {
		return EventList{}, fmt.Errorf("list events: %w", err)
	}
	return EventList{Events: rows, Page: p}, nil
}

// matches reports whether a score passes the filter.
func (f BotFilter) matches(score int) bool {
	switch f {
	case BotSuspect:
		return score >= 50
	case BotClean:
		return score >= 0 && score < 50
	}
	return true
}

func boolKey(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// listSites is the sites a list reads: site, or every site for "".
func (s *Store) listSites(site string) ([]string, error) {
	if site == "" {
		return s.sites.all(), nil
	}
	if !ValidSiteID(site) {
		return nil, fmt.Errorf("invalid site id %q", site)
	}
	return []string{site}, nil
}

// listRows walks table's rows for one page of r. The first page gets its
// total from known (when it knows it) or counts it: its walk goes on past
// the page, up to countBudget rows.
func listRows[T any](s *Store, table byte, r *request, sites []string, oldest bool, known func() (Total, bool, error),
	decode func(site string, id uint64, rec []byte) (T, error), match func(*T) bool) (rows []T, p Page, restart bool, err error) {
	var w walked[T]
	total := r.cur.total
	counting := !r.hasCursor
	if counting {
		var ok bool
		if total, ok, err = known(); err != nil {
			return nil, Page{}, false, err
		}
		counting = !ok
	}
	desc := !oldest
	if r.back() {
		desc = !desc
	}
	err = s.db.View(func(txn *badger.Txn) error {
		walk := newRowWalk(txn, table, sites, desc, r.cur.id, r.hasCursor)
		defer walk.close()
		examined, matched := 0, 0
		for {
			full := len(w.rows) > r.limit
			if full && !counting {
				break
			}
			site, id, rec, ok := walk.next()
			if !ok {
				if counting {
					total = Total{N: matched, Exact: true}
				}
				break
			}
			examined++
			row, err := decode(site, id, rec)
			if err != nil {
				return fmt.Errorf("id %d: %w", id, err)
			}
			if match(&row) {
				matched++
				if !full {
					w.add(row, cursor{id: id})
				}
			}
			if counting && examined >= s.budgets.count {
				total, counting = Total{N: matched}, false
			}
			if len(w.rows) <= r.limit && examined >= s.budgets.scan {
				w.stopped = &cursor{id: id}
				if counting {
					total = Total{N: matched}
				}
				break
			}
		}
		return walk.close()
	})
	if err != nil {
		return nil, Page{}, false, err
	}
	rows, p, restart = pageOf(r, w, total)
	return rows, p, restart, nil
}
