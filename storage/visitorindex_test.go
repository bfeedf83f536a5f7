package storage

import (
	"slices"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// keysOf lists the keys with prefix.
func keysOf(t *testing.T, s *Store, prefix []byte) [][]byte {
	t.Helper()
	var keys [][]byte
	err := s.DB().View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// historyPaths is a visitor's views as site+path, oldest first.
func historyPaths(t *testing.T, s *Store, visitor string) []string {
	t.Helper()
	var got []string
	if err := s.VisitorViews(visitor, func(v *View) bool {
		got = append(got, v.SiteID+v.Path)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// indexTestViews are two visitors' views on two sites over two days, in
// time order.
func indexTestViews() []View {
	at := func(site, visitor, path string, d time.Duration) View {
		return View{SiteID: site, Path: path, VisitorID: visitor, CreatedAt: t0.Add(d)}
	}
	return []View{
		at("a", "v1", "/1", 0),
		at("a", "v2", "/x", time.Second),
		at("b", "v1", "/2", 2*time.Second),
		at("a", "v1", "/3", 3*time.Second),
		at("a", "v1", "/4", 24*time.Hour),
		at("b", "v2", "/y", 24*time.Hour+time.Second),
	}
}

func TestVisitorIndex_FlushLogsAndReadsMergeIntoChunks(t *testing.T) {
	s := openTestStore(t, "")
	storeViews(t, s, indexTestViews()...)
	if n := len(keysOf(t, s, []byte{tableViewIndexLog})); n != 1 {
		t.Fatalf("index log segments after one flush: %d, want 1", n)
	}
	if n := len(keysOf(t, s, []byte{tableVisitorViews})); n != 0 {
		t.Fatalf("chunks before a merge: %d, want 0", n)
	}
	if got, want := historyPaths(t, s, "v1"), []string{"a/1", "b/2", "a/3", "a/4"}; !slices.Equal(got, want) {
		t.Errorf("v1 history %q, want %q", got, want)
	}
	if n := len(keysOf(t, s, []byte{tableViewIndexLog})); n != 0 {
		t.Errorf("index log segments after a read: %d, want 0 (merged)", n)
	}
	// One chunk per visitor, site and day: v1 a day 1, v1 b day 1, v1 a
	// day 2, v2 a day 1, v2 b day 2.
	if n := len(keysOf(t, s, []byte{tableVisitorViews})); n != 5 {
		t.Errorf("chunks: %d, want 5", n)
	}
	if got, want := historyPaths(t, s, "v2"), []string{"a/x", "b/y"}; !slices.Equal(got, want) {
		t.Errorf("v2 history %q, want %q", got, want)
	}
	// A later flush adds chunks next to the merged ones.
	storeViews(t, s, View{SiteID: "a", Path: "/5", VisitorID: "v1", CreatedAt: t0.Add(24*time.Hour + time.Minute)})
	if got, want := historyPaths(t, s, "v1"), []string{"a/1", "b/2", "a/3", "a/4", "a/5"}; !slices.Equal(got, want) {
		t.Errorf("v1 history after a second flush %q, want %q", got, want)
	}
}

func TestVisitorIndex_RaisesAndDashboardSeeUnmergedRows(t *testing.T) {
	s := openTestStore(t, "")
	stored := storeViews(t, s, indexTestViews()...)
	res, err := s.RaiseScores(Raise{Site: "a", VisitorIDs: []string{"v1"}, Penalty: 30, Marker: "test", Value: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Views != 3 {
		t.Errorf("raised %d views of v1 on a, want 3", res.Views)
	}
	ids, err := s.visitorIDsSince("v1", "a", t0.Add(time.Second), t0.Add(25*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint64{stored[3].ID, stored[4].ID}; !slices.Equal(ids, want) {
		t.Errorf("ids since %v: %v, want %v", t0.Add(time.Second), ids, want)
	}
}

func TestVisitorIndex_WriterMergesWhenDue(t *testing.T) {
	s := openTestStore(t, "")
	var merged []int
	w := s.NewWriter(WriterConfig{OnFlush: func(kind string, n int, _ time.Duration, err error) {
		if kind == "index" {
			if err != nil {
				t.Error(err)
			}
			merged = append(merged, n)
		}
	}})
	defer w.Close(t.Context())
	// Open merged, so the log is not due by time yet: under mergeEntries
	// entries stay in the log.
	for i := range 10 {
		w.AddView(View{SiteID: "a", Path: "/", VisitorID: "v", CreatedAt: t0.Add(time.Duration(i) * time.Second)})
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(merged) != 0 || s.views.log.pending.Load() != 10 {
		t.Fatalf("merges %v, pending %d; want none and 10", merged, s.views.log.pending.Load())
	}
	// Due by time.
	s.views.log.merged.Store(time.Now().Add(-mergeEvery).UnixNano())
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(merged, []int{10}) || s.views.log.pending.Load() != 0 {
		t.Fatalf("merges %v, pending %d; want [10] and 0", merged, s.views.log.pending.Load())
	}
	// Due by size.
	for i := range mergeEntries {
		w.AddView(View{SiteID: "a", Path: "/", VisitorID: "v", CreatedAt: t0.Add(time.Hour + time.Duration(i)*time.Millisecond)})
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(merged, []int{10, mergeEntries}) {
		t.Fatalf("merges %v, want [10 %d]", merged, mergeEntries)
	}
	if n := len(keysOf(t, s, []byte{tableViewIndexLog})); n != 0 {
		t.Errorf("segments left: %d", n)
	}
	n := 0
	if err := s.VisitorViews("v", func(*View) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	if n != 10+mergeEntries {
		t.Errorf("history of v: %d views, want %d", n, 10+mergeEntries)
	}
}

// A crash between writing a merge's chunks and deleting its segments
// leaves both: Open merges again, and no row shows twice.
func TestVisitorIndex_RepeatedMergeAfterCrash(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	storeViews(t, s, indexTestViews()...)
	type kv struct{ k, v []byte }
	var segments []kv
	err := s.DB().View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tableViewIndexLog}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			segments = append(segments, kv{it.Item().KeyCopy(nil), v})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || len(segments) == 0 {
		t.Fatalf("segments %d, %v", len(segments), err)
	}
	want := historyPaths(t, s, "v1") // merges
	err = s.DB().Update(func(txn *badger.Txn) error {
		for _, seg := range segments {
			if err := txn.Set(seg.k, seg.v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTestStore(t, dir)
	if n := len(keysOf(t, s, []byte{tableViewIndexLog})); n != 0 {
		t.Errorf("segments after Open: %d, want 0", n)
	}
	if got := historyPaths(t, s, "v1"); !slices.Equal(got, want) {
		t.Errorf("history after a repeated merge %q, want %q", got, want)
	}
}

// Layout 3 kept one index key per row, valued with the site: Open marks
// the directory layout 4 and reads those keys as one-id chunks.
func TestVisitorIndex_ReadsLayout3Keys(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	stored := storeViews(t, s, indexTestViews()...)
	want := historyPaths(t, s, "v1")
	err := s.DB().Update(func(txn *badger.Txn) error {
		for _, k := range keysOf(t, s, []byte{tableVisitorViews}) {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		for _, v := range stored {
			if err := txn.Set(appendVisitorKey(nil, tableVisitorViews, v.VisitorID, v.ID), []byte(v.SiteID)); err != nil {
				return err
			}
		}
		return txn.Set(metaLayout, []byte{3})
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTestStore(t, dir)
	if got := historyPaths(t, s, "v1"); !slices.Equal(got, want) {
		t.Errorf("history from layout 3 keys %q, want %q", got, want)
	}
	err = s.DB().View(func(txn *badger.Txn) error {
		item, err := txn.Get(metaLayout)
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if !slices.Equal(v, []byte{layoutVersion}) {
				t.Errorf("layout %x after Open, want %d", v, layoutVersion)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Retention removes purged rows' ids from chunks that keep others.
func TestVisitorIndex_PurgeRewritesChunks(t *testing.T) {
	s := openTestStore(t, "")
	at := func(path string, d time.Duration, score int) View {
		return View{SiteID: "a", Path: path, VisitorID: "v", CreatedAt: t0.Add(d), BotScore: score}
	}
	// One chunk (one visitor, site and day) with clean and bot rows.
	storeViews(t, s, at("/clean", 0, 0), at("/bot", time.Second, 80), at("/clean2", 2*time.Second, 0))
	historyPaths(t, s, "v") // merge
	views, err := s.purgeRows(tableViews, tableVisitorViews, "a", t0, t0.Add(time.Hour), func(val []byte) (string, int, error) {
		var v View
		err := DecodeView(val, &v)
		return v.VisitorID, v.BotScore, err
	})
	if err != nil || views != 1 {
		t.Fatalf("purged %d, %v; want 1 bot row", views, err)
	}
	if got, want := historyPaths(t, s, "v"), []string{"a/clean", "a/clean2"}; !slices.Equal(got, want) {
		t.Errorf("history after purge %q, want %q", got, want)
	}
	var ids []uint64
	err = s.DB().View(func(txn *badger.Txn) (err error) {
		ids, err = visitorRowIDs(txn, tableVisitorViews, "v", "a")
		return err
	})
	if err != nil || len(ids) != 2 {
		t.Errorf("index ids %v, %v; want the 2 clean rows only", ids, err)
	}
}

func TestVisitorIndex_SegmentAndChunkRoundTrip(t *testing.T) {
	type entry struct {
		site, visitor string
		id            uint64
	}
	in := []entry{{"a", "v1", 100}, {"a", "0123456789abcdef", 90}, {"bb", "v1", 1 << 50}, {"bb", "", 7}, {"a", "v1", 101}}
	l := newLogSegment(tableViewIndexLog, len(in))
	var val []byte
	var prevSite string
	var prevID uint64
	for _, e := range in {
		l.add(e.site, e.visitor, e.id)
		val = appendLogEntry(val, e.site, prevSite, e.visitor, e.id, prevID)
		prevSite, prevID = e.site, e.id
	}
	l.close()
	if len(l.done) != 1 || string(l.buf[l.done[0][0]+9:l.done[0][1]]) != string(val) {
		t.Fatalf("logSegment value differs from the entries appended")
	}
	var out []entry
	if err := decodeSegment(val, func(site, token []byte, id uint64, _ []byte) {
		out = append(out, entry{string(site), string(token), id})
	}); err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i].visitor = string(appendKeyToken(nil, in[i].visitor))
	}
	if !slices.Equal(out, in) {
		t.Errorf("decoded %+v, want %+v", out, in)
	}
	ids := []uint64{5, 6, 1000, 1 << 40}
	site, got, err := decodeChunk(ids[0], appendChunk(nil, "shop", ids), nil)
	if err != nil || site != "shop" || !slices.Equal(got, ids) {
		t.Errorf("chunk round trip: %q %v %v", site, got, err)
	}
	if site, got, err := decodeChunk(9, []byte("shop"), nil); err != nil || site != "shop" || !slices.Equal(got, []uint64{9}) {
		t.Errorf("one-id chunk: %q %v %v", site, got, err)
	}
}

// Segments split at segmentEntries entries, each its own key.
func TestVisitorIndex_SegmentsSplit(t *testing.T) {
	l := newLogSegment(tableViewIndexLog, 0)
	for i := range segmentEntries + 1 {
		l.add("a", "v", uint64(i+1))
	}
	l.close()
	if len(l.done) != 2 || l.total != segmentEntries+1 {
		t.Fatalf("segments %d, entries %d", len(l.done), l.total)
	}
	n := 0
	for _, d := range l.done {
		if err := decodeSegment(l.buf[d[0]+9:d[1]], func([]byte, []byte, uint64, []byte) { n++ }); err != nil {
			t.Fatal(err)
		}
	}
	if n != segmentEntries+1 {
		t.Errorf("decoded %d entries", n)
	}
}

func FuzzDecodeIndexValues(f *testing.F) {
	f.Add(appendLogEntry(nil, "a", "", "v", 5, 0), appendChunk(nil, "a", []uint64{1, 2, 9}))
	f.Add([]byte{0, 0, 0}, []byte("a\x00\x00"))
	f.Add([]byte{5, 'a'}, []byte("a\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"))
	f.Fuzz(func(t *testing.T, segment, chunk []byte) {
		_ = decodeSegment(segment, func(site, _ []byte, _ uint64, _ []byte) {
			if len(site) == 0 {
				t.Fatal("entry without a site")
			}
		})
		site, ids, err := decodeChunk(1, chunk, nil)
		if err != nil {
			return
		}
		if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
			t.Fatalf("ids %v not strictly increasing", ids)
		}
		site2, ids2, err := decodeChunk(1, appendChunk(nil, site, ids), nil)
		if err != nil || site2 != site || !slices.Equal(ids2, ids) {
			t.Fatalf("chunk %q: re-encoded reads %q %v %v", chunk, site2, ids2, err)
		}
	})
}

// Readers merge while the writer flushes and merges: every row ends up in
// the index exactly once.
func TestVisitorIndex_ConcurrentReadsAndFlushes(t *testing.T) {
	s := openTestStore(t, "")
	w := s.NewWriter(WriterConfig{ViewFlush: time.Millisecond})
	const n = 3000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			for !w.AddView(View{SiteID: "a", Path: "/", VisitorID: "v", CreatedAt: t0.Add(time.Duration(i) * time.Millisecond)}) {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	reads := 0
	for running := true; running; reads++ {
		select {
		case <-done:
			running = false
		default:
		}
		if err := s.VisitorViews("v", func(*View) bool { return true }); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	var ids []uint64
	if err := s.VisitorViews("v", func(v *View) bool { ids = append(ids, v.ID); return true }); err != nil {
		t.Fatal(err)
	}
	if len(ids) != n || !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != n {
		t.Errorf("history: %d ids (sorted %v), want %d distinct in order, after %d concurrent reads", len(ids), slices.IsSorted(ids), n, reads)
	}
}

// A long log is merged in passes (mergeEntries entries, maxPassSegments
// segments each), and an import merges when the log is due.
func TestVisitorIndex_LongLogsMergeInPasses(t *testing.T) {
	s := openTestStore(t, "")
	s.sites.add([]string{"a"})
	// More entries than one pass takes, from one import: the import
	// merges them before it returns.
	const n = mergeEntries + 5000
	views := make([]View, n)
	for i := range views {
		views[i] = View{SiteID: "a", Path: "/", VisitorID: []string{"v1", "v2"}[i%2], CreatedAt: t0.Add(time.Duration(i) * time.Millisecond)}
	}
	if err := s.ImportViews(views); err != nil {
		t.Fatal(err)
	}
	if segs := len(keysOf(t, s, []byte{tableViewIndexLog})); segs != 0 || s.views.log.pending.Load() != 0 {
		t.Fatalf("after the import: %d segments, %d pending; want both 0", segs, s.views.log.pending.Load())
	}
	// More segments than one pass deletes: one entry each.
	const segs = maxPassSegments + 100
	wb := s.DB().NewWriteBatch()
	var want []uint64
	for i := range segs {
		id := idFloor(t0.Add(time.Hour).UnixMilli()) + uint64(i)<<idSeqBits
		l := newLogSegment(tableViewIndexLog, 1)
		l.add("a", "v3", id)
		if err := l.set(wb); err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
	s.views.indexLogged(segs)
	merged, err := s.mergeIndex(&s.views)
	if err != nil || merged != segs {
		t.Fatalf("merged %d, %v; want %d", merged, err, segs)
	}
	var got []uint64
	err = s.DB().View(func(txn *badger.Txn) (err error) {
		got, err = visitorRowIDs(txn, tableVisitorViews, "v3", "a")
		return err
	})
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("v3's ids after two passes: %d ids, %v; want %d", len(got), err, len(want))
	}
	for _, v := range []string{"v1", "v2"} {
		k := 0
		if err := s.VisitorViews(v, func(*View) bool { k++; return true }); err != nil {
			t.Fatal(err)
		}
		if k != n/2 {
			t.Errorf("%s: %d views in its history, want %d", v, k, n/2)
		}
	}
}
