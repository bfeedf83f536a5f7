package storage

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestExclusions_SetChangesAtOnceAndSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	if s.IsExcluded("abc") {
		t.Fatal("empty store excludes abc")
	}
	created, err := s.Exclude("abc", "scraper", true, t0)
	if err != nil || !created {
		t.Fatalf("Exclude: %v %v", created, err)
	}
	if !s.IsExcluded("abc") {
		t.Fatal("abc not excluded right after Exclude")
	}
	// Insert-or-ignore: the label is not updated.
	if created, err := s.Exclude("abc", "other", true, t0.Add(time.Hour)); err != nil || created {
		t.Fatalf("second Exclude: %v %v, want not created", created, err)
	}
	if _, err := s.Exclude("def", "", false, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	e, ok, err := s.Exclusion("abc")
	if err != nil || !ok || e.Label != "scraper" || !e.HasLabel || !e.CreatedAt.Equal(t0) {
		t.Fatalf("Exclusion(abc) = %+v %v %v", e, ok, err)
	}
	list, err := s.Exclusions(500)
	if err != nil || len(list) != 2 || list[0].VisitorID != "def" || list[0].HasLabel {
		t.Fatalf("Exclusions newest first: %+v %v", list, err)
	}
	if list, _ := s.Exclusions(1); len(list) != 1 {
		t.Fatalf("limit 1 gave %d", len(list))
	}
	set, err := s.Excluded()
	if err != nil || len(set) != 2 {
		t.Fatalf("Excluded() = %v %v", set, err)
	}
	if err := s.Include("abc"); err != nil {
		t.Fatal(err)
	}
	if s.IsExcluded("abc") {
		t.Fatal("abc still excluded after Include")
	}
	if err := s.Include("never"); err != nil {
		t.Fatalf("Include of an unknown id: %v", err)
	}
	s.Close()

	s2 := openTestStore(t, dir)
	if s2.IsExcluded("abc") || !s2.IsExcluded("def") {
		t.Fatal("reopened store lost or kept the wrong exclusions")
	}
}

func TestExclusions_RejectsBadIDs(t *testing.T) {
	s := openTestStore(t, "")
	for _, id := range []string{"", strings.Repeat("x", 129)} {
		if _, err := s.Exclude(id, "", false, t0); err == nil {
			t.Errorf("Exclude(%d bytes) accepted", len(id))
		}
	}
	if _, err := s.Exclude("x", strings.Repeat("l", 257), true, t0); err == nil {
		t.Error("257-byte label accepted")
	}
}

func TestExclusions_IsExcludedDoesNotAllocate(t *testing.T) {
	s := openTestStore(t, "")
	if _, err := s.Exclude("abc", "", false, t0); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { s.IsExcluded("0123456789abcdef") }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func TestSuspiciousVisitors_GroupsFiltersAndSorts(t *testing.T) {
	s := openTestStore(t, "")
	mk := func(site, vis string, score int, min int, dev, country, os, br string) View {
		return View{SiteID: site, VisitorID: vis, Path: "/" + vis + string(rune('a'+min)), BotScore: score,
			CreatedAt: t0.Add(time.Duration(min) * time.Minute), DeviceType: dev, CountryCode: country, OSName: os, BrowserName: br}
	}
	storeViews(t, s,
		mk("a", "v1", 60, 0, "desktop", "CN", "Linux", "Chrome"),
		mk("b", "v1", 30, 1, "mobile", "CN", "Android 14", "Chrome"),
		mk("a", "v2", 60, 2, "desktop", "FI", "Windows 10/11", "Firefox"),
		mk("a", "v3", 20, 3, "desktop", "", "", ""),
		mk("a", "v4", 90, 4, "", "", "", ""),
	)
	if _, err := s.Exclude("v2", "", false, t0); err != nil {
		t.Fatal(err)
	}
	got, err := s.SuspiciousVisitors("", 25, 50)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, r := range got {
		ids = append(ids, r.VisitorID)
	}
	if !slices.Equal(ids, []string{"v4", "v1", "v2"}) {
		t.Fatalf("order %v, want v4 (90), v1 (60, 2 views), v2 (60, 1 view)", ids)
	}
	v1 := got[1]
	if v1.Pageviews != 2 || v1.MaxBotScore != 60 || !slices.Equal(v1.Sites, []string{"a", "b"}) ||
		!slices.Equal(v1.Devices, []string{"desktop", "mobile"}) || !slices.Equal(v1.Countries, []string{"CN"}) ||
		!v1.FirstSeen.Equal(t0) || !v1.LastSeen.Equal(t0.Add(time.Minute)) || v1.IsExcluded {
		t.Errorf("v1 = %+v", v1)
	}
	if !got[2].IsExcluded {
		t.Error("v2 not marked excluded")
	}
	if got, _ := s.SuspiciousVisitors("b", 25, 50); len(got) != 1 || got[0].Pageviews != 1 {
		t.Errorf("site b: %+v", got)
	}
	if got, _ := s.SuspiciousVisitors("", 25, 1); len(got) != 1 || got[0].VisitorID != "v4" {
		t.Errorf("limit 1: %+v", got)
	}
}

func TestRaiseScores_OncePerRowOnly049(t *testing.T) {
	s := openTestStore(t, "")
	views := storeViews(t, s,
		View{SiteID: "a", VisitorID: "v1", Path: "/1", BotScore: 10, BotScoreDetail: `{"headers":10}`, CreatedAt: t0},
		View{SiteID: "a", VisitorID: "v1", Path: "/2", BotScore: 45, CreatedAt: t0.Add(time.Second)},
		View{SiteID: "a", VisitorID: "v1", Path: "/3", BotScore: 50, CreatedAt: t0.Add(2 * time.Second)},
		View{SiteID: "b", VisitorID: "v1", Path: "/4", BotScore: 0, CreatedAt: t0.Add(3 * time.Second)},
		View{SiteID: "a", VisitorID: "v2", Path: "/5", BotScore: 0, CreatedAt: t0.Add(4 * time.Second)},
	)
	w := s.NewWriter(WriterConfig{})
	w.AddEvent(Event{SiteID: "a", VisitorID: "v1", EventType: "click", BotScore: 5, CreatedAt: t0})
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := Raise{Site: "a", VisitorIDs: []string{"v1"}, Events: true, Penalty: 30, Marker: "correlated", Value: `{"reason":"correlated"}`}
	res, err := s.RaiseScores(r)
	if err != nil || res.Views != 2 || res.Events != 1 {
		t.Fatalf("first raise: %+v %v, want 2 views and 1 event", res, err)
	}
	if res, err := s.RaiseScores(r); err != nil || res != (RaiseResult{}) {
		t.Fatalf("second raise changed %+v %v: a row was raised twice", res, err)
	}
	after := collectViews(t, s, views)
	want := []int{40, 75, 50, 0, 0}
	for i, v := range after {
		if v.BotScore != want[i] {
			t.Errorf("%s%s: score %d, want %d", v.SiteID, v.Path, v.BotScore, want[i])
		}
	}
	if d := after[0].BotScoreDetail; d != `{"headers":10,"correlated":{"reason":"correlated"}}` {
		t.Errorf("detail %s", d)
	}
	if d := after[1].BotScoreDetail; d != `{"correlated":{"reason":"correlated"}}` {
		t.Errorf("detail of an empty one %s", d)
	}
	var ev Event
	_ = s.Events("a", time.Time{}, t0.AddDate(1, 0, 0), func(e *Event) bool { ev = *e; return true })
	if ev.BotScore != 35 || !HasDetailKey(ev.BotScoreDetail, "correlated") {
		t.Errorf("event %d %s", ev.BotScore, ev.BotScoreDetail)
	}
}

func TestMarkBounces_ViewsWithoutEventsIn5To30Minutes(t *testing.T) {
	s := openTestStore(t, "")
	now := t0.Add(time.Hour)
	views := storeViews(t, s,
		View{SiteID: "a", VisitorID: "bounce", Path: "/1", BotScore: 35, CreatedAt: now.Add(-10 * time.Minute)},
		View{SiteID: "a", VisitorID: "engaged", Path: "/2", BotScore: 0, CreatedAt: now.Add(-10 * time.Minute)},
		View{SiteID: "a", VisitorID: "fresh", Path: "/3", BotScore: 0, CreatedAt: now.Add(-4 * time.Minute)},
		View{SiteID: "a", VisitorID: "old", Path: "/4", BotScore: 0, CreatedAt: now.Add(-31 * time.Minute)},
		View{SiteID: "a", VisitorID: "bot", Path: "/5", BotScore: 60, CreatedAt: now.Add(-10 * time.Minute)},
	)
	w := s.NewWriter(WriterConfig{})
	w.AddEvent(Event{SiteID: "a", VisitorID: "engaged", EventType: "scroll_depth", CreatedAt: now.Add(-9 * time.Minute)})
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	n, err := s.MarkBounces(now)
	if err != nil || n != 1 {
		t.Fatalf("MarkBounces = %d %v, want 1", n, err)
	}
	if n, _ := s.MarkBounces(now.Add(time.Minute)); n != 0 {
		t.Fatalf("second sweep raised %d again", n)
	}
	after := collectViews(t, s, views)
	if after[0].BotScore != 50 || after[0].BotScoreDetail != `{"no_events":true}` {
		t.Errorf("bounce: %d %s, want 50 and no_events", after[0].BotScore, after[0].BotScoreDetail)
	}
	for _, v := range after[1:] {
		if HasDetailKey(v.BotScoreDetail, BounceMarker) {
			t.Errorf("%s raised: %s", v.VisitorID, v.BotScoreDetail)
		}
	}
}

func TestRaiseScores_RejectsBadRaise(t *testing.T) {
	s := openTestStore(t, "")
	if _, err := s.RaiseScores(Raise{Site: "bad site", Marker: "m", Penalty: 1}); err == nil {
		t.Error("bad site accepted")
	}
	if _, err := s.RaiseScores(Raise{Site: "a", Penalty: 1}); err == nil || errors.Is(err, nil) {
		t.Error("empty marker accepted")
	}
}
