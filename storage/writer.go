package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrClosed is returned by Flush and Close of a writer that is closed.
var ErrClosed = errors.New("storage: writer closed")

// WriterConfig configures NewWriter. Zero values take the defaults
// (docs/architecture.md, How a hit travels).
type WriterConfig struct {
	ViewCapacity  int // buffered views before AddView drops; default 50000
	EventCapacity int // buffered events before AddEvent drops; default 50000

	ViewFlush  time.Duration // flush interval for views; default 15s
	EventFlush time.Duration // flush interval for events; default 10s

	// OnFlush, if set, is called from the writer goroutine after each
	// flush that had records: kind is "views" or "events", n the records in
	// the batch, took the time spent, err the failure (the records are then
	// kept for the next flush). It must not call Flush or Close. Merges of
	// the visitor index log (visitorindex.go) are reported as kind "index",
	// n the entries merged (on failure the log is kept for the next merge).
	OnFlush func(kind string, n int, took time.Duration, err error)
}

// WriterStats is a snapshot of a writer's counters.
type WriterStats struct {
	PendingViews, PendingEvents   int    // buffered, including records kept after a failed flush
	DroppedViews, DroppedEvents   uint64 // lost to a full buffer, a closed writer or a failed retry buffer
	RejectedViews, RejectedEvents uint64 // refused for an invalid site id or visitor id
	WrittenViews, WrittenEvents   uint64 // stored
}

// Writer buffers records in memory and stores them in batches from one
// goroutine. AddView and AddEvent never block.
type Writer struct {
	store  *Store
	views  *queue[View]
	events *queue[Event]
	report func(kind string, n int, took time.Duration, err error)

	kick      chan struct{}         // a buffer reached its size threshold; capacity 1
	flushes   chan chan error       // Flush requests to the goroutine
	intervals chan [2]time.Duration // SetIntervals requests
	quit      chan struct{}         // closed by Close
	done      chan struct{}         // closed when the goroutine has returned
	closeMu   sync.Mutex            // serialises Close
	feedMu    sync.Mutex            // guards feeders
	feeders   map[*func()]struct{}  // Feed
	// closeCtx bounds the final flush; written by Close before quit closes.
	closeCtx context.Context
	result   error // final flush error, written before done closes
}

const (
	defaultCapacity   = 50000
	defaultViewFlush  = 15 * time.Second
	defaultEventFlush = 10 * time.Second
	// sizeFlush is the buffer length that triggers a flush before the
	// interval (or half the capacity if that is smaller).
	sizeFlush = 5000
)

// NewWriter starts a writer on s. Close it (or the store) to stop its
// goroutine; Close flushes what is buffered.
func (s *Store) NewWriter(cfg WriterConfig) *Writer {
	return s.newWriter(cfg, s.writeViews, s.writeEvents)
}

// newWriter takes the batch writers as arguments so tests can make them fail.
func (s *Store) newWriter(cfg WriterConfig, writeViews func([]View) error, writeEvents func([]Event) error) *Writer {
	cfg.ViewCapacity = cmpOr(cfg.ViewCapacity, defaultCapacity)
	cfg.EventCapacity = cmpOr(cfg.EventCapacity, defaultCapacity)
	cfg.ViewFlush = cmpOr(cfg.ViewFlush, defaultViewFlush)
	cfg.EventFlush = cmpOr(cfg.EventFlush, defaultEventFlush)
	w := &Writer{
		store:     s,
		report:    cfg.OnFlush,
		kick:      make(chan struct{}, 1),
		flushes:   make(chan chan error),
		intervals: make(chan [2]time.Duration),
		quit:      make(chan struct{}),
		done:      make(chan struct{}),
		closeCtx:  context.Background(),
	}
	w.views = newQueue("views", cfg.ViewCapacity, w.kick, writeViews)
	w.events = newQueue("events", cfg.EventCapacity, w.kick, writeEvents)
	if !s.addWriter(w) {
		// The store is closed: a writer that refuses everything.
		w.views.close()
		w.events.close()
		close(w.quit)
	}
	go w.run(cfg.ViewFlush, cfg.EventFlush)
	return w
}

// cmpOr is v, or def when v is zero or negative.
func cmpOr[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// AddView buffers v for the next flush. The writer sets v.ID at flush from
// v.CreatedAt (ids.go), so an ID given here is ignored, and a CreatedAt
// before the newest stored record's is stored as that record's time. It
// returns false, without blocking, when v is
// not taken: the buffer is full or the writer closed (counted as dropped),
// or the site id or visitor id is invalid (counted as rejected).
func (w *Writer) AddView(v View) bool {
	v.ID = 0
	return w.views.add(v, ValidSiteID(v.SiteID) && len(v.VisitorID) <= maxVisitorIDLen)
}

// AddEvent is AddView for events.
func (w *Writer) AddEvent(e Event) bool {
	e.ID = 0
	return w.events.add(e, ValidSiteID(e.SiteID) && len(e.VisitorID) <= maxVisitorIDLen)
}

// Stats returns the current counters.
func (w *Writer) Stats() WriterStats {
	var st WriterStats
	st.PendingViews, st.DroppedViews, st.RejectedViews, st.WrittenViews = w.views.counts()
	st.PendingEvents, st.DroppedEvents, st.RejectedEvents, st.WrittenEvents = w.events.counts()
	return st
}

// Flush stores everything added before the call, and what the feeders add
// (Feed), and returns when it is stored, or with the error of a failed
// flush (its records are kept for the next one). It must not be called
// from OnFlush.
func (w *Writer) Flush() error {
	reply := make(chan error, 1)
	select {
	case w.flushes <- reply:
		return <-reply
	case <-w.done:
		return ErrClosed
	}
}

// Feed registers fn, which adds the records of hits that a producer has
// answered and holds (handlers.Tracking.ProcessHeld), to be called before
// every flush of views (timed, at the buffer's size threshold, and Flush)
// and at the start of Close: a flush stores every hit answered before it,
// whatever started it. fn may run on the writer's goroutine and must not
// call Flush or Close. stop unregisters it.
func (w *Writer) Feed(fn func()) (stop func()) {
	key := &fn
	w.feedMu.Lock()
	if w.feeders == nil {
		w.feeders = make(map[*func()]struct{})
	}
	w.feeders[key] = struct{}{}
	w.feedMu.Unlock()
	return func() {
		w.feedMu.Lock()
		delete(w.feeders, key)
		w.feedMu.Unlock()
	}
}

// Gather calls the feeders: every hit answered before the call is then in
// the buffer. The API calls it before a write, so that a change (a
// campaign paused, a visitor excluded) applies to the hits answered after
// it and not to those answered before.
func (w *Writer) Gather() {
	w.feedMu.Lock()
	fns := make([]func(), 0, len(w.feeders))
	for fn := range w.feeders {
		fns = append(fns, *fn)
	}
	w.feedMu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// SetIntervals changes the flush intervals (zero or negative keeps the
// defaults); the next flush of each kind comes one new interval from now.
func (w *Writer) SetIntervals(views, events time.Duration) {
	select {
	case w.intervals <- [2]time.Duration{cmpOr(views, defaultViewFlush), cmpOr(events, defaultEventFlush)}:
	case <-w.done:
	}
}

// Done is closed when the writer's goroutine has returned.
func (w *Writer) Done() <-chan struct{} { return w.done }

// Close stops taking records, stores what is buffered and stops the writer
// goroutine. The final flush writes in chunks of sizeFlush records, each
// tried twice, and stops when ctx ends: records not stored by then, and
// chunks that failed twice, are counted as dropped and reported in the
// error. Close returns when the goroutine has, or when ctx ends, with
// ctx.Err(); the goroutine then ends after its current chunk. Closing a
// closed writer waits for its goroutine (within ctx) and returns ErrClosed.
func (w *Writer) Close(ctx context.Context) error {
	w.closeMu.Lock()
	defer w.closeMu.Unlock()
	w.Gather()
	first := w.views.close()
	w.events.close()
	if first {
		w.closeCtx = ctx
		close(w.quit)
	}
	select {
	case <-w.done:
	default:
		select {
		case <-w.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	w.store.removeWriter(w)
	if !first {
		return ErrClosed
	}
	return w.result
}

func (w *Writer) run(viewEvery, eventEvery time.Duration) {
	defer close(w.done)
	viewTick := time.NewTicker(viewEvery)
	defer viewTick.Stop()
	eventTick := time.NewTicker(eventEvery)
	defer eventTick.Stop()
	for {
		select {
		case <-viewTick.C:
			w.Gather()
			w.views.flush(w.report)
			w.drainDrops()
			w.mergeIndex()
		case <-eventTick.C:
			w.events.flush(w.report)
			w.mergeIndex()
		case <-w.kick:
			w.flushAll()
			w.mergeIndex()
		case iv := <-w.intervals:
			viewTick.Reset(iv[0])
			eventTick.Reset(iv[1])
		case reply := <-w.flushes:
			err := w.flushAll()
			w.mergeIndex()
			reply <- err
		case <-w.quit:
			w.result = errors.Join(w.views.drain(w.closeCtx, w.report), w.events.drain(w.closeCtx, w.report), w.drainDrops())
			return
		}
	}
}

// mergeIndex folds the visitor index log into chunks when it is due
// (visitorindex.go), between flushes, and reports it as kind "index".
func (w *Writer) mergeIndex() {
	start := time.Now()
	n, err := w.store.mergeDue(start)
	if (n > 0 || err != nil) && w.report != nil {
		w.report("index", n, time.Since(start), err)
	}
}

// flushAll stores both buffers, with what the feeders hold.
func (w *Writer) flushAll() error {
	w.Gather()
	return errors.Join(w.views.flush(w.report), w.events.flush(w.report), w.drainDrops())
}

// drainDrops moves the counts of hits not stored into the counters'
// pending deltas (quality.go), with the views' flush.
func (w *Writer) drainDrops() error {
	if err := w.store.drainDrops(DayOf(time.Now())); err != nil {
		return fmt.Errorf("drops: %w", err)
	}
	return nil
}

// queue is the bounded buffer of one record kind. Producers append under
// mu; the writer goroutine swaps the slice out under mu and writes without
// holding it.
type queue[T any] struct {
	kind      string
	capacity  int
	threshold int
	kick      chan<- struct{}
	write     func([]T) error

	mu       sync.Mutex
	buf      []T
	held     int // records the goroutine holds: in flight or kept for retry
	closed   bool
	dropped  uint64
	rejected uint64
	written  uint64

	// Owned by the writer goroutine.
	retry []T // a failed batch, written again first by the next flush
	spare []T // the last written batch's array, reused as the next buffer
}

func newQueue[T any](kind string, capacity int, kick chan<- struct{}, write func([]T) error) *queue[T] {
	return &queue[T]{
		kind:      kind,
		capacity:  capacity,
		threshold: max(1, min(sizeFlush, capacity/2)),
		kick:      kick,
		write:     write,
	}
}

func (q *queue[T]) add(r T, valid bool) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case !valid:
		q.rejected++
		return false
	case q.closed || len(q.buf) >= q.capacity:
		q.dropped++
		return false
	}
	q.buf = append(q.buf, r)
	if len(q.buf) == q.threshold {
		select {
		case q.kick <- struct{}{}:
		default:
		}
	}
	return true
}

// close makes add refuse records; it reports whether q was open.
func (q *queue[T]) close() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	was := !q.closed
	q.closed = true
	return was
}

func (q *queue[T]) counts() (pending int, dropped, rejected, written uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.buf) + q.held, q.dropped, q.rejected, q.written
}

// flush writes the buffered records after any kept from a failed flush.
// On failure it keeps the newest records, up to the capacity, for the next
// flush; their ids are already assigned, so the retry rewrites the same keys.
func (q *queue[T]) flush(report func(string, int, time.Duration, error)) error {
	q.mu.Lock()
	batch := q.buf
	q.buf = q.spare[:0]
	q.held = len(q.retry) + len(batch)
	q.mu.Unlock()
	q.spare = nil
	if len(q.retry) > 0 {
		batch = append(q.retry, batch...)
		q.retry = nil
	}
	if len(batch) == 0 {
		q.spare = batch
		return nil
	}

	start := time.Now()
	err := q.write(batch)
	if report != nil {
		report(q.kind, len(batch), time.Since(start), err)
	}

	q.mu.Lock()
	defer q.mu.Unlock()
	if err != nil {
		if over := len(batch) - q.capacity; over > 0 {
			q.dropped += uint64(over)
			batch = batch[over:]
		}
		q.retry = batch
		q.held = len(batch)
		return fmt.Errorf("flush %s: %w", q.kind, err)
	}
	q.written += uint64(len(batch))
	q.held = 0
	clear(batch)
	q.spare = batch[:0]
	return nil
}

// drain is the final flush: the records kept from a failed flush, then
// the buffered ones, in chunks of sizeFlush, each tried twice, until ctx
// ends. What is not stored is counted as dropped and reported. (The queue
// is closed: no record is added meanwhile.)
func (q *queue[T]) drain(ctx context.Context, report func(string, int, time.Duration, error)) error {
	q.mu.Lock()
	batch := append(q.retry, q.buf...)
	q.retry, q.buf = nil, nil
	q.held = len(batch)
	q.mu.Unlock()
	var errs []error
	for len(batch) > 0 && ctx.Err() == nil {
		chunk := batch[:min(len(batch), sizeFlush)]
		start := time.Now()
		err := q.write(chunk)
		if err != nil {
			err = q.write(chunk)
		}
		if report != nil {
			report(q.kind, len(chunk), time.Since(start), err)
		}
		q.mu.Lock()
		if err != nil {
			q.dropped += uint64(len(chunk))
			errs = append(errs, fmt.Errorf("final flush of %d %s: %w", len(chunk), q.kind, err))
		} else {
			q.written += uint64(len(chunk))
		}
		batch = batch[len(chunk):]
		q.held = len(batch)
		q.mu.Unlock()
	}
	if len(batch) > 0 {
		q.mu.Lock()
		q.dropped += uint64(len(batch))
		q.held = 0
		q.mu.Unlock()
		errs = append(errs, fmt.Errorf("final flush: %d %s not stored: %w", len(batch), q.kind, ctx.Err()))
	}
	return errors.Join(errs...)
}
