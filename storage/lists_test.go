package storage

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

var listT0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// listStore stores n views spread over sites a and b (one every 7 s), a
// tenth of them imported as history between the live ones, and an event
// per view; it returns the store and the views as stored.
func listStore(t *testing.T, n int) (*Store, []View) {
	t.Helper()
	s := openTestStore(t, "")
	w := s.NewWriter(WriterConfig{ViewFlush: time.Hour, EventFlush: time.Hour})
	var imported []View
	devices := []string{"desktop", "mobile", "tablet"}
	for i := range n {
		v := View{
			CreatedAt: listT0.Add(time.Duration(i) * 7 * time.Second), SiteID: []string{"a", "b"}[i%2],
			VisitorID: fmt.Sprintf("%016x", i%(n/3+1)), Path: fmt.Sprintf("/p/%d", i%13),
			DeviceType: devices[i%3], CountryCode: []string{"FI", "US", "DE", "JP"}[i%4],
			BotScore: []int{0, 10, 60, 90, -1}[i%5], OSName: "Linux", BrowserName: "Firefox",
			InteractionMS: int64(i), IsReturning: i%6 == 0,
		}
		e := Event{CreatedAt: v.CreatedAt, SiteID: v.SiteID, VisitorID: v.VisitorID,
			EventType: []string{"click", "scroll_depth", "custom"}[i%3], Data: fmt.Sprintf(`{"n":%d}`, i), BotScore: v.BotScore}
		if i%10 == 5 {
			imported = append(imported, v)
			continue
		}
		w.AddView(v)
		w.AddEvent(e)
		if i%40 == 39 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.ImportViews(imported); err != nil {
		t.Fatal(err)
	}
	var all []View
	for _, site := range []string{"a", "b"} {
		if err := s.Views(site, time.Time{}, time.Unix(1<<40, 0), func(v *View) bool { all = append(all, *v); return true }); err != nil {
			t.Fatal(err)
		}
	}
	slices.SortFunc(all, func(a, b View) int { return b.CreatedAt.Compare(a.CreatedAt) })
	if len(all) != n {
		t.Fatalf("stored %d views, want %d", len(all), n)
	}
	return s, all
}

func viewIDs(vs []View) []uint64 {
	out := make([]uint64, len(vs))
	for i, v := range vs {
		out[i] = v.ID
	}
	return out
}

// pages follows Next from the first page and returns every page.
func viewPages(t *testing.T, s *Store, q ViewQuery) []ViewList {
	t.Helper()
	var out []ViewList
	for range 1000 {
		p, err := s.ListViews(q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
		if p.Next == "" {
			return out
		}
		q.Cursor = p.Next
	}
	t.Fatal("no last page after 1000 pages")
	return nil
}

func TestListViews_NextWalksEveryViewNewestFirstAcrossSites(t *testing.T) {
	s, all := listStore(t, 130)
	pages := viewPages(t, s, ViewQuery{Limit: 25})
	var got []View
	for i, p := range pages {
		if p.Number != i+1 {
			t.Fatalf("page %d numbered %d", i+1, p.Number)
		}
		if p.Total != (Total{N: 130, Exact: true}) {
			t.Fatalf("page %d total %+v, want exactly 130", i+1, p.Total)
		}
		if (p.Prev == "") != (i == 0) {
			t.Fatalf("page %d: Prev %q", i+1, p.Prev)
		}
		got = append(got, p.Views...)
	}
	if len(pages) != 6 || len(pages[5].Views) != 5 {
		t.Fatalf("%d pages, last with %d views; want 6 and 5", len(pages), len(pages[len(pages)-1].Views))
	}
	if !slices.Equal(viewIDs(got), viewIDs(all)) {
		t.Fatalf("pages walked %v,\nwant %v", viewIDs(got), viewIDs(all))
	}
	// Prev from the last page gives back every page in turn.
	q := ViewQuery{Limit: 25, Cursor: pages[5].Prev}
	for i := 4; i >= 0; i-- {
		p, err := s.ListViews(q)
		if err != nil {
			t.Fatal(err)
		}
		if p.Number != i+1 || !slices.Equal(viewIDs(p.Views), viewIDs(pages[i].Views)) {
			t.Fatalf("Prev to page %d gave page %d %v, want %v", i+1, p.Number, viewIDs(p.Views), viewIDs(pages[i].Views))
		}
		if (p.Prev == "") != (i == 0) {
			t.Fatalf("page %d reached by Prev: Prev %q", i+1, p.Prev)
		}
		q.Cursor = p.Prev
	}
}

func TestListViews_OldestFirstAndOneSite(t *testing.T) {
	s, all := listStore(t, 90)
	var want []uint64
	for _, v := range slices.Backward(all) {
		if v.SiteID == "b" {
			want = append(want, v.ID)
		}
	}
	var got []View
	for _, p := range viewPages(t, s, ViewQuery{Site: "b", Oldest: true, Limit: 10}) {
		got = append(got, p.Views...)
	}
	if !slices.Equal(viewIDs(got), want) {
		t.Fatalf("site b oldest first: %v, want %v", viewIDs(got), want)
	}
}

func TestListViews_FiltersMatchTheRowsTheySay(t *testing.T) {
	s, all := listStore(t, 120)
	cases := []struct {
		q    ViewQuery
		keep func(View) bool
	}{
		{ViewQuery{Device: "tablet"}, func(v View) bool { return v.DeviceType == "tablet" }},
		{ViewQuery{Country: "JP", Site: "b"}, func(v View) bool { return v.CountryCode == "JP" && v.SiteID == "b" }},
		{ViewQuery{Bot: BotSuspect}, func(v View) bool { return v.BotScore >= 50 }},
		{ViewQuery{Bot: BotClean}, func(v View) bool { return v.BotScore >= 0 && v.BotScore < 50 }},
		{ViewQuery{Search: "/p/12"}, func(v View) bool { return v.Path == "/p/12" }},
		{ViewQuery{Search: "00000000000001"}, func(v View) bool { return contains(v.VisitorID, "00000000000001") }},
	}
	for _, c := range cases {
		var want []uint64
		for _, v := range all {
			if c.keep(v) {
				want = append(want, v.ID)
			}
		}
		c.q.Limit = 7
		pages := viewPages(t, s, c.q)
		var got []View
		for _, p := range pages {
			got = append(got, p.Views...)
			if p.Total != (Total{N: len(want), Exact: true}) || p.Partial {
				t.Fatalf("%+v: total %+v partial %v, want exactly %d", c.q, p.Total, p.Partial, len(want))
			}
		}
		if len(want) == 0 || !slices.Equal(viewIDs(got), want) {
			t.Fatalf("%+v: %v, want %v", c.q, viewIDs(got), want)
		}
	}
}

func TestListViews_BudgetCutsPagesShortAndNextResumes(t *testing.T) {
	s, all := listStore(t, 200)
	s.budgets = listBudgets{scan: 12, count: 30}
	var want []uint64
	inFirst12 := 0
	for i, v := range all {
		if v.DeviceType == "tablet" && v.CountryCode == "DE" {
			want = append(want, v.ID)
			if i < 12 {
				inFirst12++
			}
		}
	}
	pages := viewPages(t, s, ViewQuery{Device: "tablet", Country: "DE", Limit: 5})
	var got []View
	partial := 0
	for _, p := range pages {
		got = append(got, p.Views...)
		if p.Partial {
			partial++
		}
		// The first page stops at the scan budget before the page fills:
		// its count covers those 12 rows and says "more than".
		if p.Total != (Total{N: inFirst12}) {
			t.Fatalf("total %+v, want more than %d", p.Total, inFirst12)
		}
	}
	if partial == 0 || !slices.Equal(viewIDs(got), want) {
		t.Fatalf("%d partial pages, walked %v, want %v", partial, viewIDs(got), want)
	}
}

func TestListViews_CursorOfAnotherQueryIsRefused(t *testing.T) {
	s, _ := listStore(t, 60)
	p, err := s.ListViews(ViewQuery{Device: "mobile", Limit: 5})
	if err != nil || p.Next == "" {
		t.Fatal(p, err)
	}
	for _, q := range []ViewQuery{
		{Device: "desktop", Limit: 5, Cursor: p.Next},
		{Device: "mobile", Limit: 5, Cursor: p.Next[:len(p.Next)-2]},
		{Device: "mobile", Limit: 5, Cursor: "not a cursor"},
	} {
		if _, err := s.ListViews(q); !errors.Is(err, ErrBadCursor) {
			t.Fatalf("%+v: %v, want ErrBadCursor", q, err)
		}
	}
	if _, err := s.ListEvents(EventQuery{Cursor: p.Next}); !errors.Is(err, ErrBadCursor) {
		t.Fatalf("a views cursor on events: %v", err)
	}
}

func TestListEvents_TypeAndSearch(t *testing.T) {
	s, _ := listStore(t, 100)
	var all []Event
	for _, site := range []string{"a", "b"} {
		if err := s.Events(site, time.Time{}, time.Unix(1<<40, 0), func(e *Event) bool { all = append(all, *e); return true }); err != nil {
			t.Fatal(err)
		}
	}
	slices.SortFunc(all, func(a, b Event) int { return b.CreatedAt.Compare(a.CreatedAt) })
	for _, q := range []EventQuery{{Type: "custom"}, {Search: `"n":4`}, {Search: "scroll", Site: "a"}, {}} {
		var want, got []uint64
		for _, e := range all {
			if (q.Type == "" || e.EventType == q.Type) && (q.Site == "" || e.SiteID == q.Site) &&
				(q.Search == "" || contains(e.EventType, q.Search) || contains(e.Data, q.Search)) {
				want = append(want, e.ID)
			}
		}
		q.Limit = 9
		for range 100 {
			p, err := s.ListEvents(q)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Events {
				got = append(got, e.ID)
			}
			if p.Next == "" {
				break
			}
			q.Cursor = p.Next
		}
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Fatalf("%+v: %v, want %v", q, got, want)
		}
	}
}

func contains(s, sub string) bool { return len(sub) <= len(s) && (s == sub || indexOf(s, sub) >= 0) }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
