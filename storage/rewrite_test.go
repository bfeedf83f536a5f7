package storage

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestRewrites_PurgeAndRaisesOnSameBlocksLoseNothing runs the retention
// purge and correlator raises at once on the same row blocks: every block
// holds old bot rows, which the purge deletes (rewriting the block), and
// clean rows, which the raises rewrite. Afterwards every raise must be
// there and no purged row may have come back. (Run it with -race.)
func TestRewrites_PurgeAndRaisesOnSameBlocksLoseNothing(t *testing.T) {
	s := openTestStore(t, "")
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	at := now.Add(-5 * 24 * time.Hour)
	w := s.NewWriter(WriterConfig{ViewFlush: time.Hour, EventFlush: time.Hour})
	const blocks, perBlock = 120, maxBlockRows
	var clean []string
	for b := range blocks {
		for r := range perBlock {
			at = at.Add(time.Second)
			v := View{CreatedAt: at, SiteID: "s", Path: "/", VisitorID: fmt.Sprintf("c%d-%d", b, r)}
			if r%2 == 1 {
				v.VisitorID, v.BotScore = fmt.Sprintf("bot%d-%d", b, r), 80
			} else {
				clean = append(clean, v.VisitorID)
			}
			w.AddView(v)
		}
		if err := w.Flush(); err != nil { // one block per flush
			t.Fatal(err)
		}
	}
	if _, err := s.IndexScores(); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	var purged int
	var purgeErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		m := &Maintenance{RetentionDays: 30, BotRetentionDays: 2, Now: func() time.Time { return now }}
		purged, _, purgeErr = m.Purge(t.Context(), s)
	}()
	raiseErrs := make(chan error, 1)
	go func() {
		defer wg.Done()
		for _, vid := range clean {
			r, err := s.RaiseScores(Raise{Site: "s", VisitorIDs: []string{vid}, Penalty: 30, Marker: "correlated", Value: "{}"})
			if err == nil && r.Views != 1 {
				err = fmt.Errorf("raise of %s changed %d views", vid, r.Views)
			}
			if err != nil {
				raiseErrs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(raiseErrs)
	if err := <-raiseErrs; err != nil {
		t.Fatal(err)
	}
	if purgeErr != nil || purged != blocks*perBlock/2 {
		t.Fatalf("purged %d rows (%v), want the %d bot rows", purged, purgeErr, blocks*perBlock/2)
	}

	lost, back, rows := 0, 0, 0
	err := s.Views("s", time.Unix(0, 0), now, func(v *View) bool {
		rows++
		switch {
		case v.BotScore >= 50 && !HasDetailKey(v.BotScoreDetail, "correlated"):
			back++
		case v.BotScore != 30 || !HasDetailKey(v.BotScoreDetail, "correlated"):
			lost++
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if lost > 0 || back > 0 || rows != len(clean) {
		t.Errorf("%d rows: %d raises lost, %d purged rows back; want the %d clean rows, all raised", rows, lost, back, len(clean))
	}
}
