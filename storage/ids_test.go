package storage

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

func TestIDFloor_EncodesTheMillisecondWithin53BitsUntil2093(t *testing.T) {
	epoch := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	lastSafe := time.Date(2093, 9, 6, 15, 47, 35, 551_000_000, time.UTC)
	tests := []struct {
		name string
		at   time.Time
		want uint64
	}{
		{"zero time", time.Time{}, 0},
		{"before the epoch", epoch.Add(-time.Hour), 0},
		{"the epoch", epoch, 0},
		{"one ms later", epoch.Add(time.Millisecond), 1 << 12},
		{"sub-ms is truncated", epoch.Add(1999 * time.Microsecond), 1 << 12},
		{"last ms with JS-safe ids", lastSafe, 1<<53 - 1<<12},
		{"first ms past 2^53", lastSafe.Add(time.Millisecond), 1 << 53},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := idFloor(tt.at.UnixMilli()); got != tt.want {
				t.Errorf("idFloor = %d, want %d", got, tt.want)
			}
		})
	}
	for _, at := range []time.Time{t0, lastSafe, epoch.Add(time.Millisecond)} {
		if got := idTime(idFloor(at.UnixMilli()) + 4095); !got.Equal(at) {
			t.Errorf("idTime of %v's last id = %v", at, got)
		}
	}
}

func TestIDSource_BorrowsNextMillisecondAndNeverGoesBack(t *testing.T) {
	var g idSource
	type rec struct {
		id uint64
		at time.Time
	}
	assign := func(recs []rec) uint64 {
		return g.assign(len(recs), func(i int) (*uint64, time.Time) { return &recs[i].id, recs[i].at })
	}

	same := make([]rec, 4097) // one more than a millisecond holds
	for i := range same {
		same[i].at = t0
	}
	if h := assign(same); h != same[4096].id {
		t.Errorf("highest = %d, want the last id %d", h, same[4096].id)
	}
	if same[0].id != idFloor(t0.UnixMilli()) {
		t.Errorf("first id %d, want %d", same[0].id, idFloor(t0.UnixMilli()))
	}
	for i := 1; i < len(same); i++ {
		if same[i].id != same[i-1].id+1 {
			t.Fatalf("id %d = %d after %d", i, same[i].id, same[i-1].id)
		}
	}
	if got := idTime(same[4095].id); !got.Equal(t0) {
		t.Errorf("4096th id at %v, want %v", got, t0)
	}
	if got := idTime(same[4096].id); !got.Equal(t0.Add(time.Millisecond)) {
		t.Errorf("4097th id at %v, want the next ms", got)
	}

	later := []rec{
		{at: t0.Add(-time.Hour)},                   // the clock went back
		{id: 7, at: t0},                            // kept from a failed flush
		{at: t0.Add(time.Hour)},                    // ahead again
		{at: t0.Add(time.Hour + time.Microsecond)}, // same ms
	}
	if h := assign(later); h != later[3].id {
		t.Errorf("highest = %d, want %d", h, later[3].id)
	}
	want := []uint64{same[4096].id + 1, 7, idFloor(t0.Add(time.Hour).UnixMilli()), idFloor(t0.Add(time.Hour).UnixMilli()) + 1}
	for i, r := range later {
		if r.id != want[i] {
			t.Errorf("later[%d].id = %d, want %d", i, r.id, want[i])
		}
	}
}

// TestOpen_ResumesIDsAfterTheHighestStored takes away one of the two
// sources Open resumes from: the newest rows, or the last-id meta key (a
// second writer may have stored a lower one last).
func TestOpen_ResumesIDsAfterTheHighestStored(t *testing.T) {
	for _, remove := range []string{"rows", "last-id key"} {
		t.Run(remove, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			first := storeViews(t, s, View{SiteID: "a", VisitorID: "v", Path: "/1", CreatedAt: t0})[0]
			err = s.DB().Update(func(txn *badger.Txn) error {
				if remove == "last-id key" {
					return txn.Delete(metaLastViewID)
				}
				if err := txn.Delete(rowKey(tableViews, "a", first.ID)); err != nil {
					return err
				}
				return txn.Delete(appendVisitorKey(nil, tableVisitorViews, "v", first.ID))
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openTestStore(t, dir)
			second := storeViews(t, s, View{SiteID: "a", Path: "/2", CreatedAt: t0.Add(-time.Hour)})[0]
			if second.ID <= first.ID {
				t.Errorf("id after reopen %d, want more than %d", second.ID, first.ID)
			}
		})
	}
}

func TestOpen_ChecksTheKeyLayout(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(txn *badger.Txn) error
		wantErr string
	}{
		{"layout 1 rows", func(txn *badger.Txn) error {
			if err := txn.Delete(metaLayout); err != nil {
				return err
			}
			return txn.Set(binary.BigEndian.AppendUint64([]byte{0x05}, 1), []byte("\x00\x00\x00\x00\x00\x00\x00\x01a"))
		}, "key layout 1"},
		{"layout 2 (a key per row)", func(txn *badger.Txn) error { return txn.Set(metaLayout, []byte{2}) }, "key layout 02, which this version (layout 5, upgrading 3 and 4) cannot read"},
		{"unknown layout", func(txn *badger.Txn) error { return txn.Set(metaLayout, []byte{9}) }, "key layout 9, newer than this version's 5: run the Echelon version that wrote it"},
		{"layout 1 identity only", func(txn *badger.Txn) error { return txn.Delete(metaLayout) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			secret, _ := s.InstanceSecret()
			if err := s.DB().Update(tt.edit); err != nil {
				t.Fatal(err)
			}
			s.Close()
			s, err = Open(Options{Dir: dir})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Open = %v, want an error with %q", err, tt.wantErr)
				}
				if err == nil {
					s.Close()
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if again, _ := s.InstanceSecret(); string(again) != string(secret) {
				t.Error("instance secret changed")
			}
			if err := s.DB().View(func(txn *badger.Txn) error { _, err := txn.Get(metaLayout); return err }); err != nil {
				t.Errorf("layout not marked: %v", err)
			}
		})
	}
}
