package storage

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// The reads hand each record to fn by pointer. The pointer is only valid
// during the call: copy the value to keep it. fn returning false stops the
// read early without an error.

// Views calls fn for the views of site with from <= CreatedAt < to, oldest
// first (ties by id).
func (s *Store) Views(site string, from, to time.Time, fn func(*View) bool) error {
	if !ValidSiteID(site) {
		return fmt.Errorf("views: invalid site id %q", site)
	}
	err := s.db.View(func(txn *badger.Txn) error {
		return scanRows(txn, tableViews, site, from, to, func(ms int64, id uint64, val []byte) (bool, error) {
			v := View{ID: id, CreatedAt: msTime(ms), SiteID: site}
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
	if !ValidSiteID(site) {
		return fmt.Errorf("events: invalid site id %q", site)
	}
	err := s.db.View(func(txn *badger.Txn) error {
		return scanRows(txn, tableEvents, site, from, to, func(ms int64, id uint64, val []byte) (bool, error) {
			e := Event{ID: id, CreatedAt: msTime(ms), SiteID: site}
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
	err := s.db.View(func(txn *badger.Txn) error {
		return scanVisitor(txn, tableVisitorViews, tableViews, visitorID, func(site string, ms int64, id uint64, val []byte) (bool, error) {
			v := View{ID: id, CreatedAt: msTime(ms), SiteID: site}
			if err := DecodeView(val, &v); err != nil {
				return false, fmt.Errorf("id %d: %w", id, err)
			}
			return fn(&v), nil
		})
	})
	if err != nil {
		return fmt.Errorf("views of visitor: %w", err)
	}
	return nil
}

// VisitorEvents is VisitorViews for events. Events without a visitor id
// (ingested ones) are in no visitor's history.
func (s *Store) VisitorEvents(visitorID string, fn func(*Event) bool) error {
	err := s.db.View(func(txn *badger.Txn) error {
		return scanVisitor(txn, tableVisitorEvents, tableEvents, visitorID, func(site string, ms int64, id uint64, val []byte) (bool, error) {
			e := Event{ID: id, CreatedAt: msTime(ms), SiteID: site}
			if err := DecodeEvent(val, &e); err != nil {
				return false, fmt.Errorf("id %d: %w", id, err)
			}
			return fn(&e), nil
		})
	})
	if err != nil {
		return fmt.Errorf("events of visitor: %w", err)
	}
	return nil
}

// ViewByID reads one view by id with two point reads; ok is false when no
// view has that id.
func (s *Store) ViewByID(id uint64) (v View, ok bool, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		ok, err = getByID(txn, tableViewIDs, tableViews, id, func(site string, ms int64, val []byte) error {
			v = View{ID: id, CreatedAt: msTime(ms), SiteID: site}
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
		ok, err = getByID(txn, tableEventIDs, tableEvents, id, func(site string, ms int64, val []byte) error {
			e = Event{ID: id, CreatedAt: msTime(ms), SiteID: site}
			return DecodeEvent(val, &e)
		})
		return err
	})
	if err != nil {
		return Event{}, false, fmt.Errorf("event %d: %w", id, err)
	}
	return e, ok, nil
}

// scanRows walks the primary rows of one site in [from, to).
func scanRows(txn *badger.Txn, table byte, site string, from, to time.Time,
	fn func(ms int64, id uint64, val []byte) (bool, error)) error {
	prefix := sitePrefix(table, site)
	end := rowKey(table, site, ceilMilli(to), 0)
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 100, Prefix: prefix})
	defer it.Close()
	for it.Seek(rowKey(table, site, ceilMilli(from), 0)); it.Valid(); it.Next() {
		item := it.Item()
		key := item.Key()
		if bytes.Compare(key, end) >= 0 {
			return nil
		}
		if len(key) != len(prefix)+16 {
			return fmt.Errorf("%w: %x", errBadKey, key)
		}
		ms, id, _ := splitTimeID(key)
		var more bool
		err := item.Value(func(val []byte) (err error) {
			more, err = fn(ms, id, val)
			return err
		})
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// scanVisitor walks one visitor's index entries and reads each primary row.
// An index entry whose row is gone (deleted between index and row) is
// skipped.
func scanVisitor(txn *badger.Txn, index, table byte, visitor string,
	fn func(site string, ms int64, id uint64, val []byte) (bool, error)) error {
	prefix := visitorPrefix(index, visitor)
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 100, Prefix: prefix})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		key := item.Key()
		if len(key) != len(prefix)+16 {
			return fmt.Errorf("%w: %x", errBadKey, key)
		}
		ms, id, _ := splitTimeID(key)
		site, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		row, err := txn.Get(rowKey(table, string(site), ms, id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		var more bool
		err = row.Value(func(val []byte) (err error) {
			more, err = fn(string(site), ms, id, val)
			return err
		})
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// getByID resolves an id through the id index to its primary row.
func getByID(txn *badger.Txn, index, table byte, id uint64, fn func(site string, ms int64, val []byte) error) (bool, error) {
	item, err := txn.Get(idKey(index, id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ref, err := item.ValueCopy(nil)
	if err != nil {
		return false, err
	}
	site, ms, err := parseIDValue(ref)
	if err != nil {
		return false, err
	}
	row, err := txn.Get(rowKey(table, site, ms, id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, row.Value(func(val []byte) error { return fn(site, ms, val) })
}
