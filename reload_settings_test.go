package echelon

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// prefill writes views into the data directory db before any Caddy opens
// it: at each time of at, n views of site (score, distinct visitors).
func prefill(t *testing.T, db string, site string, n int, score int, at ...time.Time) {
	t.Helper()
	st, err := storage.Open(storage.Options{Dir: db, MaxSites: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	w := st.NewWriter(storage.WriterConfig{ViewFlush: time.Hour, EventFlush: time.Hour})
	for _, a := range at {
		for i := range n {
			v := storage.View{CreatedAt: a.Add(time.Duration(i) * time.Millisecond), SiteID: site, VisitorID: fmt.Sprintf("%s-%d", site, i), Path: "/", BotScore: score}
			if !w.AddView(v) {
				t.Fatal("view refused")
			}
			if i%20_000 == 19_999 {
				if err := w.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// prefillSites writes one clean view of each of n sites at each time of
// at into db, before any Caddy opens it.
func prefillSites(t *testing.T, db string, n int, at ...time.Time) {
	t.Helper()
	st, err := storage.Open(storage.Options{Dir: db, MaxSites: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	w := st.NewWriter(storage.WriterConfig{ViewFlush: time.Hour, EventFlush: time.Hour})
	for _, a := range at {
		for i := range n {
			w.AddView(storage.View{CreatedAt: a.Add(time.Duration(i) * time.Millisecond), SiteID: fmt.Sprint("site-", i), VisitorID: "v", Path: "/"})
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// loadConfig loads siteConfig(root, body) with the flush interval given.
func loadConfig(t *testing.T, root, body, viewFlush string) {
	t.Helper()
	newTester(t).InitServer(strings.Replace(siteConfig(root, body), "view_flush 1h", "view_flush "+viewFlush, 1), "caddyfile")
}

// eventually polls cond every 20 ms for up to limit.
func eventually(limit time.Duration, cond func() bool) bool {
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// TestReload_StoreSettingsApplyWithoutRestart: a `caddy reload` that
// lowers retention_days and bot_retention_days purges the rows past the
// new retention at once, and new view_flush and shutdown_timeout values
// take effect, in both directions, with the store kept open throughout.
func TestReload_StoreSettingsApplyWithoutRestart(t *testing.T) {
	root := t.TempDir()
	db := filepath.Join(root, "db")
	now := time.Now()
	prefill(t, db, "old", 100, 0, now.Add(-20*24*time.Hour))
	prefill(t, db, "old", 100, 80, now.Add(-5*24*time.Hour))
	stored := func(site string) int {
		n := 0
		err := sharedOf(t, db).store.Views(site, time.Unix(0, 0), time.Now().Add(time.Hour), func(*storage.View) bool { n++; return true })
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	loadConfig(t, root, "rate_limit_max 0\n\t\tretention_days 30\n\t\tbot_retention_days 30\n\t\tshutdown_timeout 10s", "1h")
	t.Cleanup(func() { unload(t) })
	first := sharedOf(t, db)
	if n := stored("old"); n != 200 {
		t.Fatalf("%d old views before the reload, want 200", n)
	}
	sendCleanBeacon(t, db, "new", "/", 1)
	if n := stored("new"); n != 0 {
		t.Fatalf("%d views of the beacon stored at once, want it held or buffered (view_flush 1h)", n)
	}

	loadConfig(t, root, "rate_limit_max 0\n\t\tretention_days 10\n\t\tbot_retention_days 3\n\t\tshutdown_timeout 2s", "100ms")
	if sh := sharedOf(t, db); sh != first {
		t.Fatal("the reload reopened the store")
	}
	if !eventually(3*time.Second, func() bool { return first.writer.Stats().PendingViews == 0 }) {
		t.Errorf("the buffered beacon is still pending 3 s after a reload to view_flush 100ms")
	}
	if !eventually(5*time.Second, func() bool { return stored("old") == 0 }) {
		t.Errorf("%d old views left after a reload to retention_days 10 / bot_retention_days 3, want 0", stored("old"))
	}
	if n := stored("new"); n != 1 {
		t.Errorf("%d views of the beacon, want 1", n)
	}
	if d := first.shutdownTimeout(); d != 2*time.Second {
		t.Errorf("shutdown timeout %v after the reload, want 2s", d)
	}

	// And back: a longer flush interval holds the next beacon again.
	loadConfig(t, root, "rate_limit_max 0\n\t\tretention_days 30", "1h")
	written := first.writer.Stats().WrittenViews
	sendCleanBeacon(t, db, "new", "/", 2)
	time.Sleep(400 * time.Millisecond)
	if st := first.writer.Stats(); st.WrittenViews != written {
		t.Errorf("%d views written 400 ms after a reload back to view_flush 1h, want none", st.WrittenViews-written)
	}
	if d := first.shutdownTimeout(); d != 10*time.Second {
		t.Errorf("shutdown timeout %v, want the default 10s back", d)
	}
}

// TestUnload_BoundedByShutdownTimeout unloads a configuration of a store
// of 3,000 sites while its maintenance runs through them: the daily
// rollup, which starts when the store opens (from 03:00 UTC), and a purge
// that a reload shortening the retention started; 20,000 beacons wait in
// the buffer. The unload returns within shutdown_timeout and a margin
// for a loaded machine (the config load and the servers' stop are in the
// measured time), the buffered views not stored by then are counted as dropped,
// and nothing flushed before is lost.
func TestUnload_BoundedByShutdownTimeout(t *testing.T) {
	const timeout, margin = 200 * time.Millisecond, time.Second
	root := t.TempDir()
	db := filepath.Join(root, "db")
	now := time.Now()
	prefillSites(t, db, 3000, now.Add(-40*24*time.Hour), now.Add(-24*time.Hour))

	loadConfig(t, root, "rate_limit_max 0\n\t\tretention_days 90\n\t\tshutdown_timeout 1h", "1h")
	t.Cleanup(func() { unload(t) })
	sh := sharedOf(t, db)
	// The reload shortens the retention (a purge is due) and the bound.
	loadConfig(t, root, fmt.Sprintf("rate_limit_max 0\n\t\tretention_days 10\n\t\tshutdown_timeout %s", timeout), "1h")
	flushed := 1000
	for i := range flushed {
		sh.writer.AddView(storage.View{CreatedAt: time.Now(), SiteID: "site-1", VisitorID: fmt.Sprint("f", i), Path: "/"})
	}
	if err := sh.writer.Flush(); err != nil {
		t.Fatal(err)
	}
	const buffered = 20_000
	for i := range buffered {
		if !sh.writer.AddView(storage.View{CreatedAt: time.Now(), SiteID: "site-1", VisitorID: fmt.Sprint("b", i), Path: "/"}) {
			t.Fatal("buffer full")
		}
	}

	start := time.Now()
	unload(t)
	took := time.Since(start)
	st := sh.writer.Stats()
	t.Logf("unload took %v (shutdown_timeout %v); writer %+v", took, timeout, st)
	if took > timeout+margin {
		t.Errorf("unload took %v, want at most shutdown_timeout %v + %v", took, timeout, margin)
	}
	if st.WrittenViews+st.DroppedViews != uint64(flushed+buffered) || st.PendingViews != 0 {
		t.Errorf("writer %+v: every buffered view must be written or counted as dropped", st)
	}

	select {
	case <-sh.store.Closed():
	case <-time.After(30 * time.Second):
		t.Fatal("store not closed 30 s after the unload")
	}
	reopened, err := storage.Open(storage.Options{Dir: db})
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	n := 0
	if err := reopened.Views("site-1", now.Add(-2*24*time.Hour), time.Now().Add(time.Hour), func(*storage.View) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	if want := 1 + int(st.WrittenViews); n != want {
		t.Errorf("%d recent views of site-1 after the unload, want the prefilled one and the %d written (%d flushed before the unload)", n, want-1, flushed)
	}
}
