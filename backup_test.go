package echelon

import (
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// runEchelon runs `caddy echelon <args>` in process and returns its output.
func runEchelon(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "echelon", SilenceUsage: true, SilenceErrors: true}
	caddycmd.Commands()["echelon"].CobraFunc(root)
	var out bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&out)
	err := root.Execute()
	return out.String(), err
}

func restoredOverview(t *testing.T, dir, site string, now time.Time) (storage.Overview, int) {
	t.Helper()
	st, err := storage.Open(storage.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ov, err := st.Overview(site, 7, now)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	st.Views(site, time.Unix(0, 0), now.Add(time.Hour), func(*storage.View) bool { n++; return true })
	return ov, n
}

// TestBackup_OnlineWhileBeaconsFlowThenOffline: `caddy echelon backup`
// through the running Caddy's admin endpoint, with beacons arriving all the
// while, gives a file that restores to a store answering the same stats,
// and holds every beacon acknowledged before the backup began. A stopped
// store backs up with --db; a running one is refused that way, since its
// files must not be read behind Badger's back.
func TestBackup_OnlineWhileBeaconsFlowThenOffline(t *testing.T) {
	_, db := startCaddy(t, classicPoW("rate_limit_max 0"))
	now := time.Now()
	for i := range 30 {
		q := beaconQuery("/steady/"+string(rune('a'+i%26)), "steady", map[string]string{"tok": mint(t, db, testSID, "steady", now)})
		if status, _, _ := do(t, "GET", baseURL+"/b.gif?"+q, nil, nil); status != 200 {
			t.Fatalf("beacon: %d", status)
		}
	}
	if n := len(storedViews(t, db, "steady")); n != 30 {
		t.Fatalf("%d steady views stored", n)
	}
	want, err := sharedOf(t, db).store.Overview("steady", 7, now)
	if err != nil || want.Visits == 0 {
		t.Fatalf("source overview %+v %v", want, err)
	}

	// The flow: beacons to another site until the backup is done.
	var acked, bad atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		client := &http.Client{Timeout: 10 * time.Second}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			req, _ := http.NewRequest("GET", baseURL+"/b.gif?"+beaconQuery("/busy", "busy", nil), nil)
			req.Header = browserHeaders()
			res, err := client.Do(req)
			if err != nil || res.StatusCode != 200 {
				bad.Add(1)
				continue
			}
			res.Body.Close()
			acked.Add(1)
		}
	}()
	for acked.Load() < 50 {
		time.Sleep(5 * time.Millisecond)
	}
	before := acked.Load()
	file := filepath.Join(t.TempDir(), "echelon.backup")
	out, err := runEchelon(t, "backup", "--out", file, "--address", adminAddr())
	after := acked.Load()
	close(stop)
	wg.Wait()
	if err != nil || !strings.Contains(out, "backup written") {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	if bad.Load() != 0 {
		t.Errorf("%d beacons failed during the backup", bad.Load())
	}

	restored := filepath.Join(t.TempDir(), "restored")
	if out, err := runEchelon(t, "restore", "--db", restored, "--in", file); err != nil || !strings.Contains(out, "restored") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	got, n := restoredOverview(t, restored, "steady", now)
	if !reflect.DeepEqual(got, want) || n != 30 {
		t.Errorf("restored steady (%d views):\n got %+v\nwant %+v", n, got, want)
	}
	if _, busy := restoredOverview(t, restored, "busy", now); int64(busy) < before || int64(busy) > after {
		t.Errorf("restored %d busy views; %d were acknowledged before the backup, %d by its end", busy, before, after)
	}

	if _, err := runEchelon(t, "backup", "--db", db, "--out", filepath.Join(t.TempDir(), "x")); err == nil || !strings.Contains(err.Error(), "running Caddy") {
		t.Fatalf("offline backup of an open store: %v", err)
	}
	unload(t)
	offline := filepath.Join(t.TempDir(), "offline.backup")
	if _, err := runEchelon(t, "backup", "--db", db, "--out", offline); err != nil {
		t.Fatal(err)
	}
	again := filepath.Join(t.TempDir(), "again")
	if _, err := runEchelon(t, "restore", "--db", again, "--in", offline); err != nil {
		t.Fatal(err)
	}
	if got, _ := restoredOverview(t, again, "steady", now); !reflect.DeepEqual(got, want) {
		t.Errorf("offline backup restored:\n got %+v\nwant %+v", got, want)
	}
	if _, err := runEchelon(t, "restore", "--db", again, "--in", offline); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("restore over a store: %v", err)
	}
}

func TestCommand_VersionNamesTheStorageLayout(t *testing.T) {
	out, err := runEchelon(t, "version")
	if err != nil || !strings.Contains(out, "echelon ") || !strings.Contains(out, "storage layout 5, backup format 1") {
		t.Fatalf("version: %v %q", err, out)
	}
}

func adminAddr() string { return fmt.Sprintf("localhost:%d", adminPort) }
