package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Daily maintenance (docs/operations.md, Daily maintenance): re-derive
// finished days from raw rows with exclusions and current scores, purge raw
// rows past retention and counters past two years, reclaim space, and keep
// a maintenance_log row per day.
//
// maintenance_log (tableMaintenance):
//
//	0x0c | "YYYY-MM-DD"  →  JSON of LogEntry
const tableMaintenance byte = 0x0c

// Maintenance configures the daily run.
type Maintenance struct {
	// RetentionDays keeps clean raw rows; BotRetentionDays rows scoring ≥ 50
	// or < 0 (ingested). Counters are kept CounterDays (default 730). Set
	// them before the first run; SetRetention changes them while runs go on.
	RetentionDays, BotRetentionDays, CounterDays int
	// Excluded returns the visitor ids whose rows finished days must not
	// count; nil means none.
	Excluded func() (map[string]struct{}, error)
	// Now is the clock; the run is due once per UTC date from 03:00.
	Now func() time.Time
	// CatchUp is how many finished days without a complete log row a run
	// re-derives (default 7), so a server that was down at 03:00 catches up.
	CatchUp int

	mu      sync.Mutex // held by a run
	lastRun Day        // the UTC date of the last run, in memory
	cfgMu   sync.Mutex // guards the retention fields after the first run
}

// SetRetention changes the retention of the next purge (0 keeps the
// default).
func (m *Maintenance) SetRetention(clean, bot int) {
	m.cfgMu.Lock()
	m.RetentionDays, m.BotRetentionDays = clean, bot
	m.cfgMu.Unlock()
}

// cutoffs are the purge's limits at now: clean rows before clean, other
// rows before bot, counters of days before counter.
func (m *Maintenance) cutoffs(now time.Time) (clean, bot time.Time, counter Day) {
	m.cfgMu.Lock()
	keep := cmpOr(m.RetentionDays, 90)
	keepBot := cmpOr(m.BotRetentionDays, keep)
	keepCounters := cmpOr(m.CounterDays, 730)
	m.cfgMu.Unlock()
	today := DayOf(now)
	return (today - Day(keep)).Time(), (today - Day(keepBot)).Time(), today - Day(keepCounters)
}

// LogEntry is one maintenance_log row.
type LogEntry struct {
	Date        string `json:"date"`
	Status      string `json:"status"` // started, complete, failed
	RollupRows  int    `json:"rollup_rows"`
	PurgeViews  int    `json:"purge_views"`
	PurgeEvents int    `json:"purge_events"`
	StartedAt   string `json:"started_at"`
	CompletedAt string `json:"completed_at,omitempty"`
	Error       string `json:"error,omitempty"`
}

// Tick runs the maintenance if it is due: the UTC hour is 3 or later and it
// has not run today in this process. It reports whether it ran. When ctx
// ends the run stops between two steps and returns ctx's error; the day it
// was on is logged failed and retried by the next run.
func (m *Maintenance) Tick(ctx context.Context, s *Store) (bool, error) {
	now := m.Now().UTC()
	today := DayOf(now)
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.Hour() < 3 || m.lastRun == today {
		return false, nil
	}
	m.lastRun = today
	return true, s.Maintain(ctx, m, now)
}

// Purge deletes the rows and counters past retention at now, outside the
// daily run (after a configuration lowered the retention); it returns the
// views and events deleted.
func (m *Maintenance) Purge(ctx context.Context, s *Store) (views, events int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return s.purge(ctx, m, m.Now().UTC())
}

// Maintain runs the daily maintenance for now: every day whose log row is
// not complete (any age), and every finished day of the last CatchUp days
// without a row, oldest first, is re-derived and logged, then rows and
// counters past retention are purged (counted in yesterday's row) and the
// value log is garbage-collected.
func (s *Store) Maintain(ctx context.Context, m *Maintenance, now time.Time) error {
	today := DayOf(now)
	catchUp := cmpOr(m.CatchUp, 7)
	var errs []error
	excluded := map[string]struct{}{}
	if m.Excluded != nil {
		ex, err := m.Excluded()
		if err != nil {
			return fmt.Errorf("maintenance: exclusions: %w", err)
		}
		excluded = ex
	}
	// Every logged day not complete, whatever its age, then the recent days
	// without a row.
	days := map[Day]bool{}
	log, err := s.MaintenanceLog()
	if err != nil {
		return fmt.Errorf("maintenance: %w", err)
	}
	for _, e := range log {
		if t, err := time.Parse(time.DateOnly, e.Date); err == nil && e.Status != "complete" && DayOf(t) < today {
			days[DayOf(t)] = true
		}
	}
	for day := today - Day(catchUp); day < today; day++ {
		days[day] = true
	}
	for _, day := range slices.Sorted(maps.Keys(days)) {
		entry, ok, err := s.logEntry(day)
		if err != nil {
			return err
		}
		if ok && entry.Status == "complete" {
			continue
		}
		entry = LogEntry{Date: day.String(), Status: "started", StartedAt: now.Format(TimeLayout)}
		if err := s.putLog(entry); err != nil {
			return err
		}
		rows, err := s.rollup(ctx, day, excluded)
		if err == nil && day == today-1 {
			entry.PurgeViews, entry.PurgeEvents, err = s.purge(ctx, m, now)
		}
		entry.RollupRows = rows
		if err != nil {
			entry.Status, entry.Error = "failed", err.Error()
			errs = append(errs, fmt.Errorf("maintenance of %s: %w", day, err))
		} else {
			entry.Status, entry.CompletedAt = "complete", now.Format(TimeLayout)
		}
		if err := s.putLog(entry); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return errors.Join(append(errs, ctx.Err())...)
		}
	}
	// The rollups leave the disk visitors of the states they replaced.
	if _, err := s.agg.sweepSpill(); err != nil {
		errs = append(errs, fmt.Errorf("maintenance: visitor states: %w", err))
	}
	s.reclaim(ctx)
	return errors.Join(errs...)
}

// rollup re-derives day's counters of every site from the raw rows,
// without the excluded visitors and with the scores as stored now; the
// finished day keeps no minute counters. It returns the counters written.
//
// It works site by site, and holds the aggregator's lock (and so the
// writer) only to install each site's result (aggregator.rollupSite).
func (s *Store) rollup(ctx context.Context, day Day, excluded map[string]struct{}) (int, error) {
	a := s.agg
	a.mu.Lock()
	a.excluded = excluded
	a.newest = max(a.newest, day+1) // day is finished
	for k := range a.days {
		if k.day < a.newest-1 {
			a.drop(k)
		}
	}
	a.mu.Unlock()
	n := 0
	for _, site := range s.sites.all() {
		written, err := a.rollupSite(ctx, site, day, excluded)
		n += written
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// reclaim runs Badger's value-log GC until it finds nothing to rewrite.
func (s *Store) reclaim(ctx context.Context) {
	for i := 0; i < 100 && ctx.Err() == nil; i++ {
		if s.db.RunValueLogGC(0.5) != nil {
			return
		}
	}
}

func logKey(day Day) []byte { return append([]byte{tableMaintenance}, day.String()...) }

func (s *Store) putLog(e LogEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	day, err := time.Parse(time.DateOnly, e.Date)
	if err != nil {
		return err
	}
	return s.db.Update(func(txn *badger.Txn) error { return txn.Set(logKey(DayOf(day)), b) })
}

func (s *Store) logEntry(day Day) (LogEntry, bool, error) {
	var e LogEntry
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(logKey(day))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error { return json.Unmarshal(v, &e) })
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return e, false, nil
	}
	return e, err == nil, err
}

// MaintenanceLog returns the log rows, oldest first.
func (s *Store) MaintenanceLog() ([]LogEntry, error) {
	var out []LogEntry
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tableMaintenance}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var e LogEntry
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &e) }); err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}
