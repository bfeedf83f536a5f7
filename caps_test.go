package echelon

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/pow"
	"github.com/echelon-analytics/caddy-echelon/scoring"
)

// TestCaps_FullCachesEvictInsteadOfScoringEveryone: a client bursts (17
// beacons in its window), then a flood fills the burst map and the replay
// cache past their caps (in process: 300,000 burst keys and 260,000 valid
// tokens would be as many requests). Through Caddy, a new visitor's clean
// beacon is then stored with score 0: neither a burst nor an invalid token
// is scored because a table is full. The bursting client still scores its
// burst, and the evictions show in echelon_cache_evictions_total.
func TestCaps_FullCachesEvictInsteadOfScoringEveryone(t *testing.T) {
	_, dir := startCaddyTrusting(t, "127.0.0.1/8", "trust_proxy\n\t\trate_limit_max 0\n\t\tpow_difficulty 1")
	cleanBeacon(t, dir, "shop", "/", 0) // registers the site
	sh := sharedOf(t, dir)
	beacon := func(ip string, n int) {
		t.Helper()
		sid := fmt.Sprintf("0b7c2f0e-5555-4222-8333-%012d", n)
		q := beaconQuery("/", "shop", map[string]string{"sid": sid, "tok": mint(t, dir, sid, "shop", time.Now())})
		if status, _, _ := do(t, "GET", baseURL+"/b.gif?"+q, nil, http.Header{"X-Forwarded-For": {ip}}); status != 200 {
			t.Fatalf("beacon: %d", status)
		}
	}
	for i := range scoring.BurstThreshold + 2 {
		beacon("198.51.100.7", i)
	}

	now := time.Now()
	for k := range uint64(3 * scoring.DefaultBurstCapacity) {
		sh.burst.Hit(k*0x9e3779b97f4a7c15+1, now)
	}
	for i := range pow.DefaultReplayCap + 10_000 {
		sid := fmt.Sprintf("flood-%d", i)
		tok, err := sh.pow.Mint(sid, "flood", 1, now)
		if err != nil {
			t.Fatal(err)
		}
		if got := sh.pow.Check(tok, sid, "flood", "", 1, now); got != pow.Valid {
			t.Fatalf("flood token %d: %v", i, got)
		}
	}

	beacon("198.51.100.9", 100) // a new visitor
	beacon("198.51.100.7", 101) // the bursting client again
	views := storedViews(t, dir, "shop")
	byIP := map[int]string{} // the last two views, by order sent
	for _, v := range views[len(views)-2:] {
		byIP[len(byIP)] = fmt.Sprintf("%d %s", v.BotScore, v.BotScoreDetail)
	}
	if v := views[len(views)-2]; v.BotScore != 0 {
		t.Errorf("a new visitor after the flood scored %s, want 0", byIP[0])
	}
	if v := views[len(views)-1]; !strings.Contains(v.BotScoreDetail, `"burst":25`) || !strings.Contains(v.BotScoreDetail, `"pow_result":"valid"`) {
		t.Errorf("the bursting client after the flood scored %s, want its burst and a valid token", byIP[1])
	}

	res, err := http.Get(fmt.Sprintf("http://localhost:%d/metrics", adminPort))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for cache, least := range map[string]float64{"burst": 2 * scoring.DefaultBurstCapacity, "replay": 10_000} {
		prefix := `echelon_cache_evictions_total{cache="` + cache + `"} `
		var got float64
		for _, line := range strings.Split(string(body), "\n") {
			if v, ok := strings.CutPrefix(line, prefix); ok {
				got, _ = strconv.ParseFloat(v, 64)
			}
		}
		if got < least {
			t.Errorf("%s%v, want at least %v", prefix, got, least)
		}
	}
	if st := sh.pow.Stats(); st.ReplayEvicted < 10_000 {
		t.Errorf("replay cache evicted %d, want at least the 10,000 tokens past its cap", st.ReplayEvicted)
	}
}
