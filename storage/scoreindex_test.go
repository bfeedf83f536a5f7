package storage

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// TestScoreIndex_AgreesWithFullScan builds views on three sites, indexes
// some, stores more (the unindexed tail), raises some retroactively,
// deletes some rows (as retention would) and checks that the indexed
// SuspiciousVisitors answers exactly what a scan of every view answers.
func TestScoreIndex_AgreesWithFullScan(t *testing.T) {
	s := openTestStore(t, "")
	rng := rand.New(rand.NewPCG(1, 2))
	sites := []string{"a", "b", "ab"}
	mk := func(i int) View {
		return View{
			SiteID: sites[rng.IntN(3)], VisitorID: fmt.Sprintf("%016x", rng.IntN(40)), Path: fmt.Sprintf("/%d", i),
			BotScore: []int{0, 0, 0, 5, 10, 25, 30, 45, 49, 50, 75, 100}[rng.IntN(12)], DeviceType: []string{"", "mobile", "desktop"}[rng.IntN(3)],
			CountryCode: []string{"", "FI", "CN"}[rng.IntN(3)], CreatedAt: t0.Add(time.Duration(i) * time.Second),
		}
	}
	var first []View
	for i := range 300 {
		first = append(first, mk(i))
	}
	storeViews(t, s, first...)
	n, err := s.IndexScores()
	if err != nil || n == 0 {
		t.Fatalf("IndexScores = %d %v", n, err)
	}
	if n, _ := s.IndexScores(); n != 0 {
		t.Fatalf("second IndexScores indexed %d again", n)
	}
	var tail []View
	for i := 300; i < 400; i++ {
		tail = append(tail, mk(i))
	}
	storeViews(t, s, tail...)
	for _, vid := range []string{fmt.Sprintf("%016x", 3), fmt.Sprintf("%016x", 7)} {
		if _, err := s.RaiseScores(Raise{Site: "a", VisitorIDs: []string{vid}, Penalty: 30, Marker: "correlated", Value: "{}"}); err != nil {
			t.Fatal(err)
		}
	}
	// Retention deletes a few rows; their index entries become orphans.
	deleted := 0
	err = s.DB().Update(func(txn *badger.Txn) error {
		return s.Views("b", time.Time{}, t0.AddDate(1, 0, 0), func(v *View) bool {
			if v.BotScore >= 25 && deleted < 10 {
				deleted++
				drop := func([]byte) ([]byte, bool, error) { return nil, true, nil }
				_, _, _ = rewriteRow(txn, tableViews, "b", v.ID, drop, txn.Set, txn.Delete)
			}
			return true
		})
	})
	if err != nil || deleted == 0 {
		t.Fatal(err)
	}
	check := func(when string) {
		for _, site := range []string{"", "a", "b", "ab", "none"} {
			for _, min := range []int{1, 25, 49, 50, 76, 100} {
				s.scanOnly = true
				want, err1 := s.SuspiciousVisitors(site, min, 1000)
				s.scanOnly = false
				got, err2 := s.SuspiciousVisitors(site, min, 1000)
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s site %q min %d: index gives %d rows, scan %d\n got %+v\nwant %+v", when, site, min, len(got), len(want), got, want)
				}
			}
		}
	}
	check("with a tail")
	if _, err := s.IndexScores(); err != nil {
		t.Fatal(err)
	}
	check("all indexed")
	if _, err := s.MarkBounces(t0.Add(400*time.Second + 10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	check("after bounces")
}
