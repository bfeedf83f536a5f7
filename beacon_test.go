package echelon

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

var wantPixel = []byte{
	0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0xff, 0xff, 0xff,
	0x00, 0x00, 0x00, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
}

func TestBeacon_StoresEveryField(t *testing.T) {
	_, dir := startCaddy(t, "")
	// Views keep UTM fields only for an active campaign of their site.
	if err := sharedOf(t, dir).store.CreateCampaign(storage.Campaign{ID: "w", Name: "Winter", UTMCampaign: "winter-sale", SiteID: "shop"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	q := beaconQuery("/blog/ünïcode?q=a%20b", "shop", map[string]string{
		"tok": mint(t, dir, testSID, "shop", time.Now()),
		"ref": b64("https://www.google.com/search?q=x"),
		"pwa": "1",
		"uc":  b64("winter-sale"), "us": b64("newsletter"), "um": b64("email"),
		"uct": b64("héader"), "ut": b64("boots"),
		"_v": "2345",
		"sw": "390", "sh": "844",
	})
	status, h, body := do(t, "GET", baseURL+"/b.gif?"+q, nil, http.Header{"Cf-Ipcountry": {"FI"}})
	if status != 200 || !bytes.Equal([]byte(body), wantPixel) {
		t.Fatalf("status %d body %x, want 200 and the 43-byte GIF", status, body)
	}
	if h.Get("Content-Type") != "image/gif" || h.Get("Cache-Control") != "no-store" || h.Get("Content-Length") != "43" {
		t.Errorf("pixel headers %v", h)
	}
	views := storedViews(t, dir, "shop")
	if len(views) != 1 {
		t.Fatalf("stored %d views, want 1", len(views))
	}
	v := views[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"path", v.Path, "/blog/ünïcode?q=a b"},
		{"site", v.SiteID, "shop"},
		{"session", v.SessionID, "0b7c2f0e-1111-4222-8333-444455556666"},
		{"visitor id is 16 hex", len(v.VisitorID), 16},
		{"device", v.DeviceType, "mobile"},
		{"os", v.OSName, "Windows 10/11"},
		{"browser", v.BrowserName, "Chrome"},
		{"browser version", v.BrowserVersion, "131.0.0.0"},
		{"country not trusted without behind_cloudflare", v.CountryCode, ""},
		{"interaction", v.InteractionMS, int64(2345)},
		{"screen", [2]int{v.ScreenWidth, v.ScreenHeight}, [2]int{390, 844}},
		{"returning", v.IsReturning, false},
		{"pwa", v.IsPWA, true},
		{"referrer origin", v.Referrer, "https://www.google.com"},
		{"referrer type", v.ReferrerType, "search"},
		{"score", v.BotScore, 0},
		{"score detail", v.BotScoreDetail, `{"pow":0,"pow_result":"valid"}`},
		{"utm", [5]string{v.UTMSource, v.UTMMedium, v.UTMCampaign, v.UTMContent, v.UTMTerm},
			[5]string{"newsletter", "email", "winter-sale", "héader", "boots"}},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if v.CreatedAt.IsZero() || v.ID == 0 {
		t.Errorf("created_at %v id %d not set", v.CreatedAt, v.ID)
	}
}

func TestBeacon_ScoresHeadlessHeaders(t *testing.T) {
	_, dir := startCaddy(t, "")
	// No Accept-Language, no Sec-CH-UA / Sec-Fetch-Site, interaction 820 ms,
	// deep path without referrer, absurd screen.
	q := beaconQuery("/a/b/c", "s1", map[string]string{"_v": "820", "sw": "NaN"})
	req, _ := http.NewRequest("GET", baseURL+"/b.gif?"+q, nil)
	req.Header.Set("User-Agent", chromeUA)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	// A bot's hit does not register its site: it is stored under "(other)".
	views := storedViews(t, dir, storage.OtherSite)
	if len(views) != 1 || views[0].SiteID != storage.OtherSite {
		t.Fatalf("stored %+v, want 1 under (other) (threshold 0 stores everything)", views)
	}
	// timing 20 + headers 20 + screen 10 + referrer 5 + no token 50, capped
	if v := views[0]; v.BotScore != 100 || v.BotScoreDetail != `{"timing":20,"headers":20,"screen":10,"referrer":5,"pow":50,"pow_result":"missing"}` {
		t.Errorf("score %d detail %s", v.BotScore, v.BotScoreDetail)
	}
}

func TestBeacon_DiscardThresholdDropsHighScores(t *testing.T) {
	_, dir := startCaddy(t, classicPoW("bot_discard_threshold 50"))
	req, _ := http.NewRequest("GET", baseURL+"/b.gif?"+beaconQuery("/a/b", "s1", map[string]string{"_v": "820", "sw": "0"}), nil)
	req.Header.Set("User-Agent", chromeUA)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/a/b", "s1", nil), nil, nil)
	views := storedViews(t, dir, "s1")
	if len(views) != 1 || views[0].BotScore >= 50 {
		t.Fatalf("want only the clean view stored, got %+v", views)
	}
}

func TestBeacon_CookieModeSetsAndReusesEv(t *testing.T) {
	_, dir := startCaddy(t, classicPoW(""))
	_, h, _ := do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "c", map[string]string{"ck": "1"}), nil, nil)
	set := h.Get("Set-Cookie")
	if !strings.HasPrefix(set, "_ev=") || !strings.Contains(set, "; Path=/; HttpOnly; SameSite=None; Secure; Partitioned; Max-Age=2592000") {
		t.Fatalf("Set-Cookie %q", set)
	}
	id := strings.TrimPrefix(strings.SplitN(set, ";", 2)[0], "_ev=")
	_, h2, _ := do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/2", "c", map[string]string{"ck": "1"}), nil,
		http.Header{"Cookie": {"_ev=" + id}})
	if !strings.HasPrefix(h2.Get("Set-Cookie"), "_ev="+id+";") {
		t.Errorf("second response re-set %q, want the same id %s", h2.Get("Set-Cookie"), id)
	}
	views := storedViews(t, dir, "c")
	if len(views) != 2 || views[0].VisitorID != id || views[1].VisitorID != id {
		t.Fatalf("views %+v, want both with visitor %s", views, id)
	}
	if views[0].IsReturning || !views[1].IsReturning {
		t.Errorf("returning flags %v %v, want false then true", views[0].IsReturning, views[1].IsReturning)
	}
}

func TestBeacon_CookielessIDStableForSameVisitorAndSite(t *testing.T) {
	_, dir := startCaddy(t, classicPoW(""))
	for _, p := range []string{"/1", "/2"} {
		do(t, "GET", baseURL+"/b.gif?"+beaconQuery(p, "k", nil), nil, nil)
	}
	do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/1", "k", nil), nil, http.Header{"User-Agent": {chromeUA + " other"}})
	views := storedViews(t, dir, "k")
	if len(views) != 3 {
		t.Fatalf("stored %d views", len(views))
	}
	if views[0].VisitorID != views[1].VisitorID || views[0].VisitorID == views[2].VisitorID {
		t.Errorf("ids %s %s %s: same UA must match, another UA must differ", views[0].VisitorID, views[1].VisitorID, views[2].VisitorID)
	}
}
