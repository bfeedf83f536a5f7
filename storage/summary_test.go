package storage

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestSiteSummaries_PerSiteMatchesRowsAndSumsToTotal writes two sites'
// views around the 24-hour window's edges and checks each site's figures,
// its 24 hourly buckets and that the sites add up to the total.
func TestSiteSummaries_PerSiteMatchesRowsAndSumsToTotal(t *testing.T) {
	s := openTestStore(t, "")
	now := time.Date(2026, 5, 10, 6, 30, 0, 0, time.UTC)
	w := s.NewWriter(WriterConfig{})
	add := func(site string, ago time.Duration, visitor string, score int) {
		w.AddView(View{CreatedAt: now.Add(-ago), SiteID: site, VisitorID: visitor, Path: "/", BotScore: score})
	}
	add("b", 30*time.Hour, "old", 0)                 // out of the window
	add("b", 23*time.Hour+50*time.Minute, "edge", 0) // the hour of now, a day ago: out
	add("b", 22*time.Hour, "y", 60)                  // yesterday 08:30, bot
	add("a", 20*time.Hour, "p", 0)                   // yesterday 10:30
	add("a", 2*time.Hour, "q", 10)                   // today 04:30
	add("a", time.Hour+10*time.Minute, "q", 0)       // today 05:20
	add("a", 10*time.Minute, "r", 0)                 // today 06:20, the current hour
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	sites, sum, err := s.SiteSummaries(now)
	if err != nil {
		t.Fatal(err)
	}
	if len(sites) != 2 || sites[0].SiteID != "a" || sites[1].SiteID != "b" {
		t.Fatalf("sites %+v, want a then b", sites)
	}
	a, b := sites[0], sites[1]
	if a.TotalViews != 4 || a.HumanViews != 4 || a.BotViews != 0 || a.UniqueVisitors != 3 {
		t.Errorf("site a: %+v", a)
	}
	if b.TotalViews != 1 || b.HumanViews != 0 || b.BotViews != 1 || b.UniqueVisitors != 1 {
		t.Errorf("site b: %+v", b)
	}
	// Buckets oldest first: index 23 is 06:00 today, 22 05:00, 21 04:00,
	// 3 is yesterday 10:00.
	want := make([]uint64, 24)
	want[3], want[21], want[22], want[23] = 1, 1, 1, 1
	if !slices.Equal(a.HourlyViews, want) {
		t.Errorf("site a hourly %v, want %v", a.HourlyViews, want)
	}
	if got := fmt.Sprint(b.HourlyViews); got != fmt.Sprint(make([]uint64, 24)) {
		t.Errorf("site b hourly %s, want all zero (its only view in the window is a bot)", got)
	}
	if want := (Summary{TotalViews: 5, HumanViews: 4, BotViews: 1, UniqueVisitors: 4}); sum != want {
		t.Errorf("sum %+v, want %+v", sum, want)
	}
	if last, err := s.Last24h(now); err != nil || last != sum {
		t.Errorf("Last24h = %+v, %v; want the sum %+v", last, err, sum)
	}
}

// TestLiveSummary_CountsTheLastMinutesOfEverySite: views inside the window
// count (clean, bot, visitors), older ones do not, across midnight.
func TestLiveSummary_CountsTheLastMinutesOfEverySite(t *testing.T) {
	s := openTestStore(t, "")
	now := time.Date(2026, 5, 10, 0, 3, 30, 0, time.UTC)
	w := s.NewWriter(WriterConfig{})
	add := func(site string, at time.Time, visitor string, score int) {
		w.AddView(View{CreatedAt: at, SiteID: site, VisitorID: visitor, Path: "/", BotScore: score})
	}
	add("a", now.Add(-20*time.Minute), "early", 0) // out of a 10-minute window
	add("a", now.Add(-9*time.Minute), "v1", 0)     // yesterday 23:54: in
	add("b", now.Add(-5*time.Minute), "v2", 70)    // bot, in
	add("a", now.Add(-2*time.Minute), "v3", 0)
	add("a", now.Add(-time.Minute), "v3", 0)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	l, err := s.LiveSummary(10, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Live{Minutes: 10, HumanViews: 3, BotViews: 1, UniqueVisitors: 3}); l != want {
		t.Errorf("10 minutes: %+v, want %+v", l, want)
	}
	l, err = s.LiveSummary(100000, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Live{Minutes: MaxLiveMinutes, HumanViews: 4, BotViews: 1, UniqueVisitors: 4}); l != want {
		t.Errorf("clamped window: %+v, want %+v", l, want)
	}
}
