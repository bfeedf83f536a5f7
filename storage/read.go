package storage

import (
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// The reads hand each record to fn by pointer. The pointer is only valid
// during the call: copy the value to keep it. fn returning false stops the
// read early without an error.

// Views calls fn for the views of site with from <= CreatedAt < to, in id
// order, which is oldest first.
func (s *Store) Views(site string, from, to time.Time, fn func(*View) bool) error {
	if !storedSite(site) {
		return fmt.Errorf("views: invalid site id %q", site)
	}
	err := s.db.View(func(txn *badger.Txn) error {
		return scanRows(txn, tableViews, site, from, to, func(id uint64, val []byte) (bool, error) {
			v := View{ID: id, CreatedAt: idTime(id), SiteID: site}
			if err := DecodeView(val, &v); err != nil {
				return false, fmt.Errorf("id %d: %w", id, err)
			}
			return fn(&v), nil
		})
	})
	if err != nil {
		return fmt.Errorf("views of %s: %w", site, err)
	}
	return nil
}

// Events is Views for events.
func (s *Store) Events(site string, from, to time.Time, fn func(*Event) bool) error {
	if !storedSite(site) {
		return fmt.Errorf("events: invalid site id %q", site)
	}
	err := s.db.View(func(txn *badger.Txn) error {
		return scanRows(txn, tableEvents, site, from, to, func(id uint64, val []byte) (bool, error) {
			e := Event{ID: id, CreatedAt: idTime(id), SiteID: site}
			if err := DecodeEvent(val, &e); err != nil {
				return false, fmt.Errorf("id %d: %w", id, err)
			}
			return fn(&e), nil
		})
	})
	if err != nil {
		return fmt.Errorf("events of %s: %w", site, err)
	}
	return nil
}

// VisitorViews calls fn for every view of visitorID, on all sites, oldest
// first: one prefix scan of the visitor index plus a point read per view.
func (s *Store) VisitorViews(visitorID string, fn func(*View) bool) error {
	err := s.syncIndexes()
	if err == nil {
		err = s.db.View(func(txn *badger.Txn) error {
			return scanVisitor(txn, tableVisitorViews, tableViews, visitorID, func(site string, id uint64, val []byte) (bool, error) {
				v := View{ID: id, CreatedAt: idTime(id), SiteID: site}
				if err := DecodeView(val, &v); err != nil {
					return false, fmt.Errorf("id %d: %w", id, err)
				}
				return fn(&v), nil
			})
		})
	}
	if err != nil {
		return fmt.Errorf("views of visitor: %w", err)
	}
	return nil
}

// VisitorEvents is VisitorViews for events. Events without a visitor id
// (ingested ones) are in no visitor's history.
func (s *Store) VisitorEvents(visitorID string, fn func(*Event) bool) error {
	err := s.syncIndexes()
	if err == nil {
		err = s.db.View(func(txn *badger.Txn) error {
			return scanVisitor(txn, tableVisitorEvents, tableEvents, visitorID, func(site string, id uint64, val []byte) (bool, error) {
				e := Event{ID: id, CreatedAt: idTime(id), SiteID: site}
				if err := DecodeEvent(val, &e); err != nil {
					return false, fmt.Errorf("id %d: %w", id, err)
				}
				return fn(&e), nil
			})
		})
	}
	if err != nil {
		return fmt.Errorf("events of visitor: %w", err)
	}
	return nil
}

// ViewByID reads one view by id: a point read per site (sites.go); ok is
// false when no view has that id.
func (s *Store) ViewByID(id uint64) (v View, ok bool, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		ok, err = s.getByID(txn, tableViews, id, func(site string, val []byte) error {
			v = View{ID: id, CreatedAt: idTime(id), SiteID: site}
			return DecodeView(val, &v)
		})
		return err
	})
	if err != nil {
		return View{}, false, fmt.Errorf("view %d: %w", id, err)
	}
	return v, ok, nil
}

// EventByID is ViewByID for events.
func (s *Store) EventByID(id uint64) (e Event, ok bool, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		ok, err = s.getByID(txn, tableEvents, id, func(site string, val []byte) error {
			e = Event{ID: id, CreatedAt: idTime(id), SiteID: site}
			return DecodeEvent(val, &e)
		})
		return err
	})
	if err != nil {
		return Event{}, false, fmt.Errorf("event %d: %w", id, err)
	}
	return e, ok, nil
}

// scanRows walks the primary rows of one site in [from, to), oldest first.
func scanRows(txn *badger.Txn, table byte, site string, from, to time.Time,
	fn func(id uint64, val []byte) (bool, error)) error {
	return scanBlocks(txn, table, site, idFloor(ceilMilli(from)), idFloor(ceilMilli(to)), fn)
}

// scanVisitor walks one visitor's index entries and reads each primary row.
// An index entry whose row is gone (deleted between index and row) is
// skipped.
func scanVisitor(txn *badger.Txn, index, table byte, visitor string,
	fn func(site string, id uint64, val []byte) (bool, error)) error {
	entries, err := visitorEntries(txn, index, visitor, "", 0, 1<<64-1)
	if err != nil {
		return err
	}
	for _, e := range entries {
		more := true
		if _, err := findRow(txn, table, e.site, e.id, func(val []byte, _ []byte) (err error) {
			more, err = fn(e.site, e.id, val)
			return err
		}); err != nil || !more {
			return err
		}
	}
	return nil
}

// getByID finds the row of id among the registered sites.
func (s *Store) getByID(txn *badger.Txn, table byte, id uint64, fn func(site string, val []byte) error) (bool, error) {
	if id == 0 {
		return false, nil
	}
	for _, site := range s.sites.all() {
		found, err := findRow(txn, table, site, id, func(val []byte, _ []byte) error { return fn(site, val) })
		if err != nil || found {
			return found, err
		}
	}
	return false, nil
}
