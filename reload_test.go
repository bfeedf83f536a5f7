package echelon

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// countStored opens a data directory after its config was unloaded and
// counts a site's views.
func countStored(t *testing.T, dir, site string) int {
	t.Helper()
	st, err := storage.Open(storage.Options{Dir: dir})
	if err != nil {
		t.Fatalf("open %s after unload: %v", dir, err)
	}
	defer st.Close()
	n := 0
	if err := st.Views(site, time.Unix(0, 0), time.Now().Add(time.Hour), func(*storage.View) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReload_KeepsStoreAndLosesNoRecord reloads the config (same db_path,
// other options) while beacons are flowing: Badger is not reopened (its
// directory lock would fail) and every answered beacon is stored.
func TestReload_KeepsStoreAndLosesNoRecord(t *testing.T) {
	tc, dir := startCaddy(t, classicPoW("rate_limit_max 0"))
	root := strings.TrimSuffix(dir, "/db")
	config := func(body string) string {
		return strings.Replace(siteConfig(root, body), "view_flush 1h", "view_flush 100ms", 1)
	}

	var sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", baseURL+"/b.gif?"+beaconQuery("/p", "reload", nil), nil)
				req.Header = browserHeaders()
				res, err := client.Do(req)
				var op *net.OpError
				if errors.As(err, &op) && op.Op == "dial" {
					// The connection was refused or reset while a reload
					// swapped the listener: the request never reached
					// Caddy, so it is neither answered nor stored.
					continue
				}
				if err != nil {
					t.Errorf("beacon during reload: %v", err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == 200 {
					sent.Add(1)
				}
			}
		}()
	}
	for i := 0; i < 5; i++ {
		time.Sleep(150 * time.Millisecond)
		body := classicPoW("rate_limit_max 0\n\t\tsuspect_points " + string(rune('1'+i)))
		newTester(t).InitServer(config(body), "caddyfile")
	}
	time.Sleep(150 * time.Millisecond)
	close(stop)
	wg.Wait()
	_ = tc
	unload(t)
	got := countStored(t, dir, "reload")
	if sent.Load() < 50 || int64(got) != sent.Load() {
		t.Fatalf("answered %d beacons, stored %d: want equal (and some load)", sent.Load(), got)
	}
}

// TestCleanup_FlushesEverything buffers beacons with a flush interval far
// in the future and unloads the config: the destructor processes the
// beacons still held (300 is not a multiple of a batch) and writes them
// all.
func TestCleanup_FlushesEverything(t *testing.T) {
	_, dir := startCaddy(t, classicPoW("rate_limit_max 0"))
	for i := 0; i < 300; i++ {
		if status, _, _ := do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/c", "flush", nil), nil, nil); status != 200 {
			t.Fatalf("status %d", status)
		}
	}
	if st := sharedOf(t, dir).writer.Stats(); st.WrittenViews != 0 || st.PendingViews >= 300 {
		t.Fatalf("%+v before unload: want nothing written and some beacons held, not buffered yet", st)
	}
	unload(t)
	if n := countStored(t, dir, "flush"); n != 300 {
		t.Fatalf("stored %d after unload, want 300", n)
	}
}
