package storage

import "slices"

// One request of a list walks from its cursor (or the list's start) in the
// list's order, or against it for a Prev cursor, collecting up to limit+1
// matches (the extra one tells whether there is more), within the scan
// budget. pageOf turns what it found into the page.

// walked is what one walk found: the matching rows in walk order, each
// with its position (a cursor holding only the key fields), and where the
// budget stopped the walk, if it did.
type walked[T any] struct {
	rows    []T
	pos     []cursor
	stopped *cursor
}

func (w *walked[T]) add(row T, pos cursor) {
	w.rows = append(w.rows, row)
	w.pos = append(w.pos, pos)
}

// request is a list request after decoding its cursor.
type request struct {
	list      byte
	query     uint32
	limit     int
	cur       cursor
	hasCursor bool
}

// back reports whether the walk goes against the list's order (a Prev
// cursor).
func (r *request) back() bool { return r.hasCursor && r.cur.prev }

// pageOf assembles the page of a walk. restart reports that a backward walk
// reached the start of the list with less than a page: the caller answers
// the first page instead, as a fresh request.
func pageOf[T any](r *request, w walked[T], total Total) (rows []T, p Page, restart bool) {
	limit := r.limit
	more := len(w.rows) > limit
	if more {
		w.rows, w.pos = w.rows[:limit], w.pos[:limit]
	}
	mk := func(prev bool, pos cursor, page int) string {
		pos.list, pos.prev, pos.query, pos.page, pos.total = r.list, prev, r.query, page, total
		return pos.encode()
	}
	p.Total = total
	p.Partial = w.stopped != nil
	// edge is the position next to the rows on one side: the nearest row,
	// else where the budget stopped (every row between was examined),
	// else the cursor's own position.
	edge := func(row int) cursor {
		switch {
		case len(w.pos) > 0:
			return w.pos[row]
		case w.stopped != nil:
			return *w.stopped
		}
		return r.cur
	}
	if !r.back() {
		p.Number = 1
		if r.hasCursor {
			p.Number = r.cur.page
		}
		switch {
		case more:
			p.Next = mk(false, w.pos[len(w.pos)-1], p.Number+1)
		case w.stopped != nil:
			p.Next = mk(false, *w.stopped, p.Number+1)
		}
		if p.Number > 1 {
			p.Prev = mk(true, edge(0), p.Number-1)
		}
		return w.rows, p, false
	}
	// A backward walk found the rows nearest first: put them in list order.
	slices.Reverse(w.rows)
	slices.Reverse(w.pos)
	switch {
	case more:
		p.Number = max(r.cur.page, 2)
		p.Prev = mk(true, w.pos[0], p.Number-1)
	case w.stopped != nil:
		p.Number = max(r.cur.page, 2)
		p.Prev = mk(true, *w.stopped, p.Number-1)
	case len(w.rows) < limit:
		return nil, Page{}, true
	default:
		p.Number = 1
	}
	p.Next = mk(false, edge(len(w.pos)-1), p.Number+1)
	return w.rows, p, false
}
