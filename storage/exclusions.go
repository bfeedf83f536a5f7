package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Excluded visitors (docs/bot-defense.md): ids an admin marked, whose hits the
// collectors drop and the rollups leave out.
//
//	tableExclusions(1) | visitor id  →  version(1)=1 | created ms(8, BE) | hasLabel(1) | label
//
// The store keeps the whole set in memory, read lock-free and replaced whole
// on every change, so the collectors check it without touching Badger and a
// change takes effect on the next request.
const tableExclusions byte = 0x08

// Limits of an exclusion (docs/api.md, Bots).
const (
	MaxExcludedIDLen = 128
	MaxExcludedLabel = 256
	// MaxExclusions bounds the set, and so its memory; past it an exclusion
	// is refused rather than another forgotten.
	MaxExclusions = 100_000
)

// ErrTooManyExclusions is returned by Exclude when the set is full.
var ErrTooManyExclusions = fmt.Errorf("storage: more than %d excluded visitors", MaxExclusions)

// Exclusion is one excluded visitor.
type Exclusion struct {
	VisitorID string
	Label     string // "" when none was given
	HasLabel  bool
	CreatedAt time.Time
}

// exclusions is the in-memory copy of the table.
type exclusions struct {
	mu  sync.Mutex // serialises loading and changes
	set atomic.Pointer[map[string]struct{}]
}

func exclusionKey(id string) []byte {
	return append([]byte{tableExclusions}, id...)
}

func encodeExclusion(e Exclusion) []byte {
	b := make([]byte, 0, 10+len(e.Label))
	b = append(b, 1)
	b = binary.BigEndian.AppendUint64(b, uint64(e.CreatedAt.UnixMilli()))
	if e.HasLabel {
		b = append(b, 1)
		b = append(b, e.Label...)
	} else {
		b = append(b, 0)
	}
	return b
}

func decodeExclusion(id string, b []byte) (Exclusion, error) {
	if len(b) < 10 || b[0] != 1 || b[9] > 1 {
		return Exclusion{}, fmt.Errorf("exclusion %q: %w", id, errBadKey)
	}
	e := Exclusion{VisitorID: id, CreatedAt: msTime(int64(binary.BigEndian.Uint64(b[1:9])))}
	if b[9] == 1 {
		e.HasLabel, e.Label = true, string(b[10:])
	}
	return e, nil
}

// loadExclusions reads the table into memory, once it succeeds.
func (s *Store) loadExclusions() error {
	if s.excl.set.Load() != nil {
		return nil
	}
	s.excl.mu.Lock()
	defer s.excl.mu.Unlock()
	if s.excl.set.Load() != nil {
		return nil
	}
	set := map[string]struct{}{}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tableExclusions}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			set[string(it.Item().Key()[1:])] = struct{}{}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.excl.set.Store(&set)
	return nil
}

// IsExcluded reports whether visitorID is excluded. It is lock-free and does
// not allocate: the collectors call it on every hit. Before the set is
// loaded (Open does not load it; the first call of any exclusion method
// does) it loads it; if that fails, nobody is excluded until a later call
// loads it.
func (s *Store) IsExcluded(visitorID string) bool {
	set := s.excl.set.Load()
	if set == nil {
		if s.loadExclusions() != nil {
			return false
		}
		set = s.excl.set.Load()
	}
	_, ok := (*set)[visitorID]
	return ok
}

// Excluded returns a copy of the excluded visitor ids, for rollups.
func (s *Store) Excluded() (map[string]struct{}, error) {
	if err := s.loadExclusions(); err != nil {
		return nil, fmt.Errorf("excluded visitors: %w", err)
	}
	set := *s.excl.set.Load()
	out := make(map[string]struct{}, len(set))
	for id := range set {
		out[id] = struct{}{}
	}
	return out, nil
}

// Exclude adds visitorID with an optional label, created at now. An id that
// is already excluded is left as it is (its label is not updated) and
// created is false. Ids must be 1–128 bytes, labels at most 256 bytes;
// callers cut them first.
func (s *Store) Exclude(visitorID, label string, hasLabel bool, now time.Time) (created bool, err error) {
	if visitorID == "" || len(visitorID) > MaxExcludedIDLen || len(label) > MaxExcludedLabel {
		return false, errors.New("storage: exclusion id must be 1–128 bytes and label at most 256")
	}
	if err := s.loadExclusions(); err != nil {
		return false, fmt.Errorf("exclude: %w", err)
	}
	s.excl.mu.Lock()
	defer s.excl.mu.Unlock()
	old := *s.excl.set.Load()
	if _, ok := old[visitorID]; ok {
		return false, nil
	}
	if len(old) >= MaxExclusions {
		return false, ErrTooManyExclusions
	}
	e := Exclusion{VisitorID: visitorID, Label: label, HasLabel: hasLabel, CreatedAt: now.UTC()}
	if err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(exclusionKey(visitorID), encodeExclusion(e))
	}); err != nil {
		return false, fmt.Errorf("exclude: %w", err)
	}
	next := make(map[string]struct{}, len(old)+1)
	for id := range old {
		next[id] = struct{}{}
	}
	next[visitorID] = struct{}{}
	s.excl.set.Store(&next)
	return true, nil
}

// Include removes visitorID from the excluded set; an id that is not
// excluded is not an error.
func (s *Store) Include(visitorID string) error {
	if err := s.loadExclusions(); err != nil {
		return fmt.Errorf("include: %w", err)
	}
	s.excl.mu.Lock()
	defer s.excl.mu.Unlock()
	old := *s.excl.set.Load()
	if _, ok := old[visitorID]; !ok {
		return nil
	}
	if err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Delete(exclusionKey(visitorID))
	}); err != nil {
		return fmt.Errorf("include: %w", err)
	}
	next := make(map[string]struct{}, len(old))
	for id := range old {
		if id != visitorID {
			next[id] = struct{}{}
		}
	}
	s.excl.set.Store(&next)
	return nil
}

// Exclusion returns visitorID's exclusion; ok is false if it is not
// excluded.
func (s *Store) Exclusion(visitorID string) (e Exclusion, ok bool, err error) {
	if visitorID == "" {
		return Exclusion{}, false, nil
	}
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(exclusionKey(visitorID))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) (err error) {
			e, err = decodeExclusion(visitorID, v)
			ok = err == nil
			return err
		})
	})
	if err != nil {
		return Exclusion{}, false, fmt.Errorf("exclusion: %w", err)
	}
	return e, ok, nil
}

// Exclusions returns up to limit exclusions, newest first (ties by id).
func (s *Store) Exclusions(limit int) ([]Exclusion, error) {
	var out []Exclusion
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Prefix: []byte{tableExclusions}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			id := string(item.Key()[1:])
			err := item.Value(func(v []byte) error {
				e, err := decodeExclusion(id, v)
				if err == nil {
					out = append(out, e)
				}
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("exclusions: %w", err)
	}
	slices.SortFunc(out, func(a, b Exclusion) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		if a.VisitorID < b.VisitorID {
			return -1
		}
		return 1
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
