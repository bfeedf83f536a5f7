package storage

import (
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// ImportPerfMetrics stores metrics at their own RecordedAt (history from
// another store), skipping those whose ids (ids[i] is metrics[i]'s) were
// stored before, and remembers the ids for keep, as IngestViews does. A
// metric takes the first free id of its millisecond's import half
// (import.go), so it never collides with one AddPerfMetrics stores.
func (s *Store) ImportPerfMetrics(metrics []PerfMetric, ids []string, keep time.Duration) (accepted, duplicate int, err error) {
	return ingest(s, metrics, ids, keep, s.importPerf)
}

func (s *Store) importPerf(metrics []PerfMetric) error {
	s.perfMu.Lock()
	defer s.perfMu.Unlock()
	return s.db.Update(func(txn *badger.Txn) error {
		next := map[int64]uint64{} // ms → next candidate seq
		for i := range metrics {
			m := &metrics[i]
			ms := max(m.RecordedAt.UnixMilli(), idEpochMS)
			seq := max(next[ms], importSeqBase)
			for ; ; seq++ {
				if seq >= 1<<idSeqBits {
					return fmt.Errorf("import perf: %w", errMillisecondFull)
				}
				_, err := txn.Get(perfKey(idFloor(ms) | seq))
				if errors.Is(err, badger.ErrKeyNotFound) {
					break
				}
				if err != nil {
					return err
				}
			}
			next[ms] = seq + 1
			if err := putPerf(txn, idFloor(ms)|seq, m); err != nil {
				return err
			}
		}
		return nil
	})
}
