package storage

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Imported daily rollups: the history of a day whose raw rows are gone,
// as another analytics store summarised it (see docs/operations.md,
// "Coming from the original Echelon"). Such a day has no rows to re-derive
// its counters from, so its rollup is kept as a base that every
// re-derivation of the day (the daily maintenance, a late record) adds to
// what the rows give:
//
//	0x12 | site | 0x00 | day(2)  →  JSON of []RollupGroup
//
// A base is purged with the day's counters.
const tableRollupBase byte = 0x12

// RollupGroup is one row of a daily rollup: the clean, not excluded views
// of one device type and country (""= unknown) on the day.
type RollupGroup struct {
	DeviceType  string `json:"d,omitempty"`
	CountryCode string `json:"c,omitempty"`
	Returning   bool   `json:"r,omitempty"`
	Visits      uint64 `json:"v"`
	// Visitors are the group's distinct visitors; a day counts the most
	// of any of its groups (visitors of two groups cannot be told apart).
	Visitors uint64 `json:"u,omitempty"`
	// AvgInteractionMS is the mean positive time to first interaction of
	// the group's views (0: none had one); the day's mean weighs it by
	// Visits.
	AvgInteractionMS uint64 `json:"i,omitempty"`
}

// DayRollup is one site's rollup of one day.
type DayRollup struct {
	SiteID string
	Day    Day
	Groups []RollupGroup
}

func rollupBaseKey(site string, day Day) []byte {
	k := append(append([]byte{tableRollupBase}, site...), 0)
	return binary.BigEndian.AppendUint16(k, uint16(day))
}

func siteRollupBasePrefix(site string) []byte {
	return append(append([]byte{tableRollupBase}, site...), 0)
}

// ImportRollups stores each day's rollup as the day's base, replacing the
// base it had (a rollup without groups removes it), and re-derives the day's counters (its rows, without the
// visitors excluded now, plus the base), so importing the same rollups
// again changes nothing. The sites are registered like a clean record's.
func (s *Store) ImportRollups(ctx context.Context, rollups []DayRollup) error {
	for _, r := range rollups {
		if !ValidSiteID(r.SiteID) {
			return fmt.Errorf("import rollups: invalid site id %q", r.SiteID)
		}
	}
	excluded, err := s.Excluded()
	if err != nil {
		return fmt.Errorf("import rollups: %w", err)
	}
	// A finished day the aggregator rebuilds later leaves them out too.
	s.agg.mu.Lock()
	s.agg.excluded = excluded
	s.agg.mu.Unlock()
	s.sites.use.RLock()
	defer s.sites.use.RUnlock()
	for _, r := range rollups {
		site := r.SiteID
		if err := s.place(1, func(int) (*string, bool) { return &site, true }); err != nil {
			return fmt.Errorf("import rollups: %w", err)
		}
		if site != r.SiteID {
			return fmt.Errorf("import rollups: site %s: the store holds its maximum of sites", r.SiteID)
		}
		val, err := json.Marshal(r.Groups)
		if err != nil {
			return err
		}
		if err := s.db.Update(func(txn *badger.Txn) error {
			if len(r.Groups) == 0 {
				return txn.Delete(rollupBaseKey(site, r.Day))
			}
			return txn.Set(rollupBaseKey(site, r.Day), val)
		}); err != nil {
			return fmt.Errorf("import rollups: %w", err)
		}
		if _, err := s.agg.rollupSite(ctx, site, r.Day, excluded); err != nil {
			return fmt.Errorf("import rollups: %s %s: %w", site, r.Day, err)
		}
	}
	return nil
}

// readRollupBase is the imported rollup of site's day, or nil.
func readRollupBase(db *badger.DB, site string, day Day) ([]RollupGroup, error) {
	var groups []RollupGroup
	err := db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(rollupBaseKey(site, day))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error { return json.Unmarshal(v, &groups) })
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rollup base of %s %s: %w", site, day, err)
	}
	return groups, nil
}

// addBase adds an imported rollup to the state's counters: totals, devices
// and countries, which is all a rollup knows.
func (st *dayState) addBase(groups []RollupGroup) {
	if len(groups) == 0 {
		return
	}
	tot := st.touch(st.total)
	var most uint64
	for _, g := range groups {
		tot[tViews] += int64(g.Visits)
		if g.AvgInteractionMS > 0 {
			tot[tInterSum] += int64(g.AvgInteractionMS * g.Visits)
			tot[tInterN] += int64(g.Visits)
		}
		most = max(most, g.Visitors)
		st.touch(st.value(dimDevice, g.DeviceType, ""))[fCount] += int64(g.Visits)
		c := st.touch(st.value(dimCountr, g.CountryCode, ""))
		c[fCount] += int64(g.Visits)
		c[fVisitors] += int64(g.Visitors)
	}
	tot[tVisitors] += int64(most)
	tot[tAnyVisitors] += int64(most)
}

// purgeRollupBases deletes site's bases of days before cut.
func (s *Store) purgeRollupBases(site string, cut Day) error {
	return deletePrefix(s.db, siteRollupBasePrefix(site), rollupBaseKey(site, cut))
}
