package storage

import (
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/echelon-analytics/caddy-echelon/internal/testkit"
)

// raiseScore rewrites a stored view with a new score, as a later bot
// correction does.
func raiseScore(t *testing.T, s *Store, v View, score int) {
	t.Helper()
	v.BotScore = score
	err := s.db.Update(func(txn *badger.Txn) error {
		found, _, err := rewriteRow(txn, tableViews, v.SiteID, v.ID, func([]byte) ([]byte, bool, error) {
			return EncodeView(nil, &v), true, nil
		}, txn.Set, nil)
		if err == nil && !found {
			t.Errorf("view %d not found", v.ID)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMaintenance_RederivesYesterdayWithExclusionsAndRaisedScores(t *testing.T) {
	s := openTestStore(t, "")
	clock := testkit.NewClock(time.Date(2026, 6, 2, 2, 59, 0, 0, time.UTC))
	yesterday := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	views := []View{
		{CreatedAt: yesterday, SiteID: "s", VisitorID: "keep", Path: "/"},
		{CreatedAt: yesterday.Add(time.Minute), SiteID: "s", VisitorID: "excluded", Path: "/x"},
		{CreatedAt: yesterday.Add(2 * time.Minute), SiteID: "s", VisitorID: "raised", Path: "/"},
		{CreatedAt: yesterday.Add(3 * time.Minute), SiteID: "s", VisitorID: "keep", Path: "/a"},
	}
	if err := s.ImportViews(views); err != nil {
		t.Fatal(err)
	}
	if tot, _ := s.totals("s", DayOf(yesterday)); tot.Views != 4 || tot.Visitors != 3 {
		t.Fatalf("live counters %+v", tot)
	}
	raiseScore(t, s, views[2], 70)
	m := &Maintenance{
		RetentionDays: 90,
		Now:           clock.Now,
		Excluded:      func() (map[string]struct{}, error) { return map[string]struct{}{"excluded": {}}, nil },
	}
	if ran, err := m.Tick(t.Context(), s); ran || err != nil {
		t.Fatalf("ran before 03:00: %v %v", ran, err)
	}
	clock.Advance(2 * time.Minute) // 03:01
	if ran, err := m.Tick(t.Context(), s); !ran || err != nil {
		t.Fatalf("did not run at 03:01: %v %v", ran, err)
	}
	if ran, _ := m.Tick(t.Context(), s); ran {
		t.Error("ran twice on one date")
	}
	tot, _ := s.totals("s", DayOf(yesterday))
	if tot.Views != 2 || tot.Visitors != 1 || tot.BotViews != 1 || tot.AnyVisitors != 2 {
		t.Errorf("re-derived counters %+v, want 2 clean views of 1 visitor, 1 bot view", tot)
	}
	paths, _ := s.TopPaths("s", DayOf(yesterday), 0)
	if len(paths) != 2 || paths[0].Path != "/" || paths[0].Views != 1 {
		t.Errorf("re-derived paths %+v", paths)
	}
	var minutes int
	s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: counterPrefix("s", DayOf(yesterday), dimMinute)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			minutes++
		}
		return nil
	})
	if minutes != 0 {
		t.Errorf("%d minute counters kept for a finished day", minutes)
	}
	log, err := s.MaintenanceLog()
	if err != nil {
		t.Fatal(err)
	}
	last := log[len(log)-1]
	if last.Date != "2026-06-01" || last.Status != "complete" || last.RollupRows == 0 || last.CompletedAt != "2026-06-02T03:01:00.000Z" {
		t.Errorf("log %+v", last)
	}
	// A late record for the finished day rebuilds its state as the
	// maintenance left it: still without the excluded visitor.
	if err := s.ImportViews([]View{{CreatedAt: yesterday.Add(time.Hour), SiteID: "s", VisitorID: "late", Path: "/"}}); err != nil {
		t.Fatal(err)
	}
	if tot, _ := s.totals("s", DayOf(yesterday)); tot.Views != 3 || tot.Visitors != 2 {
		t.Errorf("after a late record: %+v, want 3 clean views of 2 visitors", tot)
	}
	// Overview reads the corrected history.
	o, _ := s.Overview("s", 7, clock.Now())
	if o.Visits != 3 || o.UniqueVisitors != 2 {
		t.Errorf("overview after maintenance: %d visits, %d visitors", o.Visits, o.UniqueVisitors)
	}
}

func TestMaintenance_PurgesByRetentionAndRerunsIncompleteDays(t *testing.T) {
	s := openTestStore(t, "")
	now := time.Date(2026, 6, 2, 3, 30, 0, 0, time.UTC)
	day := func(n int) time.Time { return now.Add(-time.Duration(n) * 24 * time.Hour) }
	err := s.ImportViews([]View{
		{CreatedAt: day(800), SiteID: "s", VisitorID: "ancient", Path: "/"},
		{CreatedAt: day(40), SiteID: "s", VisitorID: "old", Path: "/"},
		{CreatedAt: day(40), SiteID: "s", VisitorID: "oldbot", Path: "/", BotScore: 80},
		{CreatedAt: day(20), SiteID: "s", VisitorID: "mid", Path: "/"},
		{CreatedAt: day(20), SiteID: "s", VisitorID: "midbot", Path: "/", BotScore: 90},
		{CreatedAt: day(3), SiteID: "s", VisitorID: "recent", Path: "/"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ImportEvents([]Event{
		{CreatedAt: day(20), SiteID: "s", EventType: "ingested", BotScore: -1},
		{CreatedAt: day(20), SiteID: "s", VisitorID: "mid", EventType: "click"},
	}); err != nil {
		t.Fatal(err)
	}
	// Day 3 failed before, day 20 was left started (a crash), day 2 was
	// never logged (server down).
	if err := s.putLog(LogEntry{Date: DayOf(day(3)).String(), Status: "failed"}); err != nil {
		t.Fatal(err)
	}
	if err := s.putLog(LogEntry{Date: DayOf(day(20)).String(), Status: "started"}); err != nil {
		t.Fatal(err)
	}
	m := &Maintenance{RetentionDays: 30, BotRetentionDays: 10, Now: func() time.Time { return now }}
	if ran, err := m.Tick(t.Context(), s); !ran || err != nil {
		t.Fatal(ran, err)
	}
	var left []string
	s.Views("s", time.Unix(0, 0), now, func(v *View) bool { left = append(left, v.VisitorID); return true })
	if got := len(left); got != 2 || left[0] != "mid" || left[1] != "recent" {
		t.Errorf("views left %v, want mid and recent", left)
	}
	var events []string
	s.Events("s", time.Unix(0, 0), now, func(e *Event) bool { events = append(events, e.EventType); return true })
	if len(events) != 1 || events[0] != "click" {
		t.Errorf("events left %v: the ingested one (score −1) is past bot retention", events)
	}
	s.VisitorViews("old", func(*View) bool { t.Error("the visitor index still lists a purged view"); return false })
	if tot, _ := s.totals("s", DayOf(day(800))); tot.Views != 0 {
		t.Errorf("counters older than 730 days kept: %+v", tot)
	}
	if tot, _ := s.totals("s", DayOf(day(40))); tot.Views != 1 {
		t.Errorf("counters within 730 days must outlive the raw rows: %+v", tot)
	}
	log, _ := s.MaintenanceLog()
	status := map[string]LogEntry{}
	for _, e := range log {
		status[e.Date] = e
	}
	for _, d := range []int{20, 7, 3, 2, 1} {
		if e := status[DayOf(day(d)).String()]; e.Status != "complete" {
			t.Errorf("day -%d: log %+v, want complete", d, e)
		}
	}
	if e := status[DayOf(day(1)).String()]; e.PurgeViews != 4 || e.PurgeEvents != 1 {
		t.Errorf("yesterday's log counts the purge: %+v, want 4 views, 1 event", e)
	}
	if tot, _ := s.totals("s", DayOf(day(3))); tot.Views != 1 {
		t.Errorf("re-run day: %+v", tot)
	}
}
