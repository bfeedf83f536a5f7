package storage

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// counterDump is every counter key and value of a store.
func counterDump(t *testing.T, s *Store) map[string]string {
	t.Helper()
	if err := s.agg.flush(); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tableCounters}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out[string(it.Item().KeyCopy(nil))] = string(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestImport_StoresAtOwnTimeWithFreeIDs(t *testing.T) {
	s := openTestStore(t, "")
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	w := s.NewWriter(WriterConfig{})
	w.AddView(View{CreatedAt: at, SiteID: "a", VisitorID: "live", Path: "/"})
	w.AddView(View{CreatedAt: at.Add(time.Hour), SiteID: "a", VisitorID: "live", Path: "/"})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	// Older than the newest stored view, three in the same millisecond as a
	// live one, on two sites, in two calls.
	batch := []View{
		{CreatedAt: at, SiteID: "a", VisitorID: "x", Path: "/1"},
		{CreatedAt: at, SiteID: "b", VisitorID: "y", Path: "/2"},
		{CreatedAt: at.Add(-48 * time.Hour), SiteID: "a", VisitorID: "z", Path: "/3"},
	}
	if err := s.ImportViews(batch); err != nil {
		t.Fatal(err)
	}
	if err := s.ImportViews([]View{{CreatedAt: at, SiteID: "a", VisitorID: "w", Path: "/4"}}); err != nil {
		t.Fatal(err)
	}
	ids := map[uint64]string{}
	for _, site := range []string{"a", "b"} {
		err := s.Views(site, at.Add(-72*time.Hour), at.Add(2*time.Hour), func(v *View) bool {
			if prev, dup := ids[v.ID]; dup {
				t.Errorf("id %d on %s and %s", v.ID, prev, v.Path)
			}
			ids[v.ID] = v.Path
			if want := map[string]time.Time{"/3": at.Add(-48 * time.Hour)}[v.Path]; !want.IsZero() && !v.CreatedAt.Equal(want) {
				t.Errorf("%s stored at %s, want %s", v.Path, v.CreatedAt, want)
			}
			if v.Path != "/" && v.Path != "/3" && !v.CreatedAt.Equal(at) {
				t.Errorf("%s stored at %s, want %s", v.Path, v.CreatedAt, at)
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(ids) != 6 {
		t.Fatalf("%d distinct ids stored, want 6: %v", len(ids), ids)
	}
	if tot, _ := s.totals("a", DayOf(at)-2); tot.Views != 1 || tot.Visitors != 1 {
		t.Errorf("the backdated day's counters: %+v", tot)
	}
	// The live writer goes on after its own newest id.
	w.AddView(View{CreatedAt: at.Add(2 * time.Hour), SiteID: "a", VisitorID: "live", Path: "/"})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestImport_AggregatesSameAsLiveArrival: the same history imported in
// shuffled batches and written live in time order gives byte-identical
// counters.
func TestImport_AggregatesSameAsLiveArrival(t *testing.T) {
	end := time.Date(2026, 5, 10, 13, 30, 0, 0, time.UTC)
	views, events := randomTraffic(3000, 3, end, 7)

	live := openTestStore(t, "")
	w := live.NewWriter(WriterConfig{})
	for _, v := range views {
		w.AddView(v)
	}
	for _, e := range events {
		w.AddEvent(e)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}

	imp := openTestStore(t, "")
	// Newest day first, in batches of 500, events after views.
	order := slices.Clone(views)
	slices.Reverse(order)
	for i := 0; i < len(order); i += 500 {
		chunk := slices.Clone(order[i:min(i+500, len(order))])
		slices.SortFunc(chunk, func(a, b View) int { return a.CreatedAt.Compare(b.CreatedAt) })
		if err := imp.ImportViews(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := imp.ImportEvents(slices.Clone(events)); err != nil {
		t.Fatal(err)
	}
	a, b := counterDump(t, live), counterDump(t, imp)
	if len(a) < 50 {
		t.Fatalf("only %d counters", len(a))
	}
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if a[k] != b[k] {
			t.Errorf("counter %x: live %x, imported %x", k, a[k], b[k])
		}
	}
	if len(a) != len(b) {
		t.Errorf("%d live counters, %d imported", len(a), len(b))
	}
}
