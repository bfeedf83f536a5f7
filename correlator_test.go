package echelon

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// TestCorrelator_FlagsHeadlessReplayThroughCaddy: 30 humans (one common
// setup, valid proofs of work) and 8 IPs replaying one headless setup
// (no client hints, no Accept-Language, no proof of work) send beacons
// through Caddy. A sweep raises the 8 bots' stored rows once, confirms
// their IPs (their next beacon scores bot_ip 50) and leaves the humans
// alone; a later sweep's bounce check gives the humans' event-less views
// +15.
func TestCorrelator_FlagsHeadlessReplayThroughCaddy(t *testing.T) {
	_, dir := startCaddyTrusting(t, "127.0.0.1/8", classicPoW("trust_proxy"))
	now := time.Now()
	for i := range 30 {
		sid := fmt.Sprintf("0b7c2f0e-1111-4222-8333-%012d", i)
		q := beaconQuery("/", "corr", map[string]string{"sid": sid, "tok": mint(t, dir, sid, "corr", now)})
		do(t, "GET", baseURL+"/b.gif?"+q, nil, http.Header{"X-Forwarded-For": {fmt.Sprintf("198.51.100.%d", i+1)}})
	}
	headless := func(i int) http.Header {
		return http.Header{
			"X-Forwarded-For": {fmt.Sprintf("203.0.113.%d", i+1)},
			"Accept-Language": nil, "Sec-Ch-Ua": nil, "Sec-Fetch-Site": nil,
		}
	}
	for i := range 8 {
		do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "corr", nil), nil, headless(i))
	}
	before := storedViews(t, dir, "corr")
	if len(before) != 38 {
		t.Fatalf("stored %d views, want 38", len(before))
	}
	sh := sharedOf(t, dir)
	res := sh.corr.sweep(time.Now())
	if res.clusters != 1 || res.views != 8 {
		t.Fatalf("sweep %+v, want one cluster raising 8 views", res)
	}
	if again := sh.corr.sweep(time.Now()); again.views != 0 || again.clusters != 1 {
		t.Fatalf("second sweep %+v: rows must be raised at most once", again)
	}
	raised, humans := 0, 0
	for _, v := range storedViews(t, dir, "corr") {
		switch {
		case storage.HasDetailKey(v.BotScoreDetail, "correlated"):
			raised++
			if v.BotScore != 35+50 || !strings.Contains(v.BotScoreDetail, `"penalty":50,"cluster_size":8,"tainted":false,"fingerprint":"`) {
				t.Errorf("raised row %d %s", v.BotScore, v.BotScoreDetail)
			}
		case v.BotScore == 0:
			humans++
		default:
			t.Errorf("unexpected row %d %s", v.BotScore, v.BotScoreDetail)
		}
	}
	if raised != 8 || humans != 30 {
		t.Fatalf("%d raised, %d clean humans; want 8 and 30", raised, humans)
	}

	do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "corr2", nil), nil, headless(0))
	// A bot's hit on a new site is stored under (other).
	if v := storedViews(t, dir, storage.OtherSite); len(v) != 1 || !strings.Contains(v[0].BotScoreDetail, `"bot_ip":50`) {
		t.Fatalf("beacon from a confirmed IP: %+v, want bot_ip 50", v)
	}

	later := sh.corr.sweep(time.Now().Add(10 * time.Minute))
	if later.bounces != 30 {
		t.Errorf("bounce check raised %d views, want the 30 humans' (the bots' are 50+)", later.bounces)
	}
}

// TestCorrelator_StopsOnCleanup: unloading the config stops the sweep
// goroutine.
func TestCorrelator_StopsOnCleanup(t *testing.T) {
	_, dir := startCaddy(t, "")
	corr := sharedOf(t, dir).corr
	unload(t)
	select {
	case <-corr.done:
	case <-time.After(5 * time.Second):
		t.Fatal("correlator still running after Cleanup")
	}
}

// TestCorrelator_LongAcceptLanguageIsNeverStored replays the amplification
// attack: 6 addresses share one setup with a 12 KB Accept-Language, each
// sends a beacon with a bot signal of its own (a fast click, no client
// hints) and five event batches. The sweep flags them and raises every
// row, but what it writes into each is a fixed-length code: stored detail
// grows by a little per row (it grew by the header's 12 KB per row when
// the fingerprint carried the header), and the header's text is nowhere
// in the store.
func TestCorrelator_LongAcceptLanguageIsNeverStored(t *testing.T) {
	_, dir := startCaddyTrusting(t, "127.0.0.1/8", "trust_proxy\n\t\trate_limit_max 0")
	cleanBeacon(t, dir, "amp", "/", 0) // registers the site
	const marker = "EchelonAmplify"
	lang := "en-US," + strings.Repeat(marker+";q=0.1,", 12<<10/(len(marker)+7))
	const addrs, batches, perBatch = 6, 5, 4
	now := time.Now()
	for i := range addrs {
		sid := fmt.Sprintf("0b7c2f0e-4444-4222-8333-%012d", i)
		tok := mint(t, dir, sid, "amp", now)
		h := http.Header{
			"X-Forwarded-For": {fmt.Sprintf("203.0.113.%d", i+1)},
			"Accept-Language": {lang}, "Sec-Ch-Ua": nil, "Sec-Fetch-Site": nil,
		}
		q := beaconQuery("/", "amp", map[string]string{"sid": sid, "tok": tok, "_v": "820"})
		do(t, "GET", baseURL+"/b.gif?"+q, nil, h)
		for range batches {
			evs := make([]string, perBatch)
			for k := range evs {
				evs[k] = `{"type":"click","sessionId":"` + sid + `","data":{"tag":"A"}}`
			}
			body := `{"siteId":"amp","tok":"` + tok + `","events":[` + strings.Join(evs, ",") + `]}`
			if status, _, _ := do(t, "POST", baseURL+"/e", strings.NewReader(body), h); status != http.StatusNoContent {
				t.Fatalf("events: %d", status)
			}
		}
	}
	detail := func() (views, events, total int) {
		for _, v := range storedViews(t, dir, "amp") {
			views++
			total += len(v.BotScoreDetail)
		}
		for _, e := range storedEvents(t, dir, "amp") {
			events++
			total += len(e.BotScoreDetail)
		}
		return views, events, total
	}
	views, events, before := detail()
	if views != addrs+1 || events != addrs*batches*perBatch {
		t.Fatalf("stored %d views and %d events, want %d and %d", views, events, addrs+1, addrs*batches*perBatch)
	}
	res := sharedOf(t, dir).corr.sweep(time.Now())
	if res.clusters != 1 || res.views != addrs || res.events != addrs*batches*perBatch {
		t.Fatalf("sweep %+v, want one cluster raising the %d views and %d events", res, addrs, addrs*batches*perBatch)
	}
	_, _, after := detail()
	raised := addrs + addrs*batches*perBatch
	t.Logf("stored detail %d → %d bytes over %d raised rows", before, after, raised)
	if grown := after - before; grown > raised*128 {
		t.Errorf("stored detail grew %d bytes for %d raised rows, want at most 128 a row", grown, raised)
	}
	for _, v := range storedViews(t, dir, "amp") {
		if strings.Contains(v.BotScoreDetail, "correlated") && !regexp.MustCompile(`"fingerprint":"[0-9a-f]{16}"`).MatchString(v.BotScoreDetail) {
			t.Errorf("raised view's detail %.200s, want the fingerprint as a 16-digit code", v.BotScoreDetail)
		}
	}
	if where := storeHolds(t, dir, marker); where != "" {
		t.Errorf("the Accept-Language text is in the store: %s", where)
	}
}

// storeHolds flushes the buffers and looks for text in every stored key
// and value (all versions), then in the raw bytes of the data directory's
// files (the write-ahead log and value log are not compressed); it
// returns where it found it, or "".
func storeHolds(t *testing.T, dir, text string) string {
	t.Helper()
	sh := sharedOf(t, dir)
	if err := sh.writer.Flush(); err != nil {
		t.Fatal(err)
	}
	needle := []byte(text)
	found := ""
	err := sh.store.DB().View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{AllVersions: true})
		defer it.Close()
		for it.Rewind(); it.Valid() && found == ""; it.Next() {
			item := it.Item()
			err := item.Value(func(v []byte) error {
				if bytes.Contains(item.Key(), needle) || bytes.Contains(v, needle) {
					found = fmt.Sprintf("key %q", item.Key())
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found != "" {
		return found
	}
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || found != "" {
			return nil
		}
		if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, needle) {
			found = "file " + path
		}
		return nil
	})
	return found
}

// TestCorrelator_ForgeryPoolOnASiteWithoutOtherTraffic: 30 addresses send
// one browser setup's full headers and no proof of work to a site that
// has no other traffic. Even with the missing proof given no points, the
// pool is one cluster: its rows are raised to the bot line and its
// addresses confirmed.
func TestCorrelator_ForgeryPoolOnASiteWithoutOtherTraffic(t *testing.T) {
	_, dir := startCaddyTrusting(t, "127.0.0.1/8", "trust_proxy\n\t\tpow_missing_points 0")
	for i := range 30 {
		sid := fmt.Sprintf("0b7c2f0e-1111-4222-8333-%012d", i)
		do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "pool", map[string]string{"sid": sid}), nil,
			http.Header{"X-Forwarded-For": {fmt.Sprintf("198.51.100.%d", i+1)}, "Sec-Fetch-Dest": {"image"}})
	}
	views := storedViews(t, dir, "pool")
	if len(views) != 30 || views[0].BotScore != 0 {
		t.Fatalf("stored %d views scoring %d: want 30 clean ones before the sweep", len(views), views[0].BotScore)
	}
	res := sharedOf(t, dir).corr.sweep(time.Now())
	if res.clusters != 1 || res.views != 30 {
		t.Fatalf("sweep %+v, want one cluster raising all 30 views", res)
	}
	for _, v := range storedViews(t, dir, "pool") {
		if v.BotScore < 50 || !storage.HasDetailKey(v.BotScoreDetail, "correlated") {
			t.Errorf("row %d %s, want it raised to the bot line", v.BotScore, v.BotScoreDetail)
		}
	}
}
