package storage

import (
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// storeViews writes views through a writer and returns them with the ids
// the writer gave them (in add order, so ids follow the slice).
func storeViews(t *testing.T, s *Store, views ...View) []View {
	t.Helper()
	w := s.NewWriter(WriterConfig{})
	defer w.Close(t.Context())
	for _, v := range views {
		if !w.AddView(v) {
			t.Fatalf("AddView(%+v) refused", v)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	return collectViews(t, s, views)
}

// collectViews finds the stored copy of each view by its path and site.
func collectViews(t *testing.T, s *Store, views []View) []View {
	t.Helper()
	byKey := map[string]View{}
	for _, site := range []string{"a", "b", "ab"} {
		err := s.Views(site, time.Time{}, t0.AddDate(10, 0, 0), func(v *View) bool {
			byKey[v.SiteID+v.Path] = *v
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	out := make([]View, len(views))
	for i, v := range views {
		got, ok := byKey[v.SiteID+v.Path]
		if !ok {
			t.Fatalf("view %s%s not stored", v.SiteID, v.Path)
		}
		out[i] = got
	}
	return out
}

func paths(t *testing.T, s *Store, site string, from, to time.Time) []string {
	t.Helper()
	var got []string
	err := s.Views(site, from, to, func(v *View) bool {
		got = append(got, v.Path)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestViews_FiltersBySiteAndRangeInTimeOrder(t *testing.T) {
	s := openTestStore(t, "")
	at := func(site, path string, d time.Duration) View {
		return View{SiteID: site, Path: path, VisitorID: "v", CreatedAt: t0.Add(d)}
	}
	storeViews(t, s,
		at("a", "/before", -time.Millisecond),
		at("a", "/1", time.Hour),
		at("ab", "/ab", time.Hour), // "a" is a prefix of "ab"
		at("b", "/b1", time.Hour+time.Minute),
		at("a", "/2", 2*time.Hour),
		at("a", "/3", 3*time.Hour),
		at("a", "/at-end", 4*time.Hour),
	)
	tests := []struct {
		name     string
		site     string
		from, to time.Time
		want     []string
	}{
		{"whole range, oldest first", "a", t0, t0.Add(4 * time.Hour), []string{"/1", "/2", "/3"}},
		{"from is inclusive", "a", t0.Add(2 * time.Hour), t0.Add(5 * time.Hour), []string{"/2", "/3", "/at-end"}},
		{"to is exclusive", "a", t0.Add(-time.Hour), t0.Add(2 * time.Hour), []string{"/before", "/1"}},
		{"sub-millisecond from skips the earlier ms", "a", t0.Add(time.Hour + time.Microsecond), t0.Add(3 * time.Hour), []string{"/2"}},
		{"other site", "b", t0, t0.Add(24 * time.Hour), []string{"/b1"}},
		{"site that extends another", "ab", t0, t0.Add(24 * time.Hour), []string{"/ab"}},
		{"empty range", "a", t0.Add(3 * time.Hour), t0.Add(3 * time.Hour), nil},
		{"reversed range", "a", t0.Add(3 * time.Hour), t0, nil},
		{"unknown site", "zzz", t0, t0.Add(24 * time.Hour), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := paths(t, s, tt.site, tt.from, tt.to)
			if !slices.Equal(got, tt.want) {
				t.Errorf("paths = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestViews_StopsWhenCallbackReturnsFalse(t *testing.T) {
	s := openTestStore(t, "")
	var views []View
	for i := range 10 {
		views = append(views, View{SiteID: "a", Path: string(rune('a' + i)), CreatedAt: t0.Add(time.Duration(i) * time.Second)})
	}
	storeViews(t, s, views...)
	n := 0
	err := s.Views("a", t0, t0.Add(time.Hour), func(*View) bool { n++; return n < 3 })
	if err != nil || n != 3 {
		t.Fatalf("n = %d, err = %v; want 3, nil", n, err)
	}
}

func TestViews_RejectsInvalidSite(t *testing.T) {
	s := openTestStore(t, "")
	if err := s.Views("a\x00b", t0, t0, func(*View) bool { return true }); err == nil {
		t.Error("Views accepted a site with NUL")
	}
}

func TestViews_ReturnsStoredFieldsAndKeyFields(t *testing.T) {
	s := openTestStore(t, "")
	in := fullView()
	in.SiteID = "a"
	in.CreatedAt = time.Date(2025, 3, 14, 15, 9, 26, 535_999_999, time.FixedZone("x", 3600))
	got := storeViews(t, s, in)[0]
	if got.ID == 0 {
		t.Error("stored view has no id")
	}
	if want := in.CreatedAt.Truncate(time.Millisecond).UTC(); !got.CreatedAt.Equal(want) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v in UTC", got.CreatedAt, want)
	}
	got.ID, got.CreatedAt = 0, time.Time{}
	in.CreatedAt = time.Time{}
	if got != in {
		t.Errorf("stored view:\n got %+v\nwant %+v", got, in)
	}
}

func TestVisitorViews_ScansOnlyThatVisitorAcrossSites(t *testing.T) {
	s := openTestStore(t, "")
	const hexID = "0f1e2d3c4b5a6978"
	v := func(visitor, site, path string, d time.Duration) View {
		return View{VisitorID: visitor, SiteID: site, Path: path, CreatedAt: t0.Add(d)}
	}
	storeViews(t, s,
		v("Not-Hex", "a", "/raw-id", 0),
		v(hexID, "a", "/first", time.Minute),
		v(hexID+"00", "a", "/longer-id", time.Minute), // same prefix, other visitor
		v(hexID[:14], "a", "/shorter-id", time.Minute),
		v(hexID, "b", "/second", 2*time.Minute),
		v(hexID, "a", "/third", 3*time.Minute),
	)
	tests := []struct {
		visitor string
		want    []string
	}{
		{hexID, []string{"a/first", "b/second", "a/third"}},
		{hexID + "00", []string{"a/longer-id"}},
		{hexID[:14], []string{"a/shorter-id"}},
		{"Not-Hex", []string{"a/raw-id"}},
		{"not-stored", nil},
	}
	for _, tt := range tests {
		t.Run(tt.visitor, func(t *testing.T) {
			var got []string
			err := s.VisitorViews(tt.visitor, func(v *View) bool {
				got = append(got, v.SiteID+v.Path)
				return true
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("history = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestViewByID_FindsStoredViewOnAnySiteAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	stored := storeViews(t, s,
		View{SiteID: "a", Path: "/x", VisitorID: "v1", CreatedAt: t0},
		View{SiteID: "b", Path: "/y", VisitorID: "v2", CreatedAt: t0.Add(time.Hour)},
		View{SiteID: "ab", Path: "/z", CreatedAt: t0.Add(2 * time.Hour)},
	)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir) // the site registry comes from disk now
	for _, want := range stored {
		got, ok, err := s.ViewByID(want.ID)
		if err != nil || !ok {
			t.Fatalf("ViewByID(%d) = ok %v, err %v", want.ID, ok, err)
		}
		if got != want {
			t.Errorf("ViewByID(%d) = %+v, want %+v", want.ID, got, want)
		}
	}
	for _, id := range []uint64{0, stored[0].ID + 1, stored[2].ID + 1000} {
		if _, ok, err := s.ViewByID(id); ok || err != nil {
			t.Errorf("missing id %d: ok %v, err %v", id, ok, err)
		}
	}
}

func TestEvents_RangeVisitorAndID(t *testing.T) {
	s := openTestStore(t, "")
	w := s.NewWriter(WriterConfig{})
	defer w.Close(t.Context())
	mk := func(typ, visitor string, d time.Duration) Event {
		e := fullEvent()
		e.EventType, e.VisitorID, e.SiteID, e.CreatedAt = typ, visitor, "a", t0.Add(d)
		return e
	}
	for _, e := range []Event{
		mk("bounce", "v1", time.Second),
		mk("click", "v1", 2*time.Second),
		mk("custom", "", 3*time.Second), // ingested: no visitor
		mk("hover", "v2", 4*time.Second),
	} {
		w.AddEvent(e)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}

	var types []string
	var ids []uint64
	err := s.Events("a", t0, t0.Add(4*time.Second), func(e *Event) bool {
		types = append(types, e.EventType)
		ids = append(ids, e.ID)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"bounce", "click", "custom"}; !slices.Equal(types, want) {
		t.Errorf("Events = %q, want %q", types, want)
	}

	types = nil
	if err := s.VisitorEvents("v1", func(e *Event) bool { types = append(types, e.EventType); return true }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"bounce", "click"}; !slices.Equal(types, want) {
		t.Errorf("VisitorEvents = %q, want %q", types, want)
	}

	e, ok, err := s.EventByID(ids[2])
	if err != nil || !ok || e.EventType != "custom" || e.VisitorID != "" || e.Data != fullEvent().Data {
		t.Errorf("EventByID = %+v, %v, %v", e, ok, err)
	}
	if _, ok, _ := s.EventByID(ids[2] + 1000); ok {
		t.Error("EventByID found a missing id")
	}
}
