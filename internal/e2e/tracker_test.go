package e2e

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// uuidV4 is what crypto.randomUUID makes (ea.js _esid).
var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// deviceFor is the device class a view gets from its screen width sw.
func deviceFor(sw int) string {
	switch {
	case sw < 768:
		return "mobile"
	case sw <= 1024:
		return "tablet"
	}
	return "desktop"
}

// interaction is the beacon's _v as a number.
func interaction(t *testing.T, b beacon) int64 {
	t.Helper()
	v, err := strconv.ParseInt(b.query(t).Get("_v"), 10, 64)
	if err != nil {
		t.Fatalf("beacon _v: %v", err)
	}
	return v
}

func TestTracker_ClickAfterOneSecondStoresOneView(t *testing.T) {
	ctx := newTab(t) // first, so a missing Chromium fails before Caddy starts
	srv := startServer(t)

	do(t, ctx, chromedp.Navigate(origin+"/"))
	time.Sleep(time.Second)
	do(t, ctx, clickBody())
	waitBeacons(t, ctx, 1)
	// A second click and a key press must not send a second pageview.
	do(t, ctx, clickBody(), chromedp.KeyEvent("x"), chromedp.Sleep(300*time.Millisecond))
	sent := beacons(t, ctx)
	if len(sent) != 1 {
		t.Fatalf("page sent %d beacons, want 1: %v", len(sent), sent)
	}
	sid := eval[string](t, ctx, `sessionStorage.getItem("_esid")`)
	screen := eval[[]int](t, ctx, `[screen.width, screen.height]`)

	views := srv.views()
	if len(views) != 1 {
		t.Fatalf("stored %d views, want 1: %+v", len(views), views)
	}
	v := views[0]
	if v.SiteID != site || v.Path != "/" {
		t.Errorf("site, path = %q, %q; want %q, \"/\"", v.SiteID, v.Path, site)
	}
	if v.InteractionMS < 1000 || v.InteractionMS != interaction(t, sent[0]) {
		t.Errorf("interaction_ms = %d; want the sent _v (%d), at least 1000 (clicked 1 s after load)", v.InteractionMS, interaction(t, sent[0]))
	}
	if !uuidV4.MatchString(v.SessionID) || v.SessionID != sid {
		t.Errorf("session_id = %q; want the page's UUID _esid %q", v.SessionID, sid)
	}
	if v.ScreenWidth <= 0 || v.ScreenHeight <= 0 || v.ScreenWidth != screen[0] || v.ScreenHeight != screen[1] {
		t.Errorf("screen = %dx%d; want the browser's %dx%d", v.ScreenWidth, v.ScreenHeight, screen[0], screen[1])
	}
	if want := deviceFor(v.ScreenWidth); v.DeviceType != want {
		t.Errorf("device_type = %q; want %q for a %d px wide screen", v.DeviceType, want, v.ScreenWidth)
	}
	if v.BrowserName != "Chrome" || v.BrowserVersion != "131.0.0.0" || v.OSName != "Linux" {
		t.Errorf("browser, version, os = %q, %q, %q; want Chrome, 131.0.0.0, Linux (from userAgent)", v.BrowserName, v.BrowserVersion, v.OSName)
	}
	if v.Referrer != "direct_or_unknown" || v.ReferrerType != "direct_or_unknown" {
		t.Errorf("referrer, type = %q, %q; want direct_or_unknown for both", v.Referrer, v.ReferrerType)
	}
	if v.VisitorID == "" || v.IsReturning || v.IsPWA {
		t.Errorf("visitor_id, is_returning, is_pwa = %q, %v, %v; want a cookieless id, false, false", v.VisitorID, v.IsReturning, v.IsPWA)
	}
	// A real browser with a human-paced click has no bot signal, and its
	// proof of work is valid.
	if v.BotScore != 0 || v.BotScoreDetail != powValid {
		t.Errorf("bot_score = %d, detail %s; want 0 and %s for a real browser", v.BotScore, v.BotScoreDetail, powValid)
	}
	if tok := sent[0].query(t).Get("tok"); tok == "" || tok != eval[string](t, ctx, `sessionStorage.getItem("_etok")`) {
		t.Errorf("beacon tok = %q; want the session's _etok", tok)
	}
	tokenLast(t, strings.SplitN(sent[0].Name, "?", 2)[1])
	if v.UTMCampaign != "" || v.UTMSource != "" {
		t.Errorf("UTM = %q/%q; want none", v.UTMCampaign, v.UTMSource)
	}
}

func TestTracker_EarlyClickWaitsFor800ms(t *testing.T) {
	ctx := newTab(t)
	srv := startServer(t)

	do(t, ctx, chromedp.Navigate(origin+"/"), clickBody())
	sent := waitBeacons(t, ctx, 1)

	// t0 is when ea.js ran, which is after its response ended; measuring
	// from the response end gives an upper bound for the click and a lower
	// bound for the beacon, both on the page's clock.
	loaded := eval[float64](t, ctx, `performance.getEntriesByName(location.origin + "/ea.js?s=e2e")[0].responseEnd`)
	clicked := eval[float64](t, ctx, `window.firstDown`)
	if clicked-loaded >= 800 {
		t.Fatalf("the click came %.0f ms after ea.js loaded; this case needs it before 800 ms", clicked-loaded)
	}
	// Date.now() counts whole milliseconds, so the timer may start up to
	// 1 ms early on this clock; 790 leaves room for that.
	if gap := sent[0].StartTime - loaded; gap < 790 {
		t.Errorf("beacon sent %.0f ms after ea.js loaded; want no earlier than 800 ms after start", gap)
	}

	views := srv.views()
	if len(views) != 1 {
		t.Fatalf("stored %d views, want 1 (an early click still counts, later): %+v", len(views), views)
	}
	if v := views[0]; v.InteractionMS < 800 || v.InteractionMS != interaction(t, sent[0]) {
		t.Errorf("interaction_ms = %d; want the sent _v (%d), at least 800", v.InteractionMS, interaction(t, sent[0]))
	}
}

func TestTracker_NoTrustedInteractionStoresNothing(t *testing.T) {
	ctx := newTab(t)
	srv := startServer(t)

	do(t, ctx, chromedp.Navigate(origin+"/"))
	trackerLoaded(t, ctx)
	time.Sleep(time.Second)
	// Events that page script makes are not trusted and must not count.
	// (Do not use scrollTo here: the scroll event it causes is trusted.)
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`
		for (const type of ["pointerdown", "click", "keydown", "scroll"]) {
			document.body.dispatchEvent(new Event(type, {bubbles: true}));
			dispatchEvent(new Event(type));
		}
		document.body.click();`))
	time.Sleep(1500 * time.Millisecond)
	if sent := beacons(t, ctx); len(sent) != 0 {
		t.Errorf("page sent %d beacons without a trusted interaction: %v", len(sent), sent)
	}
	if views := srv.views(); len(views) != 0 {
		t.Errorf("stored %d views without a trusted interaction: %+v", len(views), views)
	}
}

func TestTracker_NavigationKeepsPathQueryAndUTM(t *testing.T) {
	ctx := newTab(t)
	srv := startServer(t, "secret e2e-secret")
	// Views keep UTM fields only for an active campaign of their site.
	req, _ := http.NewRequest("POST", origin+"/_echelon/api/campaigns", strings.NewReader(`{"id":"spring","name":"Spring","utm_campaign":"spring","site_id":"`+site+`"}`))
	req.Header.Set("Authorization", "Bearer e2e-secret")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("register the campaign: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	nextPage := func() {
		t.Helper()
		ctx, cancel := timeout(ctx)
		defer cancel()
		if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.ID("next")))); err != nil {
			t.Fatalf("follow the link: %v", err)
		}
	}

	// Home: interact, so its view is sent before the link is followed.
	do(t, ctx, chromedp.Navigate(origin+"/"))
	time.Sleep(time.Second)
	do(t, ctx, clickBody())
	waitBeacons(t, ctx, 1)

	// Page 2 with the query; the tracker sends pathname+search as the
	// browser has it, percent-encoded.
	nextPage()
	time.Sleep(time.Second)
	do(t, ctx, chromedp.KeyEvent("x"))
	b := waitBeacons(t, ctx, 1)[0]
	const sentPath = "/page2.html?q=%C3%BC&utm_campaign=spring&utm_source=news&utm_medium=email&x=1+1"
	if got := b.text(t, "p"); got != sentPath {
		t.Errorf("tracker sent p = %q, want %q", got, sentPath)
	}
	if got := b.text(t, "uc") + "/" + b.text(t, "us") + "/" + b.text(t, "um"); got != "spring/news/email" {
		t.Errorf("tracker sent uc/us/um = %q, want spring/news/email", got)
	}

	// Home again, without UTM in the URL: the session's campaign applies.
	nextPage()
	time.Sleep(time.Second)
	do(t, ctx, clickBody())
	waitBeacons(t, ctx, 1)

	views := srv.views()
	wantPaths := []string{"/", "/page2.html?q=ü&utm_campaign=spring&utm_source=news&utm_medium=email&x=1+1", "/"}
	if len(views) != len(wantPaths) {
		t.Fatalf("stored %d views, want %d: %+v", len(views), len(wantPaths), views)
	}
	for i, v := range views {
		if v.Path != wantPaths[i] {
			t.Errorf("view %d: path = %q, want %q (percent-decoded)", i, v.Path, wantPaths[i])
		}
		if !uuidV4.MatchString(v.SessionID) || v.SessionID != views[0].SessionID {
			t.Errorf("view %d: session_id = %q, want the tab's one UUID %q", i, v.SessionID, views[0].SessionID)
		}
		// Same-origin navigation sends no ref.
		if v.Referrer != "direct_or_unknown" {
			t.Errorf("view %d: referrer = %q, want direct_or_unknown", i, v.Referrer)
		}
	}
	utm := func(v storage.View) [5]string {
		return [5]string{v.UTMCampaign, v.UTMSource, v.UTMMedium, v.UTMContent, v.UTMTerm}
	}
	none, spring := [5]string{}, [5]string{"spring", "news", "email", "", ""}
	for i, want := range [][5]string{none, spring, spring} {
		if got := utm(views[i]); got != want {
			t.Errorf("view %d: UTM campaign/source/medium/content/term = %q, want %q", i, got, want)
		}
	}
}

func TestTracker_HiddenAfter4sSendsView(t *testing.T) {
	ctx := newTab(t)
	srv := startServer(t)

	do(t, ctx, chromedp.Navigate(origin+"/"))
	start := time.Now()
	// Hidden before 4 s: not a pageview.
	time.Sleep(time.Second)
	setWindowState(t, ctx, browser.WindowStateMinimized)
	setWindowState(t, ctx, browser.WindowStateNormal)
	time.Sleep(200 * time.Millisecond)
	if sent := beacons(t, ctx); len(sent) != 0 {
		t.Fatalf("page hidden %v after load sent %d beacons, want none before 4 s", time.Since(start).Round(time.Millisecond), len(sent))
	}

	// Hidden after 4 s: the pageview goes without any interaction.
	time.Sleep(4200*time.Millisecond - time.Since(start))
	setWindowState(t, ctx, browser.WindowStateMinimized)
	time.Sleep(200 * time.Millisecond)
	setWindowState(t, ctx, browser.WindowStateNormal)
	sent := waitBeacons(t, ctx, 1)
	if len(sent) != 1 {
		t.Fatalf("page sent %d beacons, want 1: %v", len(sent), sent)
	}

	views := srv.views()
	if len(views) != 1 {
		t.Fatalf("stored %d views, want 1: %+v", len(views), views)
	}
	if v := views[0]; v.Path != "/" || v.InteractionMS < 4000 || v.InteractionMS != interaction(t, sent[0]) {
		t.Errorf("path, interaction_ms = %q, %d; want \"/\" and the sent _v (%d), at least 4000", v.Path, v.InteractionMS, interaction(t, sent[0]))
	}
}
