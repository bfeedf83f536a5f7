package storage

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// backupSource is a store whose newest counters are still dirty (persisted
// once an hour), with views and events on two sites over three days.
func backupSource(t *testing.T) *Store {
	t.Helper()
	s, err := Open(Options{Dir: t.TempDir(), CounterPersist: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	w := s.NewWriter(WriterConfig{ViewFlush: time.Hour, EventFlush: time.Hour})
	for i := range 600 {
		v := View{
			CreatedAt: listT0.Add(time.Duration(i) * 7 * time.Minute), SiteID: []string{"a", "b"}[i%2],
			VisitorID: fmt.Sprintf("%016x", i%97), SessionID: fmt.Sprintf("s%d", i%50), Path: fmt.Sprintf("/p/%d", i%13),
			DeviceType: "desktop", CountryCode: []string{"FI", "US"}[i%2], BotScore: []int{0, 10, 60}[i%3],
			OSName: "Linux", BrowserName: "Firefox", InteractionMS: int64(i),
		}
		w.AddView(v)
		w.AddEvent(Event{CreatedAt: v.CreatedAt, SiteID: v.SiteID, VisitorID: v.VisitorID, EventType: "click", Data: `{"n":1}`})
		if i%50 == 49 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(s.agg.dirty) == 0 {
		t.Fatal("no dirty counters: the test would not show that a backup writes them")
	}
	return s
}

func TestBackup_RestoredStoreAnswersTheSame(t *testing.T) {
	src := backupSource(t)
	var buf bytes.Buffer
	info, err := src.Backup(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if info.Entries == 0 || info.Bytes != int64(buf.Len()) || info.Layout != layoutVersion {
		t.Fatalf("backup info %+v for %d bytes", info, buf.Len())
	}

	dir := filepath.Join(t.TempDir(), "restored")
	rinfo, err := Restore(dir, bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if rinfo.Entries != info.Entries {
		t.Fatalf("restored %d entries, backed up %d", rinfo.Entries, info.Entries)
	}
	dst := openTestStore(t, dir)
	now := listT0.Add(3 * 24 * time.Hour)
	for _, site := range []string{"a", "b"} {
		want, err := src.Overview(site, 7, now)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dst.Overview(site, 7, now)
		if err != nil {
			t.Fatal(err)
		}
		if want.Visits == 0 || !reflect.DeepEqual(got, want) {
			t.Errorf("site %s overview after restore:\n got %+v\nwant %+v", site, got, want)
		}
		if g, w := len(allViews(t, dst, site)), len(allViews(t, src, site)); g != w || g != 300 {
			t.Errorf("site %s: %d views restored, %d in the source", site, g, w)
		}
	}
	now = listT0.Add(48 * time.Hour)
	wantSites, _, err := src.SiteSummaries(now)
	if err != nil {
		t.Fatal(err)
	}
	gotSites, _, err := dst.SiteSummaries(now)
	if err != nil || len(wantSites) != 2 || !reflect.DeepEqual(gotSites, wantSites) {
		t.Errorf("site summaries after restore: %+v %v, want %+v", gotSites, err, wantSites)
	}
}

func TestRestore_RefusesDamagedFilesAndFullDirectories(t *testing.T) {
	src := backupSource(t)
	var buf bytes.Buffer
	if _, err := src.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x40
	newer := bytes.Clone(good)
	newer[len(backupMagic)] = backupVersion + 1
	for _, tc := range []struct {
		name, want string
		data       []byte
	}{
		{"empty", "not an Echelon backup", nil},
		{"another file", "not an Echelon backup", []byte("SQLite format 3\x00 and more bytes")},
		{"newer format", "format version 2", newer},
		{"truncated", "truncated or damaged", good[:len(good)-100]},
		{"no checksum", "truncated or damaged", good[:len(good)-sha256Size()]},
		{"altered", "", flipped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "r")
			_, err := Restore(dir, bytes.NewReader(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Restore: %v, want an error containing %q", err, tc.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("a refused restore left %d files in %s", len(entries), dir)
			}
		})
	}

	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "keep"), []byte("x"), 0o600)
	if _, err := Restore(full, bytes.NewReader(good)); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("restore into a non-empty directory: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(full, "keep")); err != nil || string(b) != "x" {
		t.Errorf("a refused restore touched the directory's files: %q %v", b, err)
	}
}

func sha256Size() int { return 32 }

// FuzzRestore: no backup file, however damaged, panics the restore or
// leaves files behind when it is refused.
func FuzzRestore(f *testing.F) {
	s, err := Open(Options{InMemory: true})
	if err != nil {
		f.Fatal(err)
	}
	w := s.NewWriter(WriterConfig{ViewFlush: time.Hour, EventFlush: time.Hour})
	w.AddView(fullView())
	w.Close(f.Context())
	var buf bytes.Buffer
	if _, err := s.Backup(&buf); err != nil {
		f.Fatal(err)
	}
	s.Close()
	f.Add(buf.Bytes())
	f.Add([]byte(backupMagic + "\x01\x05\x00\x00"))
	f.Add([]byte(backupMagic + "\x01\x05\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := filepath.Join(t.TempDir(), "r")
		if _, err := Restore(dir, bytes.NewReader(data)); err != nil {
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("refused restore left %d files", len(entries))
			}
		}
	})
}
