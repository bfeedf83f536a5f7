package storage

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Backdated writes. The writer's ids (ids.go) never go back in time: a
// record older than the newest stored one is stored at the newest time.
// History (the seed command, /api/ingest with a ts) must be stored at its
// own time, so imports take ids from the upper half of each millisecond's
// counter, n = 2048…4095, which the writer reaches only with more than 2048
// records in one millisecond. An import checks each candidate id against
// the stored rows of every site and takes the next free one, so imported
// ids never collide with stored ones nor with each other; imports are
// serialised by importMu.
const importSeqBase = 1 << (idSeqBits - 1)

var errMillisecondFull = errors.New("more than 2048 imported records in one millisecond")

// ImportViews stores views synchronously at their own CreatedAt (whole
// milliseconds, not before 2024), updating the counters exactly as if they
// had arrived live. It sets each view's ID and leaves views sorted by site
// and ID.
func (s *Store) ImportViews(views []View) error {
	for i := range views {
		if !ValidSiteID(views[i].SiteID) || len(views[i].VisitorID) > maxVisitorIDLen {
			return fmt.Errorf("import views: invalid site or visitor id in record %d", i)
		}
	}
	ref := func(i int) recordRef {
		v := &views[i]
		return recordRef{&v.ID, v.CreatedAt, v.SiteID, v.VisitorID, nil, v}
	}
	s.importMu.Lock()
	defer s.importMu.Unlock()
	if err := s.backdatedIDs(&s.views, len(views), ref); err != nil {
		return fmt.Errorf("import views: %w", err)
	}
	// Blocks of imported rows need them by site and id (blocks.go).
	slices.SortFunc(views, func(a, b View) int { return cmp.Or(cmp.Compare(a.SiteID, b.SiteID), cmp.Compare(a.ID, b.ID)) })
	err := s.writeAssigned(&s.views, len(views), 0, ref, func(dst []byte, i int) []byte {
		return EncodeView(dst, &views[i])
	}, func(a *aggregator) error { return a.addViews(views) })
	if err == nil {
		s.mergeImported()
	}
	return err
}

// mergeImported merges the visitor index log when due after an import,
// which no writer's loop follows. The rows are stored whatever happens: a
// failed merge keeps the log for the next one (a writer's, a reader's or
// Open's), which reports its error.
func (s *Store) mergeImported() { _, _ = s.mergeDue(time.Now()) }

// ImportEvents is ImportViews for events.
func (s *Store) ImportEvents(events []Event) error {
	for i := range events {
		if !ValidSiteID(events[i].SiteID) || len(events[i].VisitorID) > maxVisitorIDLen {
			return fmt.Errorf("import events: invalid site or visitor id in record %d", i)
		}
	}
	ref := func(i int) recordRef {
		e := &events[i]
		return recordRef{&e.ID, e.CreatedAt, e.SiteID, e.VisitorID, e, nil}
	}
	s.importMu.Lock()
	defer s.importMu.Unlock()
	if err := s.backdatedIDs(&s.events, len(events), ref); err != nil {
		return fmt.Errorf("import events: %w", err)
	}
	slices.SortFunc(events, func(a, b Event) int { return cmp.Or(cmp.Compare(a.SiteID, b.SiteID), cmp.Compare(a.ID, b.ID)) })
	err := s.writeAssigned(&s.events, len(events), 0, ref, func(dst []byte, i int) []byte {
		return EncodeEvent(dst, &events[i])
	}, func(a *aggregator) error { return a.addEvents(events) })
	if err == nil {
		s.mergeImported()
	}
	return err
}

// backdatedIDs gives each record the first free import id of its
// millisecond.
func (s *Store) backdatedIDs(t *recordTable, n int, ref func(int) recordRef) error {
	taken := make(map[uint64]bool, n)
	next := make(map[int64]uint64) // ms → next candidate seq
	for i := range n {
		r := ref(i)
		ms := max(r.createdAt.UnixMilli(), idEpochMS)
		base := idFloor(ms)
		for seq := max(next[ms], importSeqBase); ; seq++ {
			if seq >= 1<<idSeqBits {
				return fmt.Errorf("%w: %s", errMillisecondFull, msTime(ms).Format(time.RFC3339Nano))
			}
			id := base | seq
			if taken[id] {
				continue
			}
			used, err := s.idStored(t, id)
			if err != nil {
				return err
			}
			if !used {
				*r.id, taken[id], next[ms] = id, true, seq+1
				break
			}
		}
	}
	return nil
}

// idStored reports whether a record of t has id, on any site. It goes
// through the public reads, whatever the row layout.
func (s *Store) idStored(t *recordTable, id uint64) (bool, error) {
	if t == &s.views {
		_, ok, err := s.ViewByID(id)
		return ok, err
	}
	_, ok, err := s.EventByID(id)
	return ok, err
}
