package storage

import (
	"bytes"
	"errors"
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

func TestDailySalt_NextDayIsNewAndDeletesEarlierDays(t *testing.T) {
	s := openTestStore(t, "")
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
	err = s.DB().View(func(txn *badger.Txn) error {
		if _, err := txn.Get(saltKey(today.Format(time.DateOnly))); !errors.Is(err, badger.ErrKeyNotFound) {
			t.Errorf("yesterday's salt key: err = %v, want not found", err)
		}
		item, err := txn.Get(saltKey(tomorrow.Format(time.DateOnly)))
		if err != nil {
			return err
		}
		end := time.Date(tomorrow.Year(), tomorrow.Month(), tomorrow.Day()+1, 0, 0, 0, 0, time.UTC)
		if got := item.ExpiresAt(); got != uint64(end.Unix()) {
			t.Errorf("salt expires at %v, want the end of its day %v", time.Unix(int64(got), 0).UTC(), end)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A straggler still on the previous day must not bring its salt back.
	late, err := s.DailySalt(today)
	if err != nil || !bytes.Equal(late, b) {
		t.Errorf("late caller got %x, %v; want the current salt", late, err)
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
