package storage

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// The experiment index (tables 0x32 and 0x33, see experiments.go): written
// by the event flush, read by ExperimentResults. Each entry's value is the
// UTC day (days since 1970, uint16 big endian) of the last event that
// wrote it, so PurgeExperimentIndex can drop entries with their events.

// ExperimentResults counts, per variant of e (in e.Variants order), the
// distinct sessions exposed to it and how many of them sent e's metric
// (an event whose type, or whose data.name for a custom event, is the
// metric, anywhere in the session; docs/tracker.md, Experiments).
func (s *Store) ExperimentResults(e Experiment) ([]VariantResult, error) {
	out := make([]VariantResult, len(e.Variants))
	err := s.db.View(func(txn *badger.Txn) error {
		for i, v := range e.Variants {
			prefix := exposurePrefix(e.ID, v.ID)
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
			var conv []byte
			for it.Rewind(); it.Valid(); it.Next() {
				out[i].Impressions++
				conv = append(append(append(conv[:0], tableConversions), it.Item().Key()[len(prefix):]...), e.MetricEventType...)
				if _, err := txn.Get(conv); err == nil {
					out[i].Conversions++
				} else if !errors.Is(err, badger.ErrKeyNotFound) {
					it.Close()
					return err
				}
			}
			it.Close()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("results of experiment %s: %w", e.ID, err)
	}
	return out, nil
}

// loadMetrics returns the metric set, reading it from the experiments on
// first use. Callers other than the flush hold exp.mu or accept a racing
// first load (both loads read the same table).
func (s *Store) loadMetrics() (map[string]bool, error) {
	if m := s.exp.metrics.Load(); m != nil {
		return *m, nil
	}
	m := map[string]bool{}
	err := s.db.View(func(txn *badger.Txn) error {
		return scanExperiments(txn, func(e Experiment) { m[e.MetricEventType] = true })
	})
	if err != nil {
		return nil, fmt.Errorf("experiment metrics: %w", err)
	}
	s.exp.metrics.CompareAndSwap(nil, &m)
	return *s.exp.metrics.Load(), nil
}

// addMetric adds a metric to the set, copying it (readers hold the old one).
func (s *Store) addMetric(metric string) {
	for {
		old := s.exp.metrics.Load()
		next := map[string]bool{metric: true}
		if old != nil {
			if (*old)[metric] {
				return
			}
			for k := range *old {
				next[k] = true
			}
		}
		if s.exp.metrics.CompareAndSwap(old, &next) {
			return
		}
	}
}

// indexEvent adds e's experiment index entries to the flush's batch: an
// exposure for a tagged event, a conversion for an event that sends a
// metric. Events without a session are in no experiment's results.
func indexEvent(wb *badger.WriteBatch, e *Event, metrics map[string]bool) error {
	if e.SessionID == "" {
		return nil
	}
	day := binary.BigEndian.AppendUint16(nil, indexDay(e.CreatedAt))
	if e.ExperimentID != "" && e.VariantID != "" {
		k := appendSessionToken(exposurePrefix(e.ExperimentID, e.VariantID), e.SessionID)
		if err := wb.Set(k, day); err != nil {
			return err
		}
	}
	if len(metrics) == 0 {
		return nil
	}
	for _, name := range [2]string{e.EventType, customName(e)} {
		if name == "" || !metrics[name] {
			continue
		}
		k := appendSessionToken([]byte{tableConversions}, e.SessionID)
		if err := wb.Set(append(k, name...), day); err != nil {
			return err
		}
	}
	return nil
}

// indexDay is t's UTC day since 1970, clamped to uint16 (until 2149).
func indexDay(t time.Time) uint16 {
	return uint16(max(0, min(unixDay(t), math.MaxUint16)))
}

// PurgeExperimentIndex deletes the index entries whose last event was on
// a UTC day before the day of cutoff, as retention deletes the events:
// the daily maintenance calls it with the events' cutoff. It returns how
// many entries it deleted.
func (s *Store) PurgeExperimentIndex(cutoff time.Time) (int, error) {
	before := indexDay(cutoff)
	var doomed [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		for _, table := range []byte{tableExposures, tableConversions} {
			it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Prefix: []byte{table}})
			for it.Rewind(); it.Valid(); it.Next() {
				err := it.Item().Value(func(v []byte) error {
					if len(v) != 2 || binary.BigEndian.Uint16(v) < before {
						doomed = append(doomed, it.Item().KeyCopy(nil))
					}
					return nil
				})
				if err != nil {
					it.Close()
					return err
				}
			}
			it.Close()
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("purge experiment index: %w", err)
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range doomed {
		if err := wb.Delete(k); err != nil {
			return 0, fmt.Errorf("purge experiment index: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return 0, fmt.Errorf("purge experiment index: %w", err)
	}
	return len(doomed), nil
}

// customName is data.name of a custom event, "" otherwise.
func customName(e *Event) string {
	if e.EventType != "custom" || !strings.Contains(e.Data, `"name"`) {
		return ""
	}
	var d struct {
		Name any `json:"name"`
	}
	if json.Unmarshal([]byte(e.Data), &d) != nil {
		return ""
	}
	name, _ := d.Name.(string)
	return name
}
