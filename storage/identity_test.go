package storage

import (
	"bytes"
	"errors"
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
