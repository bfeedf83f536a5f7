package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Performance metrics (api.md §7 /api/perf, §8 perf_metrics) and instance
// settings (§8 instance_settings):
//
//	0x35 | id(8)  →  settingsVersion | JSON perfRecord
//	0x36 | name   →  value
//
// A perf id is time-encoded like a record id (ids.go), so key order is
// recorded_at order and a "since" bound is a seek. Perf rows are few (CI
// runs post them), so series queries scan them.

// PerfMetric is one stored measurement; "" stands for null.
type PerfMetric struct {
	ID         uint64
	RecordedAt time.Time
	CommitHash string
	Branch     string
	Category   string
	Metric     string
	Value      float64
	Unit       string
	Metadata   string // JSON text
}

type perfRecord struct {
	Commit   string  `json:"h,omitempty"`
	Branch   string  `json:"b,omitempty"`
	Category string  `json:"c"`
	Metric   string  `json:"m"`
	Value    float64 `json:"v"`
	Unit     string  `json:"u"`
	Metadata string  `json:"md,omitempty"`
}

// perfIDs hands out perf ids; one per store.
type perfIDs struct {
	mu   sync.Mutex
	last uint64
}

func perfKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{tablePerf}, id)
}

// AddPerfMetrics stores metrics in one transaction, recorded at now, and
// returns them with their ids.
func (s *Store) AddPerfMetrics(metrics []PerfMetric, now time.Time) ([]PerfMetric, error) {
	s.perf.mu.Lock()
	defer s.perf.mu.Unlock()
	if s.perf.last == 0 {
		if err := s.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: []byte{tablePerf}})
			defer it.Close()
			if it.Seek(perfKey(math.MaxUint64)); it.Valid() {
				s.perf.last = binary.BigEndian.Uint64(it.Item().Key()[1:])
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("perf ids: %w", err)
		}
	}
	out := make([]PerfMetric, len(metrics))
	err := s.db.Update(func(txn *badger.Txn) error {
		next := s.perf.last
		for i, m := range metrics {
			next = max(next+1, idFloor(now.UnixMilli()))
			m.ID, m.RecordedAt = next, idTime(next)
			rec := perfRecord{Commit: m.CommitHash, Branch: m.Branch, Category: m.Category, Metric: m.Metric, Value: m.Value, Unit: m.Unit, Metadata: m.Metadata}
			if err := txn.Set(perfKey(m.ID), encodeSetting(rec)); err != nil {
				return err
			}
			out[i] = m
		}
		if len(metrics) > 0 {
			s.perf.last = next
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("add perf metrics: %w", err)
	}
	return out, nil
}

// PerfMetrics calls fn for the metrics recorded at or after since, newest
// first, until fn returns false.
func (s *Store) PerfMetrics(since time.Time, fn func(*PerfMetric) bool) error {
	floor := idFloor(ceilMilli(since))
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Reverse: true, PrefetchValues: true, Prefix: []byte{tablePerf}})
		defer it.Close()
		for it.Seek(perfKey(math.MaxUint64)); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != 9 {
				return fmt.Errorf("%w: %x", errBadKey, k)
			}
			id := binary.BigEndian.Uint64(k[1:])
			if id < floor {
				return nil
			}
			var rec perfRecord
			if err := it.Item().Value(func(v []byte) error { return decodeSetting(v, &rec) }); err != nil {
				return fmt.Errorf("perf %d: %w", id, err)
			}
			m := PerfMetric{ID: id, RecordedAt: idTime(id), CommitHash: rec.Commit, Branch: rec.Branch,
				Category: rec.Category, Metric: rec.Metric, Value: rec.Value, Unit: rec.Unit, Metadata: rec.Metadata}
			if !fn(&m) {
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("perf metrics: %w", err)
	}
	return nil
}

func instanceKey(name string) []byte { return append([]byte{tableInstance}, name...) }

// InstanceSetting reads a named instance setting; found is false when it
// was never set.
func (s *Store) InstanceSetting(name string) (value string, found bool, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(instanceKey(name))
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		value = string(v)
		return err
	})
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("instance setting %s: %w", name, err)
	}
	return value, true, nil
}

// SetInstanceSetting stores a named instance setting.
func (s *Store) SetInstanceSetting(name, value string) error {
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(instanceKey(name), []byte(value)) }); err != nil {
		return fmt.Errorf("instance setting %s: %w", name, err)
	}
	return nil
}
