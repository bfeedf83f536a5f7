// Package storage keeps Echelon's pageviews and events in Badger: record
// codecs, key layouts, the buffered writer, identity material (daily salt,
// instance secret) and the raw-row reads. Key layouts are documented in
// keys.go, record ids in ids.go, value layouts in codec.go.
package storage

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

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
	// CounterPersist is how often the aggregates' pending changes are
	// written (agg.go); default 5 minutes. Queries see them at once.
	CounterPersist time.Duration
	// MaxSites caps the registered sites (sites.go); default
	// DefaultMaxSites. SetMaxSites changes it later.
	MaxSites int
	// MaxValues caps the distinct values of one dimension per site and
	// day (agg_day.go); default DefaultMaxValues. ValueBudget caps the
	// value counters held in memory for all sites and days; default
	// DefaultValueBudget. Values past either are counted as OtherValue.
	MaxValues, ValueBudget int
	// VisitorMemory is the memory, in bytes, for the visitor states of
	// exact daily uniques; visitors past it are kept on disk
	// (agg_visitors.go). Default DefaultVisitorMemory.
	VisitorMemory int64
}

// Store is an open Badger database with Echelon's tables. It is safe for
// concurrent use. Open it once per data directory.
type Store struct {
	db     *badger.DB
	views  recordTable
	events recordTable
	sites  siteRegistry
	agg    *aggregator

	importMu sync.Mutex // serialises imports (import.go)
	// rewriteMu serialises the read-modify-writes of stored row blocks
	// (retention purge, score raises): Badger's conflict detection is off,
	// so two of them on one block would each write back what they read,
	// losing a raise or bringing a purged row back.
	rewriteMu sync.Mutex
	campaigns campaignRegistry
	ingestMu  sync.Mutex // serialises ingest dedupe (ingest.go)

	dir       string                  // the data directory, "" in memory
	salt      atomic.Pointer[daySalt] // the newest day's salt, read lock-free
	idMu      sync.Mutex              // guards making a salt, saltFloor and instance
	saltFloor int64                   // the first day whose salt may be made (salt.go)
	instance  []byte

	wmu     sync.Mutex // guards writers and closed
	writers map[*Writer]struct{}
	closed  bool
	done    chan struct{} // closed when Badger is closed

	perfMu sync.Mutex // guards perf
	perf   perfIDs

	excl exclusions // excluded visitors (exclusions.go)
	// scanOnly makes SuspiciousVisitors scan instead of using the score
	// index: tests compare the two.
	scanOnly bool

	exp experimentState // experiments.go

	drops dropTable // hits not stored, by reason (quality.go)

	budgets listBudgets  // of the list queries (lists.go)
	bots    botBudget    // bot rows stored per site and day (botbudget.go)
	sum     summaryState // the visitor summaries (summaries.go)
}

// recordTable is one record kind's tables and id source.
type recordTable struct {
	rows, visitors byte
	lastID         []byte // meta key of the highest id a batch wrote
	ids            idSource
	log            indexLog // the visitor index's log (visitorindex.go)
}

// Open opens (or creates) the store in opt.Dir.
func Open(opt Options) (*Store, error) {
	if opt.InMemory {
		opt.Dir = ""
	} else if opt.Dir == "" {
		return nil, errors.New("storage: empty data directory")
	}
	db, err := badger.Open(badgerOptions(opt))
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", opt.Dir, err)
	}
	s := &Store{
		dir:     opt.Dir,
		db:      db,
		views:   recordTable{rows: tableViews, visitors: tableVisitorViews, lastID: metaLastViewID, log: indexLog{table: tableViewIndexLog}},
		events:  recordTable{rows: tableEvents, visitors: tableVisitorEvents, lastID: metaLastEventID, log: indexLog{table: tableEventIndexLog}},
		writers: make(map[*Writer]struct{}),
		done:    make(chan struct{}),
		budgets: listBudgets{scan: listScanBudget, count: countBudget, suspicious: SuspiciousBudget},
		bots:    botBudget{limit: DefaultBotRowBudget},
	}
	s.SetMaxSites(opt.MaxSites)
	s.agg = newAggregator(db, aggConfig{
		persistEvery:  opt.CounterPersist,
		maxValues:     opt.MaxValues,
		valueBudget:   opt.ValueBudget,
		visitorMemory: opt.VisitorMemory,
	}, s.dayRows)
	err = s.agg.lim.resumeGen()
	if err == nil {
		err = s.load()
	}
	if err == nil {
		err = s.migrateSalts(time.Now())
	}
	if err == nil {
		err = s.loadCampaigns()
	}
	// A crash leaves the index log of the last flushes unmerged. The
	// summaries it feeds are maintained only once they are known complete.
	if err == nil {
		err = s.db.View(func(txn *badger.Txn) error {
			state, ok, err := listState(txn)
			s.sum.ready.Store(ok && state == listReady)
			if err == nil {
				var gen uint64
				gen, err = summaryGen(txn)
				s.sum.gen.Store(gen)
			}
			return err
		})
	}
	for _, t := range []*recordTable{&s.views, &s.events} {
		if err == nil {
			_, err = s.mergeIndex(t)
		}
	}
	if err == nil {
		err = s.openLists()
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("storage: open %s: %w", opt.Dir, err)
	}
	return s, nil
}

// badgerOptions tunes Badger for many small write-once records, measured
// with BenchmarkWriteViewsPerView (CPU per view) and
// BenchmarkStoredBytesPerPageview (disk per view).
func badgerOptions(opt Options) badger.Options {
	return badger.DefaultOptions(opt.Dir).
		WithInMemory(opt.InMemory).
		WithLogger(opt.Logger).
		// Rows are small and alike: zstd on 32 KiB blocks stores a
		// pageview (row and visitor index) in ~68 B, Badger's Snappy in
		// ~82 B. zstd level 3 saves another ~3 B but compresses slower on
		// every memtable flush and compaction; 64 KiB blocks save ~1 B but
		// double the block a point read decompresses.
		WithCompression(options.ZSTD).
		WithZSTDCompressionLevel(1).
		WithBlockSize(32 << 10).
		WithBlockCacheSize(64 << 20).
		// Every transaction of the store is a write-once batch or runs
		// under idMu, so conflict tracking is work for nothing: it hashes
		// every key into a map (~150 B and a map insert per key).
		WithDetectConflicts(false)
	// Kept at Badger's defaults, measured: MemTableSize (64 MiB; 32 and
	// 16 MiB make inserts cheaper but cost more in flushes and
	// compactions), ValueThreshold (1 MiB: values stay in the LSM tree),
	// NumLevelZeroTables, NumCompactors, MetricsEnabled.
}

// load checks the key layout, loads the site registry and makes the id
// sources continue after the highest ids stored.
func (s *Store) load() error {
	if err := s.db.Update(checkLayout); err != nil {
		return err
	}
	return s.db.View(func(txn *badger.Txn) error {
		sites := loadSites(txn)
		// A site without a clean count was registered by bots (earlier
		// versions did): it does not count towards max_sites.
		var ferr error
		s.sites.add(sites, func(site string) bool {
			clean, err := countedClean(txn, site)
			ferr = cmp.Or(ferr, err)
			return !clean
		})
		if ferr != nil {
			return ferr
		}
		for _, t := range []*recordTable{&s.views, &s.events} {
			last, err := highestID(txn, t, sites)
			if err != nil {
				return err
			}
			t.ids.resume(last)
		}
		return nil
	})
}

// checkLayout marks a new directory with layoutVersion and refuses one
// with rows of another layout.
func checkLayout(txn *badger.Txn) error {
	item, err := txn.Get(metaLayout)
	if err == nil {
		var upgrade bool
		err := item.Value(func(v []byte) error {
			switch {
			case len(v) == 1 && v[0] == layoutVersion:
				return nil
			case len(v) == 1 && (v[0] == 3 || v[0] == 4):
				// Layout 3's index keys are one-id chunks of layout 4;
				// what layout 5 adds is derived from the rows (openLists).
				upgrade = true
				return nil
			}
			if len(v) == 1 && v[0] > layoutVersion {
				return fmt.Errorf("the store has key layout %d, newer than this version's %d: run the Echelon version that wrote it (see caddy echelon version)", v[0], layoutVersion)
			}
			return fmt.Errorf("the store has key layout %x, which this version (layout %d, upgrading 3 and 4) cannot read; use a new db_path", v, layoutVersion)
		})
		if err == nil && upgrade {
			err = txn.Set(metaLayout, []byte{layoutVersion})
		}
		return err
	}
	if !errors.Is(err, badger.ErrKeyNotFound) {
		return err
	}
	// New, or from before layouts were marked (layout 1): its identity
	// material (tableMeta, tableSalts) is compatible, its rows are not.
	it := txn.NewIterator(badger.IteratorOptions{})
	defer it.Close()
	if it.Seek([]byte{tableViews}); it.Valid() && it.Item().Key()[0] < tableSalts {
		return errors.New("it holds rows in key layout 1, which this version cannot read")
	}
	return txn.Set(metaLayout, []byte{layoutVersion})
}

// highestID is the larger of t's stored last id and the highest id in t's
// rows. Each covers a gap of the other: the newest rows may have been
// deleted, and two writers may store their last ids out of order.
func highestID(txn *badger.Txn, t *recordTable, sites []string) (uint64, error) {
	var last uint64
	item, err := txn.Get(t.lastID)
	switch {
	case err == nil:
		err = item.Value(func(v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("%q has %d bytes", t.lastID, len(v))
			}
			last = binary.BigEndian.Uint64(v)
			return nil
		})
		if err != nil {
			return 0, err
		}
	case !errors.Is(err, badger.ErrKeyNotFound):
		return 0, err
	}
	for _, site := range sites {
		high, err := highestBlockID(txn, t.rows, site)
		if err != nil {
			return 0, err
		}
		last = max(last, high)
	}
	return last, nil
}

// DB is the underlying Badger handle, for maintenance (backup, GC) and
// tests. Writing Echelon's tables directly bypasses the writer's ids.
func (s *Store) DB() *badger.DB { return s.db }

// Close closes every writer still open (flushing it) and closes Badger.
// Closing twice is a no-op.
func (s *Store) Close() error { return s.Shutdown(context.Background()) }

// Shutdown is Close within ctx: the writers' final flushes stop when ctx
// ends (what they have not stored by then is dropped and counted), and
// Shutdown returns by then at the latest. users are goroutines of the
// caller that still use the store, each closed when it has returned
// (a cancelled maintenance run, a correlator sweep): Badger is closed only
// after them and the writers' goroutines, in the background if ctx ends
// first. Closed reports when Badger is closed. Shutting down twice
// is a no-op.
func (s *Store) Shutdown(ctx context.Context, users ...<-chan struct{}) error {
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
		if err := w.Close(ctx); err != nil && !errors.Is(err, ErrClosed) {
			errs = append(errs, err)
		}
		users = append(users, w.Done())
	}
	var closeErr error
	go func() {
		defer close(s.done)
		for _, u := range users {
			<-u
		}
		if err := s.agg.flush(); err != nil {
			closeErr = err
		}
		if err := s.db.Close(); err != nil {
			closeErr = errors.Join(closeErr, fmt.Errorf("close badger: %w", err))
		}
	}()
	select {
	case <-s.done:
		errs = append(errs, closeErr)
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("still closing when the shutdown timeout ended; finishing in the background: %w", ctx.Err()))
	}
	return errors.Join(errs...)
}

// Closed is closed when Badger is (after Close or Shutdown): the data
// directory is then free for another Open.
func (s *Store) Closed() <-chan struct{} { return s.done }

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

// writeViews stores views with one WriteBatch: the row and the visitor
// index entry of each. Views without an id get one first (ids.go), so a
// retried batch keeps its ids and rewrites the same keys.
func (s *Store) writeViews(views []View) error {
	s.sites.use.RLock()
	defer s.sites.use.RUnlock()
	if err := s.place(len(views), func(i int) (*string, bool) {
		return &views[i].SiteID, views[i].BotScore < 50
	}); err != nil {
		return err
	}
	if drop := s.overBudget(len(views), false, func(i int) (string, Day, bool) {
		return views[i].SiteID, DayOf(views[i].CreatedAt), views[i].BotScore >= 50
	}); drop != nil {
		kept := make([]View, 0, len(views)-len(drop))
		for i := range views {
			if !drop[i] {
				kept = append(kept, views[i])
			} else {
				s.CountDrop(views[i].SiteID, rowReason(views[i].BotScoreDetail), false, 1)
			}
		}
		views = kept
	}
	return s.writeRecords(&s.views, len(views), func(i int) recordRef {
		v := &views[i]
		return recordRef{&v.ID, v.CreatedAt, v.SiteID, v.VisitorID, nil, v}
	}, func(dst []byte, i int) []byte {
		return EncodeView(dst, &views[i])
	}, func(a *aggregator) error { return a.addViews(views) })
}

// writeEvents is writeViews for events.
func (s *Store) writeEvents(events []Event) error {
	s.sites.use.RLock()
	defer s.sites.use.RUnlock()
	if err := s.place(len(events), func(i int) (*string, bool) {
		return &events[i].SiteID, events[i].BotScore < 50
	}); err != nil {
		return err
	}
	if drop := s.overBudget(len(events), true, func(i int) (string, Day, bool) {
		return events[i].SiteID, DayOf(events[i].CreatedAt), events[i].BotScore >= 50
	}); drop != nil {
		kept := make([]Event, 0, len(events)-len(drop))
		for i := range events {
			if !drop[i] {
				kept = append(kept, events[i])
			} else {
				s.CountDrop(events[i].SiteID, rowReason(events[i].BotScoreDetail), true, 1)
			}
		}
		events = kept
	}
	return s.writeRecords(&s.events, len(events), func(i int) recordRef {
		e := &events[i]
		return recordRef{&e.ID, e.CreatedAt, e.SiteID, e.VisitorID, e, nil}
	}, func(dst []byte, i int) []byte {
		return EncodeEvent(dst, &events[i])
	}, func(a *aggregator) error { return a.addEvents(events) })
}

// recordRef is what the keys of a record are made of.
type recordRef struct {
	id            *uint64
	createdAt     time.Time
	site, visitor string
	event         *Event // nil for views; indexed for experiments
	view          *View  // nil for events; its attributes go to the index log
}

// writeRecords stores n records of table t: ref(i) gives record i's key
// fields, encode appends its value, aggregate folds the records (ids
// assigned) into the counters of the same batch (agg.go).
func (s *Store) writeRecords(t *recordTable, n int, ref func(int) recordRef, encode func(dst []byte, i int) []byte, aggregate func(*aggregator) error) error {
	highest := t.ids.assign(n, func(i int) (*uint64, time.Time) {
		r := ref(i)
		return r.id, r.createdAt
	})
	return s.writeAssigned(t, n, highest, ref, encode, aggregate)
}

// writeAssigned is writeRecords after the ids are assigned; highest is the
// highest of them, or 0 to leave t's last id alone (backdated imports).
// Every record's site is registered (place).
func (s *Store) writeAssigned(t *recordTable, n int, highest uint64, ref func(int) recordRef, encode func(dst []byte, i int) []byte, aggregate func(*aggregator) error) (err error) {
	metrics, err := s.loadMetrics()
	if err != nil {
		return err
	}

	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	if highest != 0 {
		if err := wb.Set(t.lastID, binary.BigEndian.AppendUint64(nil, highest)); err != nil {
			return err
		}
	}
	// highest is 0 for backdated imports (import.go), whose rows take the
	// import path of setRows.
	logged, err := s.setRows(wb, t, n, ref, encode, highest == 0)
	if err != nil {
		return err
	}
	// Clean events of proven sessions tagged with an experiment, or
	// carrying a metric, go into the experiment index
	// (experiments_index.go).
	for i := range n {
		if r := ref(i); r.event != nil && s.provenEvent(r.event) {
			if err := indexEvent(wb, r.event, metrics); err != nil {
				return err
			}
		}
	}
	done, err := s.agg.batch(wb, aggregate)
	if err != nil {
		return fmt.Errorf("aggregates: %w", err)
	}
	err = wb.Flush()
	done(err == nil)
	if err != nil {
		return err
	}
	t.indexLogged(logged)
	return nil
}
