package storage

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Performance metrics (docs/api.md, Performance metrics): numbers a CI job
// or a deploy script posts, e.g. build time or bundle size per commit.
//
//	tablePerf:       table(1) | id(8)                                   →  JSON of perfValue
//	tablePerfSeries: table(1) | uvarint(len) category | uvarint(len) metric | id(8)  →  empty
//
// Ids are time-encoded like row ids (ids.go), so both tables list a series
// in time order. Category and metric are length-prefixed: any bytes are
// allowed and no series' prefix is another's.
const (
	tablePerf       byte = 0x40
	tablePerfSeries byte = 0x42
)

// PerfMetric is one stored measurement. CommitHash, Branch and Metadata are
// nil when absent (JSON null).
type PerfMetric struct {
	ID         uint64
	RecordedAt time.Time
	CommitHash *string
	Branch     *string
	Category   string
	Metric     string
	Value      float64
	Unit       string
	// Metadata is the caller's JSON value, stored once as given and
	// returned as the same JSON value.
	Metadata json.RawMessage
}

// perfValue is the stored form; the id and time are in the key.
type perfValue struct {
	CommitHash *string          `json:"c,omitempty"`
	Branch     *string          `json:"b,omitempty"`
	Category   string           `json:"k"`
	Metric     string           `json:"m"`
	Value      float64          `json:"v"`
	Unit       string           `json:"u"`
	Metadata   *json.RawMessage `json:"d,omitempty"`
}

// PerfQuery selects stored metrics, newest first.
type PerfQuery struct {
	Category, Metric string // "" matches any
	// Since keeps metrics whose recorded_at, as an API timestamp
	// (YYYY-MM-DDTHH:MM:SS.sssZ), is >= Since as a string (API times
	// sort as strings).
	Since string
	Limit int // at most this many; 0 means no limit
}

// perfIDs lazily continues the perf ids after the highest stored one.
type perfIDs struct {
	ids    idSource
	loaded bool
}

// AddPerfMetrics stores metrics, all recorded at now, in one transaction.
// Their ids are assigned here; ID and RecordedAt of the arguments are
// ignored.
func (s *Store) AddPerfMetrics(metrics []PerfMetric, now time.Time) error {
	if len(metrics) == 0 {
		return nil
	}
	s.perfMu.Lock()
	defer s.perfMu.Unlock()
	if !s.perf.loaded {
		if err := s.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: []byte{tablePerf}})
			defer it.Close()
			if it.Seek([]byte{tablePerf, 0xff}); it.Valid() {
				s.perf.ids.resume(keyID(it.Item().Key()))
			}
			return nil
		}); err != nil {
			return fmt.Errorf("perf ids: %w", err)
		}
		s.perf.loaded = true
	}
	ids := make([]uint64, len(metrics))
	s.perf.ids.assign(len(ids), func(i int) (*uint64, time.Time) { return &ids[i], now })
	return s.db.Update(func(txn *badger.Txn) error {
		for i := range metrics {
			if err := putPerf(txn, ids[i], &metrics[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// putPerf sets m's row and series keys under id.
func putPerf(txn *badger.Txn, id uint64, m *PerfMetric) error {
	pv := perfValue{CommitHash: m.CommitHash, Branch: m.Branch, Category: m.Category, Metric: m.Metric, Value: m.Value, Unit: m.Unit}
	if m.Metadata != nil {
		pv.Metadata = &m.Metadata
	}
	val, err := json.Marshal(pv)
	if err != nil {
		return fmt.Errorf("encode perf metric: %w", err)
	}
	if err := txn.Set(perfKey(id), val); err != nil {
		return err
	}
	return txn.Set(perfSeriesKey(m.Category, m.Metric, id), nil)
}

// PerfMetrics returns the metrics q selects, newest first.
func (s *Store) PerfMetrics(q PerfQuery) ([]PerfMetric, error) {
	var out []PerfMetric
	err := s.db.View(func(txn *badger.Txn) error {
		prefix := []byte{tablePerf}
		if q.Category != "" && q.Metric != "" {
			prefix = perfSeriesPrefix(q.Category, q.Metric)
		}
		it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: prefix})
		defer it.Close()
		for it.Seek(append(prefix[:len(prefix):len(prefix)], 0xff)); it.Valid(); it.Next() {
			id := keyID(it.Item().Key())
			if perfStamp(idTime(id)) < q.Since {
				break // ids are time order, and so are the timestamps as strings
			}
			m, err := perfByID(txn, id)
			if err != nil {
				return err
			}
			if q.Category != "" && m.Category != q.Category || q.Metric != "" && m.Metric != q.Metric {
				continue
			}
			out = append(out, m)
			if q.Limit > 0 && len(out) == q.Limit {
				break
			}
		}
		return nil
	})
	return out, err
}

// PerfTrends returns, per "category/metric" series, its latest limit
// metrics recorded at or after since (as PerfQuery.Since), oldest first.
func (s *Store) PerfTrends(limit int, since string) (map[string][]PerfMetric, error) {
	out := map[string][]PerfMetric{}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: []byte{tablePerfSeries}, PrefetchValues: false})
		defer it.Close()
		var series []byte // the current series' key prefix
		taken := 0
		for it.Seek([]byte{tablePerfSeries, 0xff}); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) < 9 {
				return fmt.Errorf("perf series key: %w", errBadKey)
			}
			if p := k[:len(k)-8]; string(p) != string(series) {
				series, taken = append(series[:0], p...), 0
			}
			id := keyID(k)
			if taken == limit || perfStamp(idTime(id)) < since {
				continue
			}
			m, err := perfByID(txn, id)
			if err != nil {
				return err
			}
			name := m.Category + "/" + m.Metric
			out[name] = append(out[name], m)
			taken++
		}
		return nil
	})
	for _, ms := range out {
		for i, j := 0, len(ms)-1; i < j; i, j = i+1, j-1 {
			ms[i], ms[j] = ms[j], ms[i]
		}
	}
	return out, err
}

// PurgePerf deletes metrics recorded before cutoff and returns how many.
func (s *Store) PurgePerf(cutoff time.Time) (int, error) {
	var doomed []PerfMetric
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tablePerf}})
		defer it.Close()
		end := idFloor(cutoff.UnixMilli())
		for it.Rewind(); it.Valid() && keyID(it.Item().Key()) < end; it.Next() {
			m, err := perfByID(txn, keyID(it.Item().Key()))
			if err != nil {
				return err
			}
			doomed = append(doomed, m)
		}
		return nil
	})
	if err != nil || len(doomed) == 0 {
		return 0, err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, m := range doomed {
		if err := wb.Delete(perfKey(m.ID)); err != nil {
			return 0, err
		}
		if err := wb.Delete(perfSeriesKey(m.Category, m.Metric, m.ID)); err != nil {
			return 0, err
		}
	}
	return len(doomed), wb.Flush()
}

func perfByID(txn *badger.Txn, id uint64) (PerfMetric, error) {
	m := PerfMetric{ID: id, RecordedAt: idTime(id)}
	item, err := txn.Get(perfKey(id))
	if err != nil {
		return m, fmt.Errorf("perf metric %d: %w", id, err)
	}
	var pv perfValue
	if err := item.Value(func(b []byte) error { return json.Unmarshal(b, &pv) }); err != nil {
		return m, fmt.Errorf("perf metric %d: %w", id, err)
	}
	m.CommitHash, m.Branch, m.Category, m.Metric, m.Value, m.Unit = pv.CommitHash, pv.Branch, pv.Category, pv.Metric, pv.Value, pv.Unit
	if pv.Metadata != nil {
		m.Metadata = *pv.Metadata
	}
	return m, nil
}

func perfKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{tablePerf}, id)
}

func perfSeriesPrefix(category, metric string) []byte {
	k := make([]byte, 0, 3+len(category)+len(metric)+8)
	k = append(k, tablePerfSeries)
	k = binary.AppendUvarint(k, uint64(len(category)))
	k = append(k, category...)
	k = binary.AppendUvarint(k, uint64(len(metric)))
	return append(k, metric...)
}

func perfSeriesKey(category, metric string, id uint64) []byte {
	return binary.BigEndian.AppendUint64(perfSeriesPrefix(category, metric), id)
}

// perfStamp formats t as the API's timestamps: UTC, milliseconds, Z.
func perfStamp(t time.Time) string { return t.UTC().Format(TimeLayout) }
