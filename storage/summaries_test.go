package storage

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// allViews reads every stored view of the sites, newest first.
func allViews(t *testing.T, s *Store, sites ...string) []View {
	t.Helper()
	var all []View
	for _, site := range sites {
		if err := s.Views(site, time.Time{}, time.Unix(1<<40, 0), func(v *View) bool { all = append(all, *v); return true }); err != nil {
			t.Fatal(err)
		}
	}
	slices.SortFunc(all, func(a, b View) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return all
}

// checkVisitors compares every visitor of the store, in two sorts, and the
// total with the plain grouping of its views.
func checkVisitors(t *testing.T, s *Store, sites ...string) {
	t.Helper()
	all := allViews(t, s, sites...)
	for _, q := range []VisitorQuery{{Sort: SortViewsDesc}, {Sort: SortLastSeen}, {Bot: BotSuspect, Sort: SortViewsAsc}} {
		want := expectVisitors(s, all, q)
		q.Limit = MaxListLimit
		var got []VisitorRow
		for _, p := range visitorPages(t, s, q) {
			if p.Total != (Total{N: len(want), Exact: true}) {
				t.Fatalf("%+v: total %+v, want %d", q, p.Total, len(want))
			}
			got = append(got, p.Visitors...)
		}
		if len(got) != len(want) {
			t.Fatalf("%+v: %d visitors, want %d", q, len(got), len(want))
		}
		for i := range got {
			g, w := got[i], want[i]
			if g.VisitorID != w.VisitorID || g.SiteID != w.SiteID || g.Views != w.Views || g.MaxBotScore != w.MaxBotScore ||
				!g.FirstSeen.Equal(w.FirstSeen) || !g.LastSeen.Equal(w.LastSeen) || g.DeviceType != w.DeviceType || g.IsReturning != w.IsReturning {
				t.Fatalf("%+v row %d:\n got %+v\nwant %+v", q, i, g, w)
			}
		}
	}
}

// The summaries follow the views as they arrive, merge pass after merge
// pass, imports of older views included.
func TestSummaries_FollowEveryMergePass(t *testing.T) {
	s := openTestStore(t, "")
	w := s.NewWriter(WriterConfig{ViewFlush: time.Hour, EventFlush: time.Hour})
	defer w.Close(t.Context())
	for round := range 5 {
		for i := range 40 {
			n := round*40 + i
			w.AddView(View{CreatedAt: listT0.Add(time.Duration(n) * time.Minute), SiteID: []string{"a", "b"}[n%2],
				VisitorID: fmt.Sprintf("v%d", n%17), Path: "/", DeviceType: []string{"desktop", "mobile"}[n/7%2],
				BotScore: n % 80, IsReturning: n%9 == 0, InteractionMS: int64(n)})
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if round == 2 {
			old := View{CreatedAt: listT0.Add(-time.Hour), SiteID: "a", VisitorID: "v0", Path: "/old", DeviceType: "tablet", BotScore: 99}
			if err := s.ImportViews([]View{old}); err != nil {
				t.Fatal(err)
			}
		}
		checkVisitors(t, s, "a", "b")
	}
}

// A purge re-derives the visitors it took views from: fewer views, a
// later first view, a lower top score, or no row at all.
func TestSummaries_FollowRetentionPurge(t *testing.T) {
	s := openTestStore(t, "")
	now := time.Date(2026, 6, 30, 3, 30, 0, 0, time.UTC)
	var views []View
	for d := 1; d <= 30; d++ {
		for i := range 4 {
			views = append(views, View{CreatedAt: now.Add(-time.Duration(d)*24*time.Hour + time.Duration(i)*time.Minute),
				SiteID: "s", VisitorID: fmt.Sprintf("v%d", (d*4+i)%9), Path: "/", BotScore: []int{5, 70, 20, 0}[i]})
		}
	}
	if err := s.ImportViews(views); err != nil {
		t.Fatal(err)
	}
	checkVisitors(t, s, "s")
	m := &Maintenance{RetentionDays: 10, BotRetentionDays: 20, Now: func() time.Time { return now }}
	if err := s.Maintain(m, now); err != nil {
		t.Fatal(err)
	}
	if left := allViews(t, s, "s"); len(left) != 10*4+10 {
		t.Fatalf("%d views left", len(left))
	}
	checkVisitors(t, s, "s")
}

// Raised scores lift the visitors' top scores, and the bot filter sees it.
func TestSummaries_FollowScoreRaises(t *testing.T) {
	s := openTestStore(t, "")
	now := t0.Add(time.Hour)
	storeViews(t, s,
		View{SiteID: "a", VisitorID: "v1", Path: "/1", BotScore: 10, CreatedAt: t0},
		View{SiteID: "a", VisitorID: "v1", Path: "/2", BotScore: 30, CreatedAt: t0.Add(time.Second)},
		View{SiteID: "a", VisitorID: "bounce", Path: "/3", BotScore: 40, CreatedAt: now.Add(-10 * time.Minute)},
		View{SiteID: "a", VisitorID: "v3", Path: "/4", BotScore: 0, CreatedAt: now.Add(-9 * time.Minute)},
	)
	checkVisitors(t, s, "a")
	if _, err := s.RaiseScores(Raise{Site: "a", VisitorIDs: []string{"v1"}, Penalty: 30, Marker: "correlated", Value: "true"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MarkBounces(now); err != nil {
		t.Fatal(err)
	}
	checkVisitors(t, s, "a")
	p, err := s.ListVisitors(VisitorQuery{Bot: BotSuspect})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range p.Visitors {
		ids = append(ids, v.VisitorID)
	}
	// v1 went to 60; bounce to 40+15 = 55 but v3 (0 + 15) stays clean.
	if slices.Sort(ids); !slices.Equal(ids, []string{"bounce", "v1"}) {
		t.Fatalf("suspects after the raises: %v", ids)
	}
}

// A merge pass that crashed after writing summaries leaves them dirty:
// the next Open rebuilds them from the rows. A store of layout 4 gets its
// summaries and row totals built at Open.
func TestSummaries_RebuiltAfterACrashAndOnUpgrade(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(txn *badger.Txn) error
	}{
		{"dirty", func(txn *badger.Txn) error {
			// As if a pass had folded some views twice.
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tableVisitorsByViews}})
			it.Rewind()
			key := it.Item().KeyCopy(nil)
			val, _ := it.Item().ValueCopy(nil)
			it.Close()
			sum, _ := decodeSummary(val)
			sum.views += 5
			if err := txn.Delete(key); err != nil {
				return err
			}
			if err := txn.Set(appendByViewsKey(nil, "a", sum.views, key[len(key)-9:]), sum.encode(nil)); err != nil {
				return err
			}
			return txn.Set(metaListState, []byte{listDirty})
		}},
		{"layout 4", func(txn *badger.Txn) error {
			if err := txn.Set(metaLayout, []byte{4}); err != nil {
				return err
			}
			for _, prefix := range [][]byte{{tableVisitorsByViews}, metaVisitorCount, {tableCounters}, metaListState, metaSummaryGen} {
				it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
				var keys [][]byte
				for it.Rewind(); it.Valid(); it.Next() {
					keys = append(keys, it.Item().KeyCopy(nil))
				}
				it.Close()
				for _, k := range keys {
					if err := txn.Delete(k); err != nil {
						return err
					}
				}
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, _ := listStore(t, 120)
			// listStore opened its own store: copy its views into ours.
			views := allViews(t, s, "a", "b")
			for i := range views {
				views[i].ID = 0
			}
			st := openTestStore(t, dir)
			if err := st.ImportViews(views); err != nil {
				t.Fatal(err)
			}
			checkVisitors(t, st, "a", "b")
			if err := st.DB().Update(tc.edit); err != nil {
				t.Fatal(err)
			}
			st.Close()
			st = openTestStore(t, dir)
			checkVisitors(t, st, "a", "b")
			p, err := st.ListViews(ViewQuery{})
			if err != nil || p.Total != (Total{N: 120, Exact: true}) {
				t.Fatalf("views total after reopening: %+v %v", p.Total, err)
			}
		})
	}
}

func TestViewAttrs_RoundTripAndSummaryCodec(t *testing.T) {
	v := fullView()
	attrs := appendViewAttrs(nil, &v)
	got, rest, ok := splitViewAttrs(append(attrs, 0xAA))
	if !ok || len(rest) != 1 || string(got) != string(attrs) {
		t.Fatalf("split %x %x %v", got, rest, ok)
	}
	var sum visitorSummary
	sum.add(7, parseViewAttrs(attrs))
	dec, err := decodeSummary(sum.encode(nil))
	if err != nil {
		t.Fatal(err)
	}
	row := dec.row("s", "x", false)
	if row.DeviceType != v.DeviceType || row.OSName != v.OSName || row.BrowserName != v.BrowserName ||
		row.CountryCode != v.CountryCode || row.MaxBotScore != v.BotScore || !row.IsReturning || dec.active != uint64(v.InteractionMS) {
		t.Fatalf("row %+v from %+v", row, dec)
	}
}

func FuzzDecodeSummary(f *testing.F) {
	v := fullView()
	var sum visitorSummary
	sum.add(7, parseViewAttrs(appendViewAttrs(nil, &v)))
	f.Add(sum.encode(nil), appendViewAttrs(nil, &v))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, []byte{0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, summary, attrs []byte) {
		if sum, err := decodeSummary(summary); err == nil {
			sum.row("s", "v", false) // must not panic
			if again, err := decodeSummary(sum.encode(nil)); err != nil || again.views != sum.views || again.last != sum.last {
				t.Fatalf("re-encoded summary %+v: %v", again, err)
			}
		}
		if a, _, ok := splitViewAttrs(attrs); ok {
			var sum visitorSummary
			sum.add(1, parseViewAttrs(a))
			if _, err := decodeSummary(sum.encode(nil)); err != nil {
				t.Fatalf("summary of split attributes %x: %v", a, err)
			}
		}
	})
}

func TestKnownVisitors_NoFalseNegativesAndFills(t *testing.T) {
	k := newKnownVisitors(0)
	for i := range minKnownCap {
		k.add("s", appendKeyToken(nil, fmt.Sprintf("%016x", i)))
	}
	if !k.full() {
		t.Fatal("not full at its capacity")
	}
	misses, fp := 0, 0
	for i := range minKnownCap {
		if !k.mayHave("s", appendKeyToken(nil, fmt.Sprintf("%016x", i))) {
			misses++
		}
		if k.mayHave("t", appendKeyToken(nil, fmt.Sprintf("%016x", i))) {
			fp++
		}
	}
	if misses != 0 || fp > minKnownCap/50 {
		t.Fatalf("%d false negatives, %d false positives of %d", misses, fp, minKnownCap)
	}
}

// Readers fold the log too: lists read while the writer stores and merges
// see consistent summaries, and the end state matches the rows.
func TestSummaries_ConcurrentReadsWhileWriting(t *testing.T) {
	s := openTestStore(t, "")
	w := s.NewWriter(WriterConfig{ViewFlush: time.Hour, EventFlush: time.Hour})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 600 {
			w.AddView(View{CreatedAt: listT0.Add(time.Duration(i) * time.Second), SiteID: []string{"a", "b"}[i%2],
				VisitorID: fmt.Sprintf("v%d", i%37), Path: "/", BotScore: i % 90})
			if i%50 == 49 {
				if err := w.Flush(); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	for reading := true; reading; {
		select {
		case <-done:
			reading = false
		default:
		}
		if _, err := s.ListVisitors(VisitorQuery{Sort: SortViewsDesc, Limit: 10}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.VisitorDetail("v3", 5); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkVisitors(t, s, "a", "b")
}
