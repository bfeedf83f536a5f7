package storage

import (
	"fmt"
	"testing"
	"time"
)

// TestBotRowBudget_DropsBotRowsPastTheDailyBudget: per site, day and kind,
// bot rows past the budget are not stored (and are counted); clean rows
// always are, and a new day has a new budget.
func TestBotRowBudget_DropsBotRowsPastTheDailyBudget(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SetBotRowBudget(5)
	w := s.NewWriter(WriterConfig{ViewFlush: time.Hour, EventFlush: time.Hour})
	day1 := time.Now().UTC().Truncate(24 * time.Hour).Add(time.Hour)
	add := func(at time.Time, score, n int) {
		for i := range n {
			w.AddView(View{SiteID: "a", VisitorID: fmt.Sprintf("%016x", i), Path: "/", BotScore: score, CreatedAt: at})
			w.AddEvent(Event{SiteID: "a", VisitorID: fmt.Sprintf("%016x", i), EventType: "click", Data: "{}", BotScore: score, CreatedAt: at})
		}
	}
	add(day1, 0, 3)  // clean: registers the site, never budgeted
	add(day1, 80, 8) // 5 kept of each kind
	add(day1, 0, 3)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	count := func(from, to time.Time) (clean, bots, events int) {
		_ = s.Views("a", from, to, func(v *View) bool {
			if v.BotScore >= 50 {
				bots++
			} else {
				clean++
			}
			return true
		})
		_ = s.Events("a", from, to, func(*Event) bool { events++; return true })
		return
	}
	if c, b, e := count(day1.Add(-time.Hour), day1.Add(time.Hour)); c != 6 || b != 5 || e != 11 {
		t.Errorf("day 1: %d clean views, %d bot views, %d events; want 6, 5 and 11", c, b, e)
	}
	if s.BotRowsDropped() != 6 {
		t.Errorf("%d dropped, want 3 views and 3 events", s.BotRowsDropped())
	}
	day2 := day1.Add(24 * time.Hour)
	add(day2, 80, 2)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, b, _ := count(day2.Add(-time.Hour), day2.Add(time.Hour)); b != 2 {
		t.Errorf("day 2: %d bot views, want 2 (a new budget)", b)
	}
}
