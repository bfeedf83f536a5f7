package storage

import (
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Ingest dedupe (docs/api.md, Ingest):
//
//	0x2f | event id (as given, a canonical UUID)  →  empty, Badger TTL = keep
//
// An ingested event whose id was seen within keep is a duplicate and not
// stored again.
const tableIngestIDs byte = 0x2f

func ingestIDKey(id string) []byte { return append([]byte{tableIngestIDs}, id...) }

// IngestEvents stores the events whose ids (ids[i] is events[i]'s) were not
// seen before, at their own times (ImportEvents), then remembers the ids
// for keep. Repeats within the call count as duplicates too.
func (s *Store) IngestEvents(events []Event, ids []string, keep time.Duration) (accepted, duplicate int, err error) {
	if len(ids) != len(events) {
		return 0, 0, errors.New("ingest: one id per event")
	}
	s.ingestMu.Lock()
	defer s.ingestMu.Unlock()
	fresh := make([]Event, 0, len(events))
	var freshIDs []string
	seen := map[string]bool{}
	err = s.db.View(func(txn *badger.Txn) error {
		for i, id := range ids {
			if seen[id] {
				duplicate++
				continue
			}
			seen[id] = true
			_, err := txn.Get(ingestIDKey(id))
			switch {
			case err == nil:
				duplicate++
				continue
			case !errors.Is(err, badger.ErrKeyNotFound):
				return err
			}
			fresh = append(fresh, events[i])
			freshIDs = append(freshIDs, id)
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("ingest: %w", err)
	}
	if len(fresh) == 0 {
		return 0, duplicate, nil
	}
	if err := s.ImportEvents(fresh); err != nil {
		return 0, 0, fmt.Errorf("ingest: %w", err)
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, id := range freshIDs {
		if err := wb.SetEntry(badger.NewEntry(ingestIDKey(id), nil).WithTTL(keep)); err != nil {
			return 0, 0, err
		}
	}
	if err := wb.Flush(); err != nil {
		return 0, 0, fmt.Errorf("ingest: remember ids: %w", err)
	}
	return len(fresh), duplicate, nil
}
