package storage

import (
	"fmt"
	"testing"
	"time"
)

func TestEventTypes_CountEveryStoredEventByType(t *testing.T) {
	s, _ := listStore(t, 120)
	want := map[string]int{}
	var total int
	for _, site := range []string{"a", "b"} {
		err := s.Events(site, time.Time{}, time.Unix(1<<40, 0), func(e *Event) bool {
			want[e.EventType]++
			total++
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	chips, err := s.EventTypes("")
	if err != nil {
		t.Fatal(err)
	}
	if len(chips) != len(want) {
		t.Fatalf("chips %+v, want %v", chips, want)
	}
	for i, c := range chips {
		if want[c.Type] != c.Count || i > 0 && chips[i-1].Count < c.Count {
			t.Fatalf("chips %+v, want %v, most first", chips, want)
		}
	}
	p, err := s.ListEvents(EventQuery{Type: "custom"})
	if err != nil || p.Total != (Total{N: want["custom"], Exact: true}) {
		t.Fatalf("custom total %+v %v, want %d", p.Total, err, want["custom"])
	}
	if p, _ := s.ListEvents(EventQuery{}); p.Total != (Total{N: total, Exact: true}) {
		t.Fatalf("events total %+v, want %d", p.Total, total)
	}
	one, _ := s.EventTypes("a")
	if n := sumChips(one); n == 0 || n >= total {
		t.Fatalf("site a chips sum to %d of %d", n, total)
	}
}

func sumChips(cs []EventTypeTotal) (n int) {
	for _, c := range cs {
		n += c.Count
	}
	return n
}

// After the purge, the totals and chips count the rows left, with clean
// and other rows kept for different times, and excluded visitors' rows
// still counted (they are still listed).
func TestListTotals_FollowRetentionAndKeepExcludedRows(t *testing.T) {
	s := openTestStore(t, "")
	now := time.Date(2026, 6, 30, 3, 30, 0, 0, time.UTC)
	var views []View
	var events []Event
	for d := 1; d <= 50; d++ {
		at := now.Add(-time.Duration(d) * 24 * time.Hour)
		for i := range 3 {
			v := View{CreatedAt: at.Add(time.Duration(i) * time.Minute), SiteID: "s", VisitorID: fmt.Sprintf("v%d-%d", d, i),
				Path: "/", BotScore: []int{0, 70, -1}[i]}
			views = append(views, v)
			events = append(events, Event{CreatedAt: v.CreatedAt, SiteID: "s", VisitorID: v.VisitorID, EventType: []string{"click", "bounce", "custom"}[i], BotScore: v.BotScore})
		}
	}
	if err := s.ImportViews(views); err != nil {
		t.Fatal(err)
	}
	if err := s.ImportEvents(events); err != nil {
		t.Fatal(err)
	}
	m := &Maintenance{RetentionDays: 10, BotRetentionDays: 20, Now: func() time.Time { return now },
		Excluded: func() (map[string]struct{}, error) { return map[string]struct{}{"v3-0": {}}, nil }}
	if err := s.Maintain(m, now); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := s.Views("s", time.Time{}, now, func(*View) bool { left++; return true }); err != nil {
		t.Fatal(err)
	}
	// Days 1–10 keep all three rows, days 11–20 the two non-clean ones.
	if left != 10*3+10*2 {
		t.Fatalf("%d views left after the purge", left)
	}
	p, err := s.ListViews(ViewQuery{Site: "s"})
	if err != nil || p.Total != (Total{N: left, Exact: true}) {
		t.Fatalf("views total %+v %v, want %d", p.Total, err, left)
	}
	chips, err := s.EventTypes("s")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"click": 10, "bounce": 20, "custom": 20}
	for _, c := range chips {
		if want[c.Type] != c.Count {
			t.Fatalf("chips %+v, want %v", chips, want)
		}
	}
}
