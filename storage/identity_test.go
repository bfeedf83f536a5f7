package storage

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

func TestDailySalt_StableWithinDay(t *testing.T) {
	s := openTestStore(t, "")
	now := time.Now().UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	first, err := s.DailySalt(day)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 32 || bytes.Equal(first, make([]byte, 32)) {
		t.Fatalf("salt = %x", first)
	}
	for _, at := range []time.Time{day.Add(time.Hour), day.Add(24*time.Hour - time.Nanosecond), day.In(time.FixedZone("UTC+3", 3*3600))} {
		got, err := s.DailySalt(at)
		if err != nil || !bytes.Equal(got, first) {
			t.Errorf("DailySalt(%v) = %x, %v; want the day's salt %x", at, got, err, first)
		}
	}
}

func TestDailySalt_SurvivesReopenWithinDay(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.DailySalt(now)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTestStore(t, dir)
	after, err := s.DailySalt(now)
	if err != nil || !bytes.Equal(before, after) {
		t.Errorf("after reopen: %x, %v; want %x", after, err, before)
	}
}

func TestDailySalt_NextDayIsNewAndOverwritesTheOldOne(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	today := time.Now().UTC()
	tomorrow := today.Add(24 * time.Hour)
	a, err := s.DailySalt(today)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.DailySalt(tomorrow)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) {
		t.Fatal("next day has the same salt")
	}
	stored, err := os.ReadFile(filepath.Join(dir, saltFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := append([]byte(tomorrow.Format(time.DateOnly)), b...); !bytes.Equal(stored, want) {
		t.Errorf("salt file holds %q, want tomorrow's date and salt", stored)
	}
	// A straggler still on the previous day must not bring its salt back.
	late, err := s.DailySalt(today)
	if err != nil || !bytes.Equal(late, b) {
		t.Errorf("late caller got %x, %v; want the current salt", late, err)
	}
}

// filesHolding lists the files under dir whose bytes contain needle.
// Badger's files are large and sparse (a 2 GiB value log): only their
// data is read, in chunks.
func filesHolding(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		found, err := fileHolds(path, needle)
		if found {
			hits = append(hits, filepath.Base(path))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// Whence values of lseek(2) for the data and holes of a sparse file
// (Linux, and most Unix filesystems).
const (
	seekData = 3
	seekHole = 4
)

func fileHolds(path string, needle []byte) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	buf := make([]byte, 1<<20+len(needle))
	for off := int64(0); off < fi.Size(); {
		start, end := off, fi.Size()
		if d, err := f.Seek(off, seekData); err == nil {
			start = d
			if h, err := f.Seek(d, seekHole); err == nil {
				end = h
			}
		} else if off > 0 {
			break // no data after off
		}
		for pos := start; pos < end; pos += 1 << 20 {
			n, err := f.ReadAt(buf[:min(int64(len(buf)), end-pos)], pos)
			if bytes.Contains(buf[:n], needle) {
				return true, nil
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return false, err
			}
		}
		off = end
	}
	return false, nil
}

// TestDailySalt_GoneFromEveryFileAfterTheDayChange: once a day is over, no
// file of the data directory holds its salt, whether the next day's salt
// was made or the day just ended (ExpireSalt), with Badger holding rows
// written during the day.
func TestDailySalt_GoneFromEveryFileAfterTheDayChange(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	day1 := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	salt1, err := s.DailySalt(day1)
	if err != nil {
		t.Fatal(err)
	}
	salt1 = bytes.Clone(salt1)
	w := s.NewWriter(WriterConfig{})
	for i := range 200 {
		w.AddView(View{CreatedAt: day1.Add(time.Duration(i) * time.Second), SiteID: "s", VisitorID: fmt.Sprint(i), Path: "/"})
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if hits := filesHolding(t, dir, salt1); len(hits) == 0 {
		t.Fatal("no file holds the day's salt during the day: the test checks nothing")
	}
	salt2, err := s.DailySalt(day1.Add(24 * time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	salt2 = bytes.Clone(salt2)
	if hits := filesHolding(t, dir, salt1); len(hits) > 0 {
		t.Errorf("after the next day's salt, the old salt is still in %v", hits)
	}
	// The second day ends with no traffic after it.
	if err := s.ExpireSalt(day1.Add(48 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	if hits := filesHolding(t, dir, salt2); len(hits) > 0 {
		t.Errorf("after the day ended, its salt is still in %v", hits)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, salt := range [][]byte{salt1, salt2} {
		if hits := filesHolding(t, dir, salt); len(hits) > 0 {
			t.Errorf("after Close, an old salt is in %v", hits)
		}
	}
	s = openTestStore(t, dir)
	if late, err := s.DailySalt(day1.Add(24 * time.Hour)); err != nil || bytes.Equal(late, salt2) {
		t.Errorf("after expiry and a restart the expired day's salt came back (%v)", err)
	}
}

// TestDailySalt_MovedOutOfBadger: a data directory whose salts live in
// Badger (written by earlier versions) keeps today's salt, in the salt
// file, and no Badger file holds any of them after Open.
func TestDailySalt_MovedOutOfBadger(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	now := time.Now().UTC()
	today, old := make([]byte, 32), make([]byte, 32)
	rand.Read(today)
	rand.Read(old)
	err := s.DB().Update(func(txn *badger.Txn) error {
		if err := txn.Set(saltKey(now.Add(-24*time.Hour).Format(time.DateOnly)), old); err != nil {
			return err
		}
		return txn.Set(saltKey(now.Format(time.DateOnly)), today)
	})
	if err == nil {
		err = s.DB().Update(func(txn *badger.Txn) error {
			return txn.Delete(saltKey(now.Add(-24 * time.Hour).Format(time.DateOnly)))
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if len(filesHolding(t, dir, old)) == 0 {
		t.Fatal("Badger does not hold the deleted salt: the test checks nothing")
	}
	s = openTestStore(t, dir)
	got, err := s.DailySalt(now)
	if err != nil || !bytes.Equal(got, today) {
		t.Errorf("today's salt after the move: %x, %v; want %x", got, err, today)
	}
	if hits := filesHolding(t, dir, old); len(hits) > 0 {
		t.Errorf("the deleted salt is still in %v", hits)
	}
	if hits := filesHolding(t, dir, today); len(hits) != 1 || hits[0] != saltFile {
		t.Errorf("today's salt is in %v, want only %s", hits, saltFile)
	}
}

func TestInstanceSecret_SameForeverAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.InstanceSecret()
	if err != nil || len(first) != 32 {
		t.Fatalf("InstanceSecret = %x, %v", first, err)
	}
	again, _ := s.InstanceSecret()
	if !bytes.Equal(first, again) {
		t.Error("second call differs")
	}
	s.Close()
	s = openTestStore(t, dir)
	after, err := s.InstanceSecret()
	if err != nil || !bytes.Equal(first, after) {
		t.Errorf("after reopen %x, %v; want %x", after, err, first)
	}
	other := openTestStore(t, "")
	if o, _ := other.InstanceSecret(); bytes.Equal(o, first) {
		t.Error("two stores share a secret")
	}
}

func TestDailySalt_CachedDayIsOneLoadWithoutAllocations(t *testing.T) {
	s := openTestStore(t, "")
	now := time.Now()
	if _, err := s.DailySalt(now); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { s.DailySalt(now) }); n != 0 {
		t.Errorf("DailySalt allocates %v times per call", n)
	}
}

func TestDailySalt_ConcurrentCallersAtDayChangeShareOneSalt(t *testing.T) {
	s := openTestStore(t, "")
	today := time.Now().UTC()
	if _, err := s.DailySalt(today); err != nil {
		t.Fatal(err)
	}
	tomorrow := today.Add(24 * time.Hour)
	salts := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range salts {
		wg.Go(func() {
			salt, err := s.DailySalt(tomorrow)
			if err != nil {
				t.Error(err)
			}
			salts[i] = salt
		})
	}
	wg.Wait()
	for _, salt := range salts[1:] {
		if !bytes.Equal(salt, salts[0]) {
			t.Fatalf("callers got different salts: %x", salts)
		}
	}
}

func TestUnixDay_FloorsBeforeTheEpoch(t *testing.T) {
	for _, tt := range []struct {
		at   time.Time
		want int64
	}{
		{time.Unix(0, 0), 0},
		{time.Unix(86399, 999), 0},
		{time.Unix(86400, 0), 1},
		{time.Unix(-1, 0), -1},
		{time.Unix(-86400, 0), -1},
		{time.Unix(-86401, 0), -2},
	} {
		if got := unixDay(tt.at); got != tt.want {
			t.Errorf("unixDay(%v) = %d, want %d", tt.at.UTC(), got, tt.want)
		}
	}
}
