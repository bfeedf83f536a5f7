package echelon

import (
	"fmt"
	"path/filepath"
	"testing"
)

// TestMaxBotRows_CapsTheDaysBotRowsAndAppliesOnReload: with max_bot_rows
// 3, five bot beacons of a site store three bot rows and count two over
// the budget; a reload to 0 stores none of the next bot hits, and one to
// 10 stores them again, in the same day and the same open store. Clean
// views are never capped.
func TestMaxBotRows_CapsTheDaysBotRowsAndAppliesOnReload(t *testing.T) {
	root := t.TempDir()
	db := filepath.Join(root, "db")
	body := func(n int) string {
		return fmt.Sprintf("rate_limit_max 0\n\t\tmax_bot_rows %d\n\t\tsecret %s", n, testSecret)
	}
	rows := func() (bots, clean int) {
		for _, v := range storedViews(t, db, "s") {
			if v.BotScore >= 50 {
				bots++
			} else {
				clean++
			}
		}
		return bots, clean
	}
	loadConfig(t, root, body(3), "1h")
	t.Cleanup(func() { unload(t) })
	cleanBeacon(t, db, "s", "/", 0) // registers s
	for range 5 {
		junkBeacon(t, "s")
	}
	if bots, clean := rows(); bots != 3 || clean != 1 {
		t.Fatalf("max_bot_rows 3: %d bot rows and %d clean, want 3 and 1", bots, clean)
	}
	if n := sharedOf(t, db).store.BotRowsDropped(); n != 2 {
		t.Errorf("%d bot rows counted over the budget, want 2", n)
	}

	loadConfig(t, root, body(0), "1h")
	for range 2 {
		junkBeacon(t, "s")
	}
	cleanBeacon(t, db, "s", "/", 1)
	if bots, clean := rows(); bots != 3 || clean != 2 {
		t.Errorf("after a reload to max_bot_rows 0: %d bot rows and %d clean, want 3 and 2", bots, clean)
	}

	loadConfig(t, root, body(10), "1h")
	for range 2 {
		junkBeacon(t, "s")
	}
	if bots, _ := rows(); bots != 5 {
		t.Errorf("after a reload to max_bot_rows 10: %d bot rows, want 5", bots)
	}
}
