package storage

import (
	"errors"
	"testing"
)

func TestCursor_RoundTripAndRefusals(t *testing.T) {
	q := queryHash(listVisitors, "a", "mobile")
	for _, c := range []cursor{
		{list: listVisitors, query: q, page: 40, total: Total{N: 1234, Exact: true}, id: 1 << 52},
		{list: listVisitors, prev: true, query: q, page: 2, total: Total{N: 10000}, views: 17, site: "shop.example", token: appendKeyToken(nil, "0f1e2d3c4b5a6978")},
		{list: listVisitors, query: q, page: 1, views: 0, site: "", token: appendKeyToken(nil, "Not-Hex")},
	} {
		got, ok, err := decodeCursor(c.encode(), listVisitors, q)
		if err != nil || !ok || got.prev != c.prev || got.page != c.page || got.total != c.total || got.id != c.id ||
			got.views != c.views || got.site != c.site || string(got.token) != string(c.token) {
			t.Fatalf("round trip of %+v: %+v %v %v", c, got, ok, err)
		}
	}
	c := cursor{list: listVisitors, query: q, page: 3, id: 9}
	for name, s := range map[string]string{
		"other list":  c.encode(),
		"not base64":  "!!",
		"truncated":   c.encode()[:6],
		"extra bytes": c.encode() + "AA",
	} {
		list := byte(listVisitors)
		if name == "other list" {
			list = listViews
		}
		if _, _, err := decodeCursor(s, list, q); !errors.Is(err, ErrBadCursor) {
			t.Errorf("%s: %v, want ErrBadCursor", name, err)
		}
	}
	if _, _, err := decodeCursor(c.encode(), listVisitors, q+1); !errors.Is(err, ErrBadCursor) {
		t.Errorf("cursor of another query: %v", err)
	}
	if _, ok, err := decodeCursor("", listVisitors, q); ok || err != nil {
		t.Errorf("empty cursor: %v %v, want the first page", ok, err)
	}
}

// FuzzDecodeCursor feeds any string to the cursor decoder and to the list
// queries that take it: an error or a page, never a panic, and a cursor
// that decodes encodes to one that decodes the same.
func FuzzDecodeCursor(f *testing.F) {
	s := openTestStore(f, "")
	if err := s.ImportViews([]View{{CreatedAt: t0, SiteID: "a", VisitorID: "v", Path: "/"}}); err != nil {
		f.Fatal(err)
	}
	q := visitorQueryHash(VisitorQuery{Sort: SortViewsDesc})
	f.Add((&cursor{list: listVisitors, query: q, page: 2, views: 3, site: "a", token: appendKeyToken(nil, "v")}).encode())
	f.Add((&cursor{list: listViews, query: queryHash(listViews, "", "", "", "0", "", "0"), page: 9, id: 5}).encode())
	f.Add("AQ")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		for _, list := range []byte{listVisitors, listViews, listEvents} {
			c, ok, err := decodeCursor(in, list, q)
			if err != nil && !errors.Is(err, ErrBadCursor) {
				t.Fatalf("decode error %v is not ErrBadCursor", err)
			}
			if ok {
				again, ok2, err := decodeCursor(c.encode(), list, q)
				if err != nil || !ok2 || again.page != c.page || again.id != c.id || again.views != c.views || again.site != c.site {
					t.Fatalf("re-encoded %+v decodes to %+v %v", c, again, err)
				}
			}
		}
		if _, err := s.ListVisitors(VisitorQuery{Sort: SortViewsDesc, Cursor: in}); err != nil && !errors.Is(err, ErrBadCursor) {
			t.Fatal(err)
		}
		if _, err := s.ListViews(ViewQuery{Cursor: in}); err != nil && !errors.Is(err, ErrBadCursor) {
			t.Fatal(err)
		}
		if _, err := s.ListEvents(EventQuery{Cursor: in}); err != nil && !errors.Is(err, ErrBadCursor) {
			t.Fatal(err)
		}
	})
}
