package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func countViews(t *testing.T, s *Store, site string) int {
	t.Helper()
	n := 0
	if err := s.Views(site, time.Time{}, t0.AddDate(10, 0, 0), func(*View) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	return n
}

func view(i int) View {
	return View{SiteID: "a", VisitorID: fmt.Sprintf("%016x", i%97), Path: fmt.Sprintf("/p/%d", i), CreatedAt: t0.Add(time.Duration(i) * time.Millisecond)}
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestWriter_RecordsVisibleAfterFlush(t *testing.T) {
	s := openTestStore(t, "")
	w := s.NewWriter(WriterConfig{})
	defer w.Close(t.Context())
	for i := range 3 {
		w.AddView(view(i))
		w.AddEvent(Event{SiteID: "a", EventType: "click", CreatedAt: t0})
	}
	if n := countViews(t, s, "a"); n != 0 {
		t.Fatalf("%d views visible before Flush", n)
	}
	if st := w.Stats(); st.PendingViews != 3 || st.PendingEvents != 3 {
		t.Errorf("pending before flush = %+v", st)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := countViews(t, s, "a"); n != 3 {
		t.Errorf("%d views after Flush, want 3", n)
	}
	st := w.Stats()
	if st.PendingViews != 0 || st.PendingEvents != 0 || st.WrittenViews != 3 || st.WrittenEvents != 3 {
		t.Errorf("stats after flush = %+v", st)
	}
}

func TestWriter_CloseStoresEverythingAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	w := s.NewWriter(WriterConfig{ViewFlush: time.Hour, EventFlush: time.Hour})
	for i := range 10000 {
		if !w.AddView(view(i)) {
			t.Fatalf("AddView %d refused", i)
		}
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir)
	if n := countViews(t, s, "a"); n != 10000 {
		t.Errorf("%d views after reopen, want 10000", n)
	}
}

func TestStoreClose_FlushesOpenWriters(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	w := s.NewWriter(WriterConfig{})
	w.AddView(view(1))
	w.AddEvent(Event{SiteID: "a", EventType: "click", CreatedAt: t0})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(t.Context()); !errors.Is(err, ErrClosed) {
		t.Errorf("writer Close after store Close = %v, want ErrClosed", err)
	}
	if w.AddView(view(2)) {
		t.Error("closed writer took a view")
	}
	s = openTestStore(t, dir)
	if n := countViews(t, s, "a"); n != 1 {
		t.Errorf("%d views, want 1", n)
	}
}

func TestWriter_FullBufferDropsAndCounts(t *testing.T) {
	// A queue nobody flushes: the capacity is exact.
	q := newQueue("views", 10, make(chan struct{}, 1), func([]View) error { return nil })
	accepted := 0
	for i := range 15 {
		if q.add(view(i), true) {
			accepted++
		}
	}
	pending, dropped, _, _ := q.counts()
	if accepted != 10 || pending != 10 || dropped != 5 {
		t.Errorf("accepted %d, pending %d, dropped %d; want 10, 10, 5", accepted, pending, dropped)
	}
}

func TestWriter_OverflowNeverLosesAcceptedViews(t *testing.T) {
	s := openTestStore(t, "")
	// The first flush blocks until all adds are done, so the buffer fills.
	gate := make(chan struct{})
	w := s.newWriter(WriterConfig{ViewCapacity: 10, ViewFlush: time.Hour}, func(v []View) error {
		<-gate
		return s.writeViews(v)
	}, s.writeEvents)
	accepted, refused := 0, 0
	for i := range 2000 {
		if w.AddView(view(i)) {
			accepted++
		} else {
			refused++
		}
	}
	close(gate)
	if refused == 0 {
		t.Fatal("2000 views into a buffer of 10 were all accepted")
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	st := w.Stats()
	if st.DroppedViews != uint64(refused) || st.WrittenViews != uint64(accepted) {
		t.Errorf("stats %+v; accepted %d, refused %d", st, accepted, refused)
	}
	if n := countViews(t, s, "a"); n != accepted {
		t.Errorf("%d stored, want %d", n, accepted)
	}
}

func TestWriter_RejectsInvalidSiteIDs(t *testing.T) {
	s := openTestStore(t, "")
	w := s.NewWriter(WriterConfig{})
	defer w.Close(t.Context())
	for _, site := range []string{"", "a\x00b", "has space", string(make([]byte, 65))} {
		if w.AddView(View{SiteID: site}) || w.AddEvent(Event{SiteID: site}) {
			t.Errorf("site %q accepted", site)
		}
	}
	if st := w.Stats(); st.RejectedViews != 4 || st.RejectedEvents != 4 || st.DroppedViews != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestWriter_FlushesOnInterval(t *testing.T) {
	s := openTestStore(t, "")
	w := s.NewWriter(WriterConfig{ViewFlush: 20 * time.Millisecond, EventFlush: 20 * time.Millisecond})
	defer w.Close(t.Context())
	w.AddView(view(1))
	w.AddEvent(Event{SiteID: "a", EventType: "click", CreatedAt: t0})
	eventually(t, "interval flush", func() bool {
		st := w.Stats()
		return st.WrittenViews == 1 && st.WrittenEvents == 1
	})
	if n := countViews(t, s, "a"); n != 1 {
		t.Errorf("%d views stored, want 1", n)
	}
}

func TestWriter_FlushesWhenBufferReachesThreshold(t *testing.T) {
	s := openTestStore(t, "")
	w := s.NewWriter(WriterConfig{ViewCapacity: 100, ViewFlush: time.Hour, EventFlush: time.Hour})
	defer w.Close(t.Context())
	for i := range 50 { // half the capacity
		w.AddView(view(i))
	}
	eventually(t, "size flush", func() bool { return w.Stats().WrittenViews == 50 })
}

func TestWriter_ConcurrentAddsWhileFlushingLoseNothing(t *testing.T) {
	s := openTestStore(t, "")
	w := s.NewWriter(WriterConfig{ViewFlush: time.Millisecond, EventFlush: time.Millisecond})
	const goroutines, each = 16, 1000
	var wg sync.WaitGroup
	var accepted atomic.Int64
	stop := make(chan struct{})
	go func() { // Flush from outside the writer goroutine meanwhile
		for {
			select {
			case <-stop:
				return
			default:
				w.Flush()
			}
		}
	}()
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if w.AddView(view(g*each + i)) {
					accepted.Add(1)
				}
				w.AddEvent(Event{SiteID: "a", EventType: "click", CreatedAt: t0})
			}
		}()
	}
	wg.Wait()
	close(stop)
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if accepted.Load() != goroutines*each {
		t.Errorf("accepted %d of %d", accepted.Load(), goroutines*each)
	}
	seen := map[uint64]bool{}
	err := s.Views("a", time.Time{}, t0.AddDate(1, 0, 0), func(v *View) bool {
		seen[v.ID] = true
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != goroutines*each {
		t.Errorf("%d distinct stored ids, want %d", len(seen), goroutines*each)
	}
}

func TestWriter_IDsIncreaseAcrossReopenWhenTheClockGoesBack(t *testing.T) {
	dir := t.TempDir()
	for round := range 2 {
		s, err := Open(Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		w := s.NewWriter(WriterConfig{})
		for i := range 5 {
			// Round 1 runs on a clock 10 s behind round 0's.
			at := t0.Add(time.Duration(i-10*round) * time.Second)
			w.AddView(View{SiteID: "a", VisitorID: "x", Path: fmt.Sprint(round, i), CreatedAt: at})
			if i == 2 {
				w.Flush()
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	s := openTestStore(t, dir)
	var got []View
	if err := s.VisitorViews("x", func(v *View) bool { got = append(got, *v); return true }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 {
		t.Fatalf("%d views", len(got))
	}
	for i, v := range got {
		if want := fmt.Sprint(i/5, i%5); v.Path != want {
			t.Errorf("view %d is %s, want %s: history is not in add order", i, v.Path, want)
		}
		if i > 0 && (v.ID <= got[i-1].ID || v.CreatedAt.Before(got[i-1].CreatedAt)) {
			t.Errorf("view %d: id %d at %v after id %d at %v", i, v.ID, v.CreatedAt, got[i-1].ID, got[i-1].CreatedAt)
		}
	}
	// Round 1 cannot go back in time: it is stored at round 0's newest ms.
	if want := t0.Add(4 * time.Second); !got[9].CreatedAt.Equal(want) {
		t.Errorf("last view at %v, want %v", got[9].CreatedAt, want)
	}
}

func TestWriter_FailedFlushKeepsRecordsForRetry(t *testing.T) {
	s := openTestStore(t, "")
	var fail atomic.Bool
	fail.Store(true)
	var reports []string
	var mu sync.Mutex
	w := s.newWriter(WriterConfig{
		ViewFlush: time.Hour, EventFlush: time.Hour,
		OnFlush: func(kind string, n int, _ time.Duration, err error) {
			mu.Lock()
			reports = append(reports, fmt.Sprintf("%s %d %v", kind, n, err != nil))
			mu.Unlock()
		},
	}, func(v []View) error {
		if fail.Load() {
			return errors.New("disk full")
		}
		return s.writeViews(v)
	}, s.writeEvents)
	defer w.Close(t.Context())

	w.AddView(view(1))
	w.AddView(view(2))
	if err := w.Flush(); err == nil {
		t.Fatal("Flush hid the write error")
	}
	if st := w.Stats(); st.PendingViews != 2 || st.DroppedViews != 0 {
		t.Errorf("after failed flush: %+v", st)
	}
	fail.Store(false)
	w.AddView(view(3))
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := countViews(t, s, "a"); n != 3 {
		t.Errorf("%d stored after retry, want 3", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"views 2 true", "views 3 false"}; !slices.Equal(reports, want) {
		t.Errorf("OnFlush reports = %q, want %q", reports, want)
	}
}

func TestWriter_CloseGivesUpWhenContextEnds(t *testing.T) {
	s := openTestStore(t, "")
	release := make(chan struct{})
	w := s.newWriter(WriterConfig{}, func(v []View) error {
		<-release
		return s.writeViews(v)
	}, s.writeEvents)
	w.AddView(view(1))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := w.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want deadline exceeded", err)
	}
	close(release)
	if err := w.Close(t.Context()); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	if n := countViews(t, s, "a"); n != 1 {
		t.Errorf("%d stored, want 1 (the goroutine finishes after ctx ends)", n)
	}
}

func TestWriter_FlushAfterCloseIsErrClosed(t *testing.T) {
	s := openTestStore(t, "")
	w := s.NewWriter(WriterConfig{})
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush = %v, want ErrClosed", err)
	}
}

func TestWriter_OnClosedStoreRefusesRecords(t *testing.T) {
	s, err := Open(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	w := s.NewWriter(WriterConfig{})
	if w.AddView(view(1)) {
		t.Error("writer of a closed store took a view")
	}
	if err := w.Close(t.Context()); !errors.Is(err, ErrClosed) {
		t.Errorf("Close = %v, want ErrClosed", err)
	}
}

func TestStore_InMemoryWorksWithoutDir(t *testing.T) {
	s, err := Open(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w := s.NewWriter(WriterConfig{})
	w.AddView(view(1))
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := countViews(t, s, "a"); n != 1 {
		t.Errorf("%d views, want 1", n)
	}
}

// TestWriter_FeedersRunBeforeFlushTickAndClose: what a feeder adds is
// stored by the Flush that called it, by the timed flush of views and by
// Close; a stopped feeder is not called again. The flush at the buffer's
// size threshold: TestWriter_FeedersRunBeforeASizeFlush.
func TestWriter_FeedersRunBeforeFlushTickAndClose(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	w := s.NewWriter(WriterConfig{ViewFlush: 50 * time.Millisecond})
	var calls atomic.Int32
	held := make(chan View, 8) // what the producer holds
	stop := w.Feed(func() {
		calls.Add(1)
		for {
			select {
			case v := <-held:
				w.AddView(v)
			default:
				return
			}
		}
	})
	held <- view(0)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := countViews(t, s, "a"); n != 1 {
		t.Fatalf("%d views after Flush, want the held one stored by it", n)
	}
	held <- view(1)
	eventually(t, "the held view stored by a timed flush", func() bool { return countViews(t, s, "a") == 2 })
	held <- view(2)
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := countViews(t, s, "a"); n != 3 {
		t.Fatalf("%d views after Close, want the held one stored by it", n)
	}
	stop()
	before := calls.Load()
	w.Gather()
	if calls.Load() != before {
		t.Error("a stopped feeder was called")
	}
}

// TestWriter_FeedersRunBeforeASizeFlush: the flush a full enough buffer
// starts stores what the feeders hold too, so that a hit answered before
// the records that filled the buffer is not left behind them (a site's
// first clean pageview, held, registers the site for the bot rows that
// follow it in the same flush).
func TestWriter_FeedersRunBeforeASizeFlush(t *testing.T) {
	s := openTestStore(t, "")
	w := s.NewWriter(WriterConfig{ViewCapacity: 10, ViewFlush: time.Hour})
	t.Cleanup(func() { _ = w.Close(context.Background()) })
	held := make(chan View, 1)
	held <- view(0)
	w.Feed(func() {
		select {
		case v := <-held:
			w.AddView(v)
		default:
		}
	})
	for i := 1; i <= 5; i++ { // the threshold: half the capacity
		w.AddView(view(i))
	}
	eventually(t, "the 5 added and the 1 held written by the flush at the threshold", func() bool {
		return w.Stats().WrittenViews == 6
	})
}

// TestStoreShutdown_BoundedWhileAUserRuns: Shutdown returns when its
// context ends although a user of the store (a maintenance run that has
// not stopped yet) still runs; Badger closes after that user ends, and
// every buffered view was written or counted as dropped.
func TestStoreShutdown_BoundedWhileAUserRuns(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	w := s.NewWriter(WriterConfig{ViewFlush: time.Hour})
	const buffered = 20_000
	for i := range buffered {
		if !w.AddView(view(i)) {
			t.Fatal("buffer full")
		}
	}
	busy := make(chan struct{}) // the user that has not stopped
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	returned := make(chan error, 1)
	go func() { returned <- s.Shutdown(ctx, busy) }()
	select {
	case err := <-returned:
		if err == nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown returned %v, want the timeout reported", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Shutdown still waits for a running user 30 s after its 200 ms timeout")
	}
	select {
	case <-s.Closed():
		t.Fatal("Badger closed while a user of the store still runs")
	default:
	}
	close(busy)
	select {
	case <-s.Closed():
	case <-time.After(30 * time.Second):
		t.Fatal("Badger not closed 30 s after the last user ended")
	}
	if st := w.Stats(); st.WrittenViews+st.DroppedViews != buffered || st.PendingViews != 0 {
		t.Errorf("writer %+v: every buffered view must be written or counted as dropped", st)
	}
	reopened := openTestStore(t, dir)
	if n := countViews(t, reopened, "a"); uint64(n) != w.Stats().WrittenViews {
		t.Errorf("%d views stored, want the %d written", n, w.Stats().WrittenViews)
	}
}
