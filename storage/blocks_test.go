package storage

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// blockKeys lists the block keys (firstIDs) of a site and their row counts.
func blockKeys(t *testing.T, s *Store, table byte, site string) (firsts []uint64, counts []int) {
	t.Helper()
	err := s.DB().View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: sitePrefix(table, site)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			first := keyID(it.Item().Key())
			n := 0
			if err := it.Item().Value(func(v []byte) error {
				err := decodeBlock(first, v, func(uint64, []byte) bool { n++; return true })
				return err
			}); err != nil {
				return err
			}
			firsts, counts = append(firsts, first), append(counts, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return firsts, counts
}

func TestBlocks_AFlushStoresBlocksOfOneSite(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var in []View
	for i := range 200 {
		site := "a"
		if i%3 == 0 {
			site = "b"
		}
		in = append(in, View{SiteID: site, VisitorID: fmt.Sprintf("%016x", i%7), Path: fmt.Sprintf("/%d", i), CreatedAt: t0.Add(time.Duration(i) * time.Millisecond)})
	}
	stored := storeViews(t, s, in...)
	// Consecutive runs of a site make blocks: sites alternate, so no block
	// may hold another site's row, and none more than maxBlockRows.
	for _, site := range []string{"a", "b"} {
		_, counts := blockKeys(t, s, tableViews, site)
		total := 0
		for _, n := range counts {
			if n < 1 || n > maxBlockRows {
				t.Fatalf("block of %d rows", n)
			}
			total += n
		}
		var got []View
		if err := s.Views(site, t0, t0.Add(time.Hour), func(v *View) bool { got = append(got, *v); return true }); err != nil {
			t.Fatal(err)
		}
		if total != len(got) || !slices.IsSortedFunc(got, func(a, b View) int { return cmp.Compare(a.ID, b.ID) }) {
			t.Fatalf("site %s: %d rows in blocks, %d read, sorted %v", site, total, len(got), slices.IsSortedFunc(got, func(a, b View) int { return cmp.Compare(a.ID, b.ID) }))
		}
	}
	for _, v := range stored {
		got, ok, err := s.ViewByID(v.ID)
		if err != nil || !ok || got.Path != v.Path || got.SiteID != v.SiteID {
			t.Fatalf("ViewByID(%d) = %+v %v %v; want %s", v.ID, got, ok, err, v.Path)
		}
	}
	n := 0
	if err := s.VisitorViews(fmt.Sprintf("%016x", 3), func(v *View) bool { n++; return true }); err != nil || n != 29 {
		t.Fatalf("visitor history: %d views, %v", n, err)
	}
}

func TestBlocks_SingleSiteBatchFillsBlocks(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var in []View
	for range 3*maxBlockRows + 5 {
		in = append(in, View{SiteID: "a", Path: "/", CreatedAt: t0})
	}
	storeViews(t, s, in...)
	if _, counts := blockKeys(t, s, tableViews, "a"); !slices.Equal(counts, []int{64, 64, 64, 5}) {
		t.Fatalf("blocks %v", counts)
	}
	// A range starting inside a block reads from that row on.
	var ids []uint64
	_ = s.Views("a", t0, t0.Add(time.Second), func(v *View) bool { ids = append(ids, v.ID); return true })
	var from []uint64
	_ = s.DB().View(func(txn *badger.Txn) error {
		return scanBlocks(txn, tableViews, "a", ids[100], ids[150], func(id uint64, _ []byte) (bool, error) {
			from = append(from, id)
			return true, nil
		})
	})
	if !slices.Equal(from, ids[100:150]) {
		t.Fatalf("mid-block range: %d rows", len(from))
	}
}

// An import block (a backdated row) inside a live block's id range: reads
// stay in id order, and lookups find both.
func TestBlocks_ImportInsideALiveBlock(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	live := storeViews(t, s,
		View{SiteID: "a", VisitorID: "v", Path: "/1", CreatedAt: t0},
		View{SiteID: "a", VisitorID: "v", Path: "/2", CreatedAt: t0.Add(10 * time.Millisecond)},
		View{SiteID: "a", VisitorID: "v", Path: "/3", CreatedAt: t0.Add(20 * time.Millisecond)})
	imported := idFloor(t0.Add(15*time.Millisecond).UnixMilli()) | 1<<(idSeqBits-1)
	rec := EncodeView(nil, &View{Path: "/imported"})
	err := s.DB().Update(func(txn *badger.Txn) error {
		return txn.Set(rowKey(tableImportedViews, "a", imported), appendBlockRow([]byte{blockImport}, imported, imported, rec))
	})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	if err := s.Views("a", t0, t0.Add(time.Second), func(v *View) bool { paths = append(paths, v.Path); return true }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(paths, []string{"/1", "/2", "/imported", "/3"}) {
		t.Fatalf("merged order %v", paths)
	}
	for id, want := range map[uint64]string{imported: "/imported", live[2].ID: "/3", live[0].ID: "/1"} {
		if v, ok, err := s.ViewByID(id); err != nil || !ok || v.Path != want {
			t.Fatalf("ViewByID(%d) = %q %v %v; want %q", id, v.Path, ok, err, want)
		}
	}
	if _, ok, _ := s.ViewByID(imported + 1); ok {
		t.Fatal("found a row that does not exist")
	}
	// A range starting after the import and inside the live block.
	var tail []string
	_ = s.Views("a", t0.Add(16*time.Millisecond), t0.Add(time.Second), func(v *View) bool { tail = append(tail, v.Path); return true })
	if !slices.Equal(tail, []string{"/3"}) {
		t.Fatalf("tail %v", tail)
	}
}

func TestBlocks_CorruptBlockIsAnError(t *testing.T) {
	for _, val := range [][]byte{nil, {9}, {blockLive, 0, 5, 1}, {blockLive, 0, 1, 'x', 0, 1, 'y'}} {
		if err := decodeBlock(1, val, func(uint64, []byte) bool { return true }); err == nil {
			t.Errorf("block %x decoded without error", val)
		}
	}
}

// importViews stores views with the given past ids through setRows as an
// import, the way backdated writes do.
func importViews(t *testing.T, s *Store, views []View) {
	t.Helper()
	wb := s.DB().NewWriteBatch()
	defer wb.Cancel()
	logged, err := s.setRows(wb, &s.views, len(views), func(i int) recordRef {
		v := &views[i]
		return recordRef{&v.ID, v.CreatedAt, v.SiteID, v.VisitorID, nil, v}
	}, func(dst []byte, i int) []byte { return EncodeView(dst, &views[i]) }, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
	s.views.indexLogged(logged)
}

func TestBlocks_ImportsBlockUpOnlyWhereNothingOverlaps(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	s.sites.add([]string{"a"})
	now := time.Now().UTC()
	var live []View
	for _, v := range []View{ // three flushes: three live blocks
		{SiteID: "a", Path: "/live1", CreatedAt: now.Add(-72 * time.Hour)},
		{SiteID: "a", Path: "/live2", CreatedAt: now.Add(-24 * time.Hour)},
		{SiteID: "a", Path: "/live3", CreatedAt: now},
	} {
		live = append(live, storeViews(t, s, v)...)
	}
	past := func(at time.Time, k int, path string) View {
		return View{ID: idFloor(at.UnixMilli()) | 1<<(idSeqBits-1) | uint64(k), SiteID: "a", VisitorID: "imp", Path: path, CreatedAt: at}
	}
	var batch []View
	day := now.Add(-48 * time.Hour)
	for k := range 100 { // two days ago: between live blocks, overlapping none
		batch = append(batch, past(day.Add(time.Duration(k)*time.Millisecond), 0, fmt.Sprintf("/old%d", k)))
	}
	batch = append(batch, past(now.Add(-10*time.Minute), 0, "/recent")) // within the hour
	importViews(t, s, batch)

	firsts, counts := blockKeys(t, s, tableViews, "a")
	kinds := map[int]int{}
	_ = s.DB().View(func(txn *badger.Txn) error {
		for _, f := range firsts {
			item, err := txn.Get(rowKey(tableViews, "a", f))
			if err != nil {
				return err
			}
			_ = item.Value(func(v []byte) error { kinds[int(v[0])]++; return nil })
		}
		return nil
	})
	// live1, live2, live3 and two blocks of the 100 old rows are live
	// blocks; the recent one is an import block in the import table.
	imports, _ := blockKeys(t, s, tableImportedViews, "a")
	if kinds[int(blockLive)] != 5 || len(counts) != 5 || len(imports) != 1 {
		t.Fatalf("blocks %v counts %v imports %v", kinds, counts, imports)
	}
	var paths []string
	if err := s.Views("a", now.Add(-100*time.Hour), now.Add(time.Hour), func(v *View) bool { paths = append(paths, v.Path); return true }); err != nil {
		t.Fatal(err)
	}
	if len(paths) != 104 || paths[0] != "/live1" || paths[1] != "/old0" || paths[100] != "/old99" || paths[101] != "/live2" || paths[102] != "/recent" || paths[103] != "/live3" {
		t.Fatalf("order: %d rows, %v … %v", len(paths), paths[:3], paths[99:])
	}
	n := 0
	if err := s.VisitorViews("imp", func(*View) bool { n++; return true }); err != nil || n != 101 {
		t.Fatalf("imported visitor history: %d, %v", n, err)
	}
	if v, ok, err := s.ViewByID(live[2].ID); !ok || err != nil || v.Path != "/live3" {
		t.Fatalf("live row after imports: %v %v %v", v.Path, ok, err)
	}
	// Importing into a live block's range gives import blocks.
	inside := []View{past(now.Add(-72*time.Hour), 0, "/inside")}
	inside[0].ID = live[0].ID + 1
	importViews(t, s, inside)
	if v, ok, _ := s.ViewByID(live[0].ID + 1); !ok || v.Path != "/inside" {
		t.Fatalf("import inside a live range: %v %v", v.Path, ok)
	}
}

func TestBlocks_RewriteRowEditsAndDrops(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	stored := storeViews(t, s,
		View{SiteID: "a", Path: "/1", CreatedAt: t0},
		View{SiteID: "a", Path: "/2", CreatedAt: t0},
		View{SiteID: "a", Path: "/3", CreatedAt: t0})
	edit := func(id uint64, f func([]byte) ([]byte, bool, error)) {
		t.Helper()
		err := s.DB().Update(func(txn *badger.Txn) error {
			found, changed, err := rewriteRow(txn, tableViews, "a", id, f, txn.Set, txn.Delete)
			if !found || !changed {
				t.Errorf("row %d: found %v changed %v", id, found, changed)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	paths := func() []string {
		var out []string
		_ = s.Views("a", t0, t0.Add(time.Hour), func(v *View) bool { out = append(out, v.Path); return true })
		return out
	}
	edit(stored[1].ID, func([]byte) ([]byte, bool, error) { return EncodeView(nil, &View{Path: "/two"}), true, nil })
	if got := paths(); !slices.Equal(got, []string{"/1", "/two", "/3"}) {
		t.Fatalf("after edit %v", got)
	}
	drop := func([]byte) ([]byte, bool, error) { return nil, true, nil }
	edit(stored[0].ID, drop) // the block's first row: the block moves
	if got := paths(); !slices.Equal(got, []string{"/two", "/3"}) {
		t.Fatalf("after dropping the first row %v", got)
	}
	if v, ok, _ := s.ViewByID(stored[2].ID); !ok || v.Path != "/3" {
		t.Fatalf("lookup after the move: %v %v", v.Path, ok)
	}
	edit(stored[1].ID, drop)
	edit(stored[2].ID, drop)
	if firsts, _ := blockKeys(t, s, tableViews, "a"); len(firsts) != 0 || len(paths()) != 0 {
		t.Fatalf("an emptied block remains: %v", firsts)
	}
}
