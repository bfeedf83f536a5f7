package storage

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Totals of the list pages from the counters: the day counters hold every
// stored row (tViewRows…, dimEvRows: agg_keys.go), and the retained window
// is the days from the later of the site's oldest stored row and the last
// purge's cutoff (kept under metaRetentionCut: clean rows and the others
// have cutoffs of their own) to the newest day. A total costs one counter
// read per site and retained day (a scan of the day's types for the
// chips): it grows with days and sites, never with rows.
var metaRetentionCut = []byte("\x00retention/cut") // cleanCut(4) | otherCut(4): Days, big endian

// setRetentionCut records the purge's cutoffs.
func (s *Store) setRetentionCut(clean, other Day) error {
	v := binary.BigEndian.AppendUint32(nil, uint32(clean))
	v = binary.BigEndian.AppendUint32(v, uint32(other))
	return s.db.Update(func(txn *badger.Txn) error { return txn.Set(metaRetentionCut, v) })
}

// retentionCut reads the last purge's cutoffs (0 before any purge).
func retentionCut(txn *badger.Txn) (clean, other Day, err error) {
	item, err := txn.Get(metaRetentionCut)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	err = item.Value(func(v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("%q has %d bytes", metaRetentionCut, len(v))
		}
		clean, other = Day(int32(binary.BigEndian.Uint32(v))), Day(int32(binary.BigEndian.Uint32(v[4:])))
		return nil
	})
	return clean, other, err
}

// retainedDays is the window of a site's table: the first day of clean
// rows and of other rows, and the last day; ok is false without rows.
type retainedDays struct {
	clean, other, last Day
}

func (s *Store) retained(txn *badger.Txn, t *recordTable, site string) (w retainedDays, ok bool, err error) {
	oldest := uint64(0)
	for _, tb := range []byte{t.rows, importTable(t.rows)} {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: sitePrefix(tb, site)})
		if it.Rewind(); it.Valid() {
			if id := keyID(it.Item().Key()); oldest == 0 || id < oldest {
				oldest = id
			}
		}
		it.Close()
	}
	if oldest == 0 {
		return w, false, nil
	}
	clean, other, err := retentionCut(txn)
	if err != nil {
		return w, false, err
	}
	first := DayOf(idTime(oldest))
	w.clean, w.other = max(first, clean), max(first, other)
	w.last = max(DayOf(time.Now()), DayOf(idTime(t.ids.current())))
	return w, true, nil
}

// sum is the rows of a day's counter c (clean and other fields at fc and
// fo) that the window holds.
func (w retainedDays) sum(day Day, c []uint64, fc, fo int) uint64 {
	var n uint64
	if day >= w.clean {
		n += c[fc]
	}
	if day >= w.other {
		n += c[fo]
	}
	return n
}

// rowTotal counts table's stored rows on sites from the counters.
func (s *Store) rowTotal(table byte, sites []string) (Total, bool, error) {
	t, fc, fo := &s.views, tViewRows, tViewRowsOther
	if table == tableEvents {
		t, fc, fo = &s.events, tEventRows, tEventRowsOther
	}
	var n uint64
	err := s.db.View(func(txn *badger.Txn) error {
		bySite := s.agg.pendingOf(sites)
		c := make([]uint64, totalFields)
		for _, site := range sites {
			w, ok, err := s.retained(txn, t, site)
			if err != nil {
				return err
			}
			if !ok {
				continue // a registered site without rows
			}
			p := bySite[site]
			for day := min(w.clean, w.other); day <= w.last; day++ {
				if err := dayCounts(txn, p, site, day, dimTotal, c); err != nil {
					return err
				}
				n += w.sum(day, c, fc, fo)
			}
		}
		return nil
	})
	if err != nil {
		return Total{}, false, fmt.Errorf("row total: %w", err)
	}
	return Total{N: int(n), Exact: true}, true, nil
}

// eventTotal counts the stored events of a type ("" = every type) on
// sites from the counters.
func (s *Store) eventTotal(sites []string, eventType string) (Total, bool, error) {
	if eventType == "" {
		return s.rowTotal(tableEvents, sites)
	}
	var n uint64
	err := s.db.View(func(txn *badger.Txn) error {
		bySite := s.agg.pendingOf(sites)
		c := make([]uint64, rowFields)
		for _, site := range sites {
			w, ok, err := s.retained(txn, &s.events, site)
			if err != nil {
				return err
			}
			if !ok {
				continue // a registered site without rows
			}
			p := bySite[site]
			for day := min(w.clean, w.other); day <= w.last; day++ {
				key := append(counterPrefix(site, day, dimEvRows), eventType...)
				if err := readCounter(txn, p, key, c); err != nil {
					return err
				}
				n += w.sum(day, c, rClean, rOther)
			}
		}
		return nil
	})
	if err != nil {
		return Total{}, false, fmt.Errorf("event total: %w", err)
	}
	return Total{N: int(n), Exact: true}, true, nil
}

// EventTypes returns the Events page's chips: every event type stored on
// site ("" = all sites) with its events (any score) over the retained
// window, most first (then by type). It reads the counters: one scan of
// each retained day's types per site.
func (s *Store) EventTypes(site string) ([]EventTypeTotal, error) {
	sites, err := s.listSites(site)
	if err != nil {
		return nil, fmt.Errorf("event types: %w", err)
	}
	counts := map[string]int{}
	bySite := s.agg.pendingOf(sites)
	err = s.db.View(func(txn *badger.Txn) error {
		for _, site := range sites {
			w, ok, err := s.retained(txn, &s.events, site)
			if err != nil {
				return err
			}
			if !ok {
				continue // a registered site without rows
			}
			p := bySite[site]
			it := counterIter(txn, site)
			for day := min(w.clean, w.other); day <= w.last && err == nil; day++ {
				err = scanDim(it, p, site, day, dimEvRows, nil, func(a, _ string, c []uint64) {
					if n := w.sum(day, c, rClean, rOther); n > 0 {
						counts[a] += int(n)
					}
				})
			}
			it.Close()
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("event types: %w", err)
	}
	out := make([]EventTypeTotal, 0, len(counts))
	for t, n := range counts {
		out = append(out, EventTypeTotal{Type: t, Count: n})
	}
	slices.SortFunc(out, func(a, b EventTypeTotal) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Type, b.Type))
	})
	return out, nil
}
