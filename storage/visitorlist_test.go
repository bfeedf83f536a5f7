package storage

import (
	"cmp"
	"slices"
	"strings"
	"testing"
	"time"
)

// expectVisitors groups views into the rows ListVisitors should return for
// q (filters and order), computed the plain way.
func expectVisitors(s *Store, views []View, q VisitorQuery) []VisitorRow {
	type key struct{ site, visitor string }
	by := map[key]*VisitorRow{}
	first, last := map[key]uint64{}, map[key]uint64{}
	for _, v := range slices.Backward(views) { // oldest first
		if q.Site != "" && v.SiteID != q.Site {
			continue
		}
		k := key{v.SiteID, v.VisitorID}
		r := by[k]
		if r == nil {
			r = &VisitorRow{VisitorID: v.VisitorID, SiteID: v.SiteID, FirstSeen: v.CreatedAt, MaxBotScore: v.BotScore}
			by[k], first[k] = r, v.ID
		}
		r.Views++
		r.LastSeen, last[k] = v.CreatedAt, v.ID
		r.DeviceType, r.OSName, r.BrowserName, r.CountryCode = v.DeviceType, v.OSName, v.BrowserName, v.CountryCode
		r.MaxBotScore = max(r.MaxBotScore, v.BotScore)
		r.IsReturning = r.IsReturning || v.IsReturning
	}
	var out []VisitorRow
	var keys []key
	for k, r := range by {
		r.IsExcluded = s.IsExcluded(k.visitor)
		if q.matches(r) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b key) int {
		switch q.Sort {
		case SortLastSeen:
			return cmp.Compare(last[b], last[a])
		case SortFirstSeen:
			return cmp.Compare(first[a], first[b])
		}
		c := cmp.Compare(by[a].Views, by[b].Views)
		if c == 0 {
			c = strings.Compare(string(appendKeyToken(nil, a.visitor)), string(appendKeyToken(nil, b.visitor)))
		}
		if c == 0 {
			c = strings.Compare(a.site, b.site)
		}
		if q.Sort == SortViewsDesc {
			c = -c
		}
		return c
	})
	for _, k := range keys {
		out = append(out, *by[k])
	}
	return out
}

func visitorPages(t *testing.T, s *Store, q VisitorQuery) []VisitorList {
	t.Helper()
	var out []VisitorList
	for range 1000 {
		p, err := s.ListVisitors(q)
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

func TestListVisitors_EverySortAndFilterMatchesThePlainGrouping(t *testing.T) {
	s, all := listStore(t, 150)
	if _, err := s.Exclude("0000000000000007", "", false, listT0); err != nil {
		t.Fatal(err)
	}
	queries := []VisitorQuery{
		{}, {Sort: SortFirstSeen}, {Sort: SortViewsDesc}, {Sort: SortViewsAsc},
		{Site: "a"}, {Site: "b", Sort: SortViewsDesc},
		{Device: "mobile"}, {Country: "FI", Sort: SortFirstSeen},
		{Returning: ReturningOnly}, {Returning: NewOnly, Sort: SortViewsAsc},
		{Bot: BotSuspect}, {Bot: BotClean, Sort: SortViewsDesc},
		{Search: "2"}, {Search: "0000000000000007"},
	}
	for _, q := range queries {
		want := expectVisitors(s, all, q)
		q.Limit = 6
		pages := visitorPages(t, s, q)
		var got []VisitorRow
		for i, p := range pages {
			if p.Number != i+1 || p.Total != (Total{N: len(want), Exact: true}) {
				t.Fatalf("%+v page %d: number %d total %+v, want exactly %d", q, i+1, p.Number, p.Total, len(want))
			}
			got = append(got, p.Visitors...)
		}
		if len(want) == 0 {
			t.Fatalf("%+v: the test data has no such visitor", q)
		}
		if !slices.EqualFunc(got, want, func(a, b VisitorRow) bool {
			return a.VisitorID == b.VisitorID && a.SiteID == b.SiteID && a.Views == b.Views &&
				a.FirstSeen.Equal(b.FirstSeen) && a.LastSeen.Equal(b.LastSeen) && a.DeviceType == b.DeviceType &&
				a.CountryCode == b.CountryCode && a.MaxBotScore == b.MaxBotScore && a.IsReturning == b.IsReturning &&
				a.IsExcluded == b.IsExcluded && a.OSName == b.OSName && a.BrowserName == b.BrowserName
		}) {
			t.Fatalf("%+v:\n got %+v\nwant %+v", q, got, want)
		}
		// And back again with Prev.
		last := pages[len(pages)-1]
		for i := len(pages) - 2; i >= 0; i-- {
			p, err := s.ListVisitors(VisitorQuery{Site: q.Site, Device: q.Device, Country: q.Country, Returning: q.Returning,
				Bot: q.Bot, Search: q.Search, Sort: q.Sort, Limit: q.Limit, Cursor: last.Prev})
			if err != nil {
				t.Fatal(err)
			}
			if p.Number != i+1 || len(p.Visitors) != len(pages[i].Visitors) || p.Visitors[0].VisitorID != pages[i].Visitors[0].VisitorID {
				t.Fatalf("%+v: Prev to page %d gave page %d", q, i+1, p.Number)
			}
			last = p
		}
	}
}

func TestVisitorDetail_CardsAndNewestRows(t *testing.T) {
	s, all := listStore(t, 150)
	const id = "0000000000000004"
	var mine []View
	var active int64
	for _, v := range all {
		if v.VisitorID == id {
			mine = append(mine, v)
			active += v.InteractionMS
		}
	}
	d, err := s.VisitorDetail(id, 3)
	if err != nil {
		t.Fatal(err)
	}
	if d.Pageviews != len(mine) || d.EventCount != len(mine)-countImported(mine) || d.ActiveMS != active ||
		!d.LastSeen.Equal(mine[0].CreatedAt) || !d.FirstSeen.Equal(mine[len(mine)-1].CreatedAt) {
		t.Fatalf("cards %+v, want %d views, %d ms", d, len(mine), active)
	}
	if !slices.Equal(d.Sites, []string{"a", "b"}) || len(d.Devices) == 0 || d.Exclusion != nil {
		t.Fatalf("sites %v devices %v exclusion %v", d.Sites, d.Devices, d.Exclusion)
	}
	if len(d.Views) != 3 || !slices.Equal(viewIDs(d.Views), viewIDs(mine[:3])) || len(d.Events) != min(3, d.EventCount) {
		t.Fatalf("newest views %v, want %v; %d events", viewIDs(d.Views), viewIDs(mine[:3]), len(d.Events))
	}
	for i := 1; i < len(d.Events); i++ {
		if d.Events[i].ID > d.Events[i-1].ID {
			t.Fatal("events not newest first")
		}
	}
	if d, err := s.VisitorDetail("nobody", 200); err != nil || d.Pageviews != 0 || len(d.Views) != 0 || !d.FirstSeen.IsZero() {
		t.Fatalf("unknown visitor: %+v %v", d, err)
	}
}

// countImported counts the views of the test store that were imported
// (they have no event).
func countImported(vs []View) int {
	n := 0
	for _, v := range vs {
		if v.CreatedAt.Sub(listT0)/(7*time.Second)%10 == 5 {
			n++
		}
	}
	return n
}
