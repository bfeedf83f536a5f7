// Package storage keeps Echelon's pageviews and events in Badger: record
// codecs, key layouts, the buffered writer, identity material (daily salt,
// instance secret) and the raw-row reads. Key layouts are documented in
// keys.go, value layouts in codec.go.
package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Options configure Open.
type Options struct {
	// Dir is the Badger directory; created if missing.
	Dir string
	// Logger receives Badger's log lines; nil keeps Badger quiet.
	Logger badger.Logger
	// InMemory keeps everything in memory and ignores Dir: for tests.
	InMemory bool
}

// Store is an open Badger database with Echelon's tables. It is safe for
// concurrent use. Open it once per data directory.
type Store struct {
	db       *badger.DB
	viewSeq  *badger.Sequence
	eventSeq *badger.Sequence

	idMu     sync.Mutex // guards the identity cache below
	saltDay  string
	salt     []byte
	instance []byte

	wmu     sync.Mutex // guards writers and closed
	writers map[*Writer]struct{}
	closed  bool
}

// idLease is how many ids a sequence reserves per Badger write. A crash
// skips at most this many ids; ids stay unique and increasing.
const idLease = 10000

// Open opens (or creates) the store in opt.Dir.
func Open(opt Options) (*Store, error) {
	if opt.InMemory {
		opt.Dir = ""
	} else if opt.Dir == "" {
		return nil, errors.New("storage: empty data directory")
	}
	bo := badger.DefaultOptions(opt.Dir).
		WithInMemory(opt.InMemory).
		WithLogger(opt.Logger).
		// Rows are small and alike: zstd on 32 KiB blocks stores a
		// pageview (row and both indexes) in ~79 B against ~121 B with
		// Badger's Snappy on 4 KiB blocks (BenchmarkStoredBytesPerPageview).
		// Higher zstd levels gained nothing measurable.
		WithCompression(options.ZSTD).
		WithZSTDCompressionLevel(1).
		WithBlockSize(32 << 10).
		WithBlockCacheSize(64 << 20)
	db, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", opt.Dir, err)
	}
	s := &Store{db: db, writers: make(map[*Writer]struct{})}
	if s.viewSeq, err = db.GetSequence(metaViewSeq, idLease); err == nil {
		s.eventSeq, err = db.GetSequence(metaEventSeq, idLease)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("storage: id sequence: %w", err)
	}
	return s, nil
}

// DB is the underlying Badger handle, for maintenance (backup, GC) and
// tests. Writing Echelon's tables directly bypasses the writer's ids.
func (s *Store) DB() *badger.DB { return s.db }

// Close closes every writer still open (flushing it), returns the unused
// ids of the sequences and closes Badger. Closing twice is a no-op.
func (s *Store) Close() error {
	s.wmu.Lock()
	if s.closed {
		s.wmu.Unlock()
		return nil
	}
	s.closed = true
	writers := make([]*Writer, 0, len(s.writers))
	for w := range s.writers {
		writers = append(writers, w)
	}
	s.wmu.Unlock()

	var errs []error
	for _, w := range writers {
		if err := w.Close(context.Background()); err != nil && !errors.Is(err, ErrClosed) {
			errs = append(errs, err)
		}
	}
	if err := s.viewSeq.Release(); err != nil {
		errs = append(errs, fmt.Errorf("release view ids: %w", err))
	}
	if err := s.eventSeq.Release(); err != nil {
		errs = append(errs, fmt.Errorf("release event ids: %w", err))
	}
	if err := s.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close badger: %w", err))
	}
	return errors.Join(errs...)
}

// addWriter registers w for Close; it reports false when s is closed.
func (s *Store) addWriter(w *Writer) bool {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed {
		return false
	}
	s.writers[w] = struct{}{}
	return true
}

func (s *Store) removeWriter(w *Writer) {
	s.wmu.Lock()
	delete(s.writers, w)
	s.wmu.Unlock()
}

// writeViews stores views with one WriteBatch: the row, the visitor index
// entry and the id index entry of each. Views without an id get the next
// ones from the sequence first, so a retried batch keeps its ids and
// rewrites the same keys.
func (s *Store) writeViews(views []View) error {
	if err := assignIDs(s.viewSeq, len(views), func(i int) *uint64 { return &views[i].ID }); err != nil {
		return err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	// Entries must stay untouched until the batch commits; appending to one
	// arena and slicing it keeps that true even when the arena grows.
	arena := make([]byte, 0, 128*len(views))
	for i := range views {
		v := &views[i]
		ms := v.CreatedAt.UnixMilli()
		start := len(arena)
		arena = EncodeView(arena, v)
		val := arena[start:len(arena):len(arena)]
		if err := wb.Set(rowKey(tableViews, v.SiteID, ms, v.ID), val); err != nil {
			return err
		}
		if v.VisitorID != "" {
			if err := wb.Set(visitorKey(tableVisitorViews, v.VisitorID, ms, v.ID), []byte(v.SiteID)); err != nil {
				return err
			}
		}
		if err := wb.Set(idKey(tableViewIDs, v.ID), idValue(v.SiteID, ms)); err != nil {
			return err
		}
	}
	return wb.Flush()
}

// writeEvents is writeViews for events.
func (s *Store) writeEvents(events []Event) error {
	if err := assignIDs(s.eventSeq, len(events), func(i int) *uint64 { return &events[i].ID }); err != nil {
		return err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	arena := make([]byte, 0, 96*len(events))
	for i := range events {
		e := &events[i]
		ms := e.CreatedAt.UnixMilli()
		start := len(arena)
		arena = EncodeEvent(arena, e)
		val := arena[start:len(arena):len(arena)]
		if err := wb.Set(rowKey(tableEvents, e.SiteID, ms, e.ID), val); err != nil {
			return err
		}
		if e.VisitorID != "" {
			if err := wb.Set(visitorKey(tableVisitorEvents, e.VisitorID, ms, e.ID), []byte(e.SiteID)); err != nil {
				return err
			}
		}
		if err := wb.Set(idKey(tableEventIDs, e.ID), idValue(e.SiteID, ms)); err != nil {
			return err
		}
	}
	return wb.Flush()
}

// assignIDs gives every record with id 0 the next id. Ids from the
// sequence start at 0, so they are shifted by one: 0 means "not assigned".
func assignIDs(seq *badger.Sequence, n int, id func(int) *uint64) error {
	for i := 0; i < n; i++ {
		p := id(i)
		if *p != 0 {
			continue
		}
		next, err := seq.Next()
		if err != nil {
			return fmt.Errorf("next id: %w", err)
		}
		*p = next + 1
	}
	return nil
}
