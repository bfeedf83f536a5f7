package echelon

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

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
			if v.BotScore != 35+50 || !strings.Contains(v.BotScoreDetail, `"penalty":50,"cluster_size":8,"tainted":false,"fingerprint":"Windows 10/11|Chrome|131.0.0.0|1920x1080||unknown"`) {
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
