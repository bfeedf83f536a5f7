package echelon

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// scripted are the headers of a scripted client: no client hints, no
// Accept-Language (headers +20; with a missing proof of work +15 and an
// 820 ms interaction +20 its beacons score 55, a bot).
func scripted() http.Header {
	return http.Header{"Accept-Language": nil, "Sec-Ch-Ua": nil, "Sec-Fetch-Site": nil}
}

// junkBeacon sends a bot's beacon naming site.
func junkBeacon(t *testing.T, site string) {
	t.Helper()
	q := beaconQuery("/", site, map[string]string{"_v": "820"})
	if status, _, _ := do(t, "GET", baseURL+"/b.gif?"+q, nil, scripted()); status != 200 {
		t.Fatalf("beacon: %d", status)
	}
}

// cleanBeacon sends a beacon that scores below 50 (sendCleanBeacon) and
// waits until it is stored: the answer may leave before the beacon is
// processed, and the site must be registered before whatever the caller
// writes next.
func cleanBeacon(t *testing.T, dir, site, path string, n int) {
	t.Helper()
	sendCleanBeacon(t, dir, site, path, n)
	if err := sharedOf(t, dir).writer.Flush(); err != nil {
		t.Fatal(err)
	}
}

// sendCleanBeacon sends a beacon that scores below 50: browser headers, a
// human's interaction time and a valid proof of work of its own session.
func sendCleanBeacon(t *testing.T, dir, site, path string, n int) {
	t.Helper()
	sid := fmt.Sprintf("0b7c2f0e-2222-4222-8333-%012d", n)
	q := beaconQuery(path, site, map[string]string{"sid": sid, "tok": mint(t, dir, sid, site, time.Now())})
	if status, _, _ := do(t, "GET", baseURL+"/b.gif?"+q, nil, nil); status != 200 {
		t.Fatalf("beacon: %d", status)
	}
}

// TestSites_BotsNeverRegisterASiteAndMaxSitesCapsTheRest: a thousand bot
// beacons naming made-up site ids register none of them; clean hits
// register their sites up to max_sites. Every hit of an unregistered site
// is stored and counted under "(other)", so nothing is lost from the
// totals while the per-site state stays at max_sites + 1.
func TestSites_BotsNeverRegisterASiteAndMaxSitesCapsTheRest(t *testing.T) {
	_, dir := startCaddy(t, "rate_limit_max 0\n\t\tmax_sites 3\n\t\tsecret "+testSecret)
	const junk = 1000
	for i := range junk {
		junkBeacon(t, fmt.Sprintf("junk-%d", i))
	}
	sites := []string{"a", "b", "c", "d", "e"}
	for i, site := range sites {
		cleanBeacon(t, dir, site, "/", i)
	}
	if n := len(storedViews(t, dir, "junk-7")); n != 0 {
		t.Errorf("junk-7 has %d views of its own: a bot's hit registered its site", n)
	}
	for _, site := range sites[:3] {
		if v := storedViews(t, dir, site); len(v) != 1 || v[0].BotScore >= 50 {
			t.Errorf("%s: %+v, want its clean view under its own id", site, v)
		}
	}
	if n := len(storedViews(t, dir, "d")); n != 0 {
		t.Errorf("d has %d views past max_sites 3", n)
	}
	other := storedViews(t, dir, storage.OtherSite)
	clean := 0
	for _, v := range other {
		if v.BotScore < 50 {
			clean++
		}
	}
	if len(other) != junk+2 || clean != 2 {
		t.Errorf("(other) holds %d views (%d clean), want the %d junk ones and the 2 clean ones of d and e", len(other), clean, junk)
	}
	status, v, raw := apiCall(t, "GET", "/_echelon/api/stats/summary", "", testSecret)
	if status != 200 {
		t.Fatalf("summary %d %s", status, raw)
	}
	sum := v.(map[string]any)
	want := map[string]any{"total_views": float64(junk + 5), "human_views": 5.0, "bot_views": float64(junk), "unique_visitors": float64(junk + 5)}
	if fmt.Sprint(sum["last_24h"]) != fmt.Sprint(want) {
		t.Errorf("summary last_24h %v, want %v", sum["last_24h"], want)
	}
	var listed []string
	for _, it := range sum["sites"].([]any) {
		listed = append(listed, it.(map[string]any)["site_id"].(string))
	}
	if fmt.Sprint(listed) != "[(other) a b c]" {
		t.Errorf("summary lists sites %v, want (other) and the 3 registered", listed)
	}
	status, v, raw = apiCall(t, "GET", "/_echelon/api/stats/overview?site_id=(other)&days=1", "", testSecret)
	if status != 200 || v.(map[string]any)["visits"] != 2.0 {
		t.Errorf("overview of (other): %d %s, want its 2 clean visits", status, raw)
	}
	status, v, raw = apiCall(t, "GET", "/_echelon/api/pageviews?site_id=(other)", "", testSecret)
	if status != 200 || v.(map[string]any)["total"] != float64(junk+2) || v.(map[string]any)["site_id"] != "(other)" {
		t.Errorf("pageviews of (other): %d %.300s, want its %d views", status, raw, junk+2)
	}
}

// TestValues_RandomPathsThroughCaddyEndUnderOther: clean beacons that
// each carry a new path and screen size make max_values values of each;
// the rest show as the value "(other)" in the overview, and the views
// still add up.
func TestValues_RandomPathsThroughCaddyEndUnderOther(t *testing.T) {
	_, dir := startCaddy(t, "rate_limit_max 0\n\t\tmax_values 10\n\t\tsecret "+testSecret)
	const n = 40
	for i := range n {
		sid := fmt.Sprintf("0b7c2f0e-3333-4222-8333-%012d", i)
		q := beaconQuery(fmt.Sprintf("/random/%d", i), "shop", map[string]string{
			"sid": sid, "tok": mint(t, dir, sid, "shop", time.Now()), "sw": fmt.Sprint(1000 + i), "ref": b64(fmt.Sprintf("https://r%d.example/", i)),
		})
		if status, _, _ := do(t, "GET", baseURL+"/b.gif?"+q, nil, nil); status != 200 {
			t.Fatalf("beacon: %d", status)
		}
	}
	if err := sharedOf(t, dir).writer.Flush(); err != nil {
		t.Fatal(err)
	}
	status, v, raw := apiCall(t, "GET", "/_echelon/api/stats/overview?site_id=shop&days=1", "", testSecret)
	if status != 200 {
		t.Fatalf("overview %d %s", status, raw)
	}
	o := v.(map[string]any)
	for _, list := range []struct{ name, key, views string }{{"top_paths", "path", "views"}, {"resolutions", "resolution", "views"}} {
		var sum float64
		other := 0.0
		items := o[list.name].([]any)
		for _, it := range items {
			m := it.(map[string]any)
			sum += m[list.views].(float64)
			if m[list.key] == "(other)" {
				other = m[list.views].(float64)
			}
		}
		if len(items) != 11 || other != n-10 || sum != n {
			t.Errorf("%s: %d items, (other) %v, sum %v; want 10 values and (other) with the %d views past the cap, summing to %d", list.name, len(items), other, sum, n-10, n)
		}
	}
	if o["visits"] != float64(n) {
		t.Errorf("visits %v, want %d", o["visits"], n)
	}
}
