package echelon

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/pow"
)

// TestPoW_OutcomesAndPoints sends beacons with each kind of token through
// real Caddy and reads back pow and pow_result.
func TestPoW_OutcomesAndPoints(t *testing.T) {
	_, dir := startCaddy(t, "")
	now := time.Now()
	sid2 := "0b7c2f0e-1111-4222-8333-444455557777"
	valid := mint(t, dir, testSID, "pw", now)
	replayed := mint(t, dir, sid2, "pw", now)
	// The clock injected into the solve: a token made 15 minutes ago has a
	// bucket outside the 10-minute window.
	old := mint(t, dir, testSID, "pw", now.Add(-15*time.Minute))
	otherSite := mint(t, dir, testSID, "elsewhere", now)
	cases := []struct {
		name, tok, sid string
		points         int
		result         string
	}{
		{"valid", valid, testSID, 0, "valid"},
		{"missing", "", testSID, 50, "missing"},
		{"garbage", "not-a-token", testSID, 50, "invalid"},
		{"well-formed but wrong hash", fmt.Sprintf("%d.12.%032d", now.UnixMilli()/60000, 0), testSID, 50, "invalid"},
		{"bound to another site", otherSite, testSID, 50, "invalid"},
		{"made-up bucket", fmt.Sprintf("%d.12.%032d", now.UnixMilli()/60000+5, 0), testSID, 50, "invalid"},
		{"first use", replayed, sid2, 0, "valid"},
		{"same token again", replayed, sid2, 50, "replayed"},
		{"outside the window", old, testSID, 15, "expired"},
	}
	for i, c := range cases {
		q := beaconQuery(fmt.Sprintf("/p%d", i), "pw", map[string]string{"tok": c.tok, "sid": c.sid})
		if status, _, _ := do(t, "GET", baseURL+"/b.gif?"+q, nil, nil); status != 200 {
			t.Fatalf("%s: status %d", c.name, status)
		}
	}
	views := storedViews(t, dir, "pw")
	if len(views) != len(cases) {
		t.Fatalf("stored %d views, want %d", len(views), len(cases))
	}
	byPath := map[string]string{}
	for _, v := range views {
		byPath[v.Path] = v.BotScoreDetail
	}
	for i, c := range cases {
		want := fmt.Sprintf(`"pow":%d,"pow_result":"%s"}`, c.points, c.result)
		if d := byPath[fmt.Sprintf("/p%d", i)]; !strings.HasSuffix(d, want) {
			t.Errorf("%s: detail %s, want it to end with %s", c.name, d, want)
		}
	}
}

// TestPoW_EventsUseTheSessionsLastToken: an event batch carrying the token
// of the session's pageview passes, also after the pageview used it.
func TestPoW_EventsUseTheSessionsLastToken(t *testing.T) {
	_, dir := startCaddy(t, "")
	tok := mint(t, dir, testSID, "ev", time.Now())
	do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "ev", map[string]string{"tok": tok}), nil, nil)
	for _, body := range []string{
		`{"siteId":"ev","tok":"` + tok + `","events":[{"type":"click","sessionId":"` + testSID + `"}]}`,
		`{"siteId":"ev","tok":"` + tok + `","events":[{"type":"scroll_depth","sessionId":"` + testSID + `","data":{"depth":50}}]}`,
		`{"siteId":"ev","tok":"","events":[{"type":"click","sessionId":"` + testSID + `"}]}`,
	} {
		if status, _, _ := do(t, "POST", baseURL+"/e", strings.NewReader(body), nil); status != 204 {
			t.Fatalf("status %d", status)
		}
	}
	evs := storedEvents(t, dir, "ev")
	if len(evs) != 3 {
		t.Fatalf("stored %d events", len(evs))
	}
	for i, want := range []string{"valid", "valid", "missing"} {
		if !strings.Contains(evs[i].BotScoreDetail, `"pow_result":"`+want+`"`) {
			t.Errorf("event %d detail %s, want pow_result %s", i, evs[i].BotScoreDetail, want)
		}
	}
}

// TestPoW_NodesSharingASecretAgree runs two sites with the same secret and
// different data directories: they serve byte-identical trackers (same
// module, same challenge) and accept each other's tokens.
func TestPoW_NodesSharingASecretAgree(t *testing.T) {
	root := t.TempDir()
	site := filepath.Join(root, "site")
	_ = os.MkdirAll(site, 0o755)
	block := func(host, db string) string {
		return fmt.Sprintf("\nhttp://%s:%d {\n\techelon {\n\t\tdb_path %s\n\t\tsecret shared-secret\n\t\tview_flush 1h\n\t}\n\troot * %s\n\tfile_server\n}\n", host, httpPort, db, site)
	}
	dirA, dirB := filepath.Join(root, "a"), filepath.Join(root, "b")
	newTester(t).InitServer(globalOpt+block("localhost", dirA)+block("127.0.0.1", dirB), "caddyfile")
	t.Cleanup(func() { unload(t) })

	_, _, jsA := do(t, "GET", baseURL+"/ea.js?s=n", nil, nil)
	_, _, jsB := do(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/ea.js?s=n", httpPort), nil, nil)
	if jsA == "" || jsA != jsB {
		t.Fatalf("trackers differ between nodes sharing a secret (%d vs %d bytes)", len(jsA), len(jsB))
	}
	now := time.Now()
	pa, errA := sharedOf(t, dirA).pow.Puzzle(now)
	pb, errB := sharedOf(t, dirB).pow.Puzzle(now)
	if errA != nil || errB != nil || pa.Module.Base64 != pb.Module.Base64 || pa.Challenge != pb.Challenge {
		t.Fatalf("puzzles differ: %v %v", errA, errB)
	}

	tok := mint(t, dirA, testSID, "n", now)
	do(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/b.gif?", httpPort)+beaconQuery("/", "n", map[string]string{"tok": tok}), nil, http.Header{})
	views := storedViews(t, dirB, "n")
	if len(views) != 1 || !strings.Contains(views[0].BotScoreDetail, `"pow_result":"valid"`) {
		t.Fatalf("node B stored %+v, want node A's token accepted as valid", views)
	}
}

// TestPoW_RateLimitedVisitorGetsMoreWork: tripping the rate limiter flags
// the visitor, whose next ea.js is a private copy asking for more bits, and
// whose tokens must carry them.
func TestPoW_RateLimitedVisitorGetsMoreWork(t *testing.T) {
	_, dir := startCaddy(t, classicPoW("rate_limit_max 2\n\t\trate_limit_window 1s"))
	_, h, _ := do(t, "GET", baseURL+"/ea.js?s=rl", nil, nil)
	if h.Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("unflagged visitor: Cache-Control %q", h.Get("Cache-Control"))
	}
	for i := 0; i < 3; i++ {
		do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "rl", nil), nil, nil)
	}
	time.Sleep(1100 * time.Millisecond) // let the rate-limit window pass
	status, h, _ := do(t, "GET", baseURL+"/ea.js?s=rl", nil, nil)
	if status != 200 || h.Get("Cache-Control") != "private, no-store" {
		t.Fatalf("flagged visitor: %d Cache-Control %q, want a private copy", status, h.Get("Cache-Control"))
	}
	sh := sharedOf(t, dir)
	now := time.Now()
	base := sh.pow.Difficulty("", now)
	// A token with enough bits for the base difficulty but fewer than the
	// raised one (a solve may overshoot by luck, so pick one that does not).
	var weak, sid string
	for i := 0; weak == ""; i++ {
		sid = fmt.Sprintf("0b7c2f0e-1111-4222-8333-%012d", i)
		tok, err := sh.pow.Mint(sid, "rl", base, now)
		if err != nil {
			t.Fatal(err)
		}
		if sh.pow.Check(tok, sid, "rl", "", base+pow.FlagStep, now) == pow.Invalid {
			weak = tok
		}
	}
	do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/weak", "rl", map[string]string{"tok": weak, "sid": sid}), nil, nil)
	views := storedViews(t, dir, "rl")
	last := views[len(views)-1]
	if last.Path != "/weak" || !strings.Contains(last.BotScoreDetail, `"pow_result":"invalid"`) {
		t.Errorf("a base-difficulty token from a flagged visitor: %s %s, want invalid", last.Path, last.BotScoreDetail)
	}
}
