package e2e

// Per-site tracker features (docs/tracker.md): the consent banner with the
// site's CSS, experiments, and the scrambling of values on anonymized
// sites. Settings go in through the real API, with the bearer secret below.

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/echelon-analytics/caddy-echelon/anonymize"
)

const e2eSecret = "e2e-secret"

// sitePages are the pages of this file, by path.
var sitePages = map[string]string{
	"/consent.html":  eventPage("data-cookie", "", `<p>consent</p>`),
	"/consent2.html": eventPage("data-cookie", "", `<p>consent 2</p>`),
	"/consent3.html": eventPage("data-cookie", "", `<p>consent 3</p>`),
	// Asks for its variant twice once ea.js ran (deferred scripts run
	// before DOMContentLoaded).
	"/exp.html": eventPage("", `<script>document.addEventListener("DOMContentLoaded", function () {
	window.v1 = echelon.experiment("checkout");
	window.v2 = echelon.experiment("checkout");
	window.none = echelon.experiment("unknown");
});</script>
`, `<p>experiment</p>`),
	"/expcookie.html": eventPage("data-cookie", "", `<p>experiment with the cookie</p>`),
	"/anon.html":      eventPage("data-form-values", "", formBody),
}

// newTabSession opens another tab of the browser of ctx: the same
// localStorage and cookies, a new sessionStorage (a new session). Its
// first run gets no timeout: that run's context owns the tab.
func newTabSession(t *testing.T, ctx context.Context) (context.Context, context.CancelFunc) {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return tab, cancel
}

// siteAPI sends an authenticated API request to the running server.
func siteAPI(t *testing.T, method, path, body string) string {
	t.Helper()
	req, err := http.NewRequest(method, origin+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e2eSecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return string(b)
}

// bannerButton is where the banner's button with value v is, for a
// trusted mouse click (the banner is in a shadow root, which selectors do
// not reach).
func bannerButton(t *testing.T, ctx context.Context, v string) (x, y float64) {
	t.Helper()
	r := eval[[]float64](t, ctx, `(function () {
		var b = document.querySelector("echelon-consent").shadowRoot.querySelector("button[value='`+v+`']").getBoundingClientRect();
		return [b.x + b.width / 2, b.y + b.height / 2];
	})()`)
	return r[0], r[1]
}

// consentSteps loads the consent page, checks the banner and its CSS,
// answers it with the button of value answer, then views two more pages
// (a pageview each) and returns the tab's beacons of those two pages.
func consentSteps(t *testing.T, ctx context.Context, answer string) (ck []string) {
	t.Helper()
	visit(t, ctx, "/consent.html")
	shadow := `document.querySelector("echelon-consent").shadowRoot`
	if !eval[bool](t, ctx, `!!document.querySelector("echelon-consent") && !!`+shadow) {
		t.Fatal("no <echelon-consent> banner with an open shadow root")
	}
	// The site's CSS, sanitized by the API, is appended and applies.
	if css := eval[string](t, ctx, shadow+`.querySelector("style").textContent`); !strings.HasSuffix(css, ":host{background:rgb(1, 2, 3)}.x{background:/* blocked */https://evil.example/x.png)}") {
		t.Errorf("banner CSS %q; want the site's sanitized CSS appended", css)
	}
	style := eval[[]string](t, ctx, `(function () { var s = getComputedStyle(document.querySelector("echelon-consent")); return [s.position, s.bottom, s.backgroundColor, s.zIndex]; })()`)
	if style[0] != "fixed" || style[1] != "0px" || style[2] != "rgb(1, 2, 3)" || style[3] != "2147483647" {
		t.Errorf("banner position, bottom, background, z-index = %v; want a fixed bottom bar on top with the site's background", style)
	}
	time.Sleep(900 * time.Millisecond)
	do(t, ctx, chromedp.MouseClickXY(bannerButton(t, ctx, answer)))
	waitBeacons(t, ctx, 1) // the click was also the interaction
	if got := eval[string](t, ctx, `localStorage.getItem("_econsent")`); got != answer {
		t.Fatalf("_econsent = %q after the click, want %q", got, answer)
	}
	if eval[bool](t, ctx, `!!document.querySelector("echelon-consent")`) {
		t.Error("the banner stayed after the answer")
	}
	for _, page := range []string{"/consent2.html", "/consent3.html"} {
		landed(t, ctx, page)
		if eval[bool](t, ctx, `!!document.querySelector("echelon-consent")`) {
			t.Errorf("%s asks again", page)
		}
		ck = append(ck, beacons(t, ctx)[0].query(t).Get("ck"))
	}
	return ck
}

func consentServer(t *testing.T) *server {
	t.Helper()
	srv := startServer(t, "cookie_consent", "secret "+e2eSecret)
	siteAPI(t, "PATCH", "/_echelon/api/sites/e2e", `{"consent_css":":host{background:rgb(1, 2, 3)}.x{background:url(https://evil.example/x.png)}"}`)
	return srv
}

func TestSite_ConsentAcceptedSetsTheCookie(t *testing.T) {
	ctx := newTab(t)
	srv := consentServer(t)
	ck := consentSteps(t, ctx, "1")
	if ck[0] != "1" || ck[1] != "1" {
		t.Errorf("ck on the pages after accepting: %q; want 1 on both", ck)
	}
	views := srv.views()
	if len(views) != 3 {
		t.Fatalf("stored %d views, want 3", len(views))
	}
	// The landing view went with the click on Accept, before the answer:
	// no cookie. Then the first cookie view makes the id, the next one
	// comes back with it.
	v0, v1, v2 := views[0], views[1], views[2]
	if v1.IsReturning || !v2.IsReturning || v1.VisitorID != v2.VisitorID || v0.VisitorID == v1.VisitorID {
		t.Errorf("visitors %s %s %s, returning %v %v %v; want a cookie id on the last two, returning on the third",
			v0.VisitorID, v1.VisitorID, v2.VisitorID, v0.IsReturning, v1.IsReturning, v2.IsReturning)
	}
}

func TestSite_ConsentDeclinedSetsNoCookie(t *testing.T) {
	ctx := newTab(t)
	srv := consentServer(t)
	ck := consentSteps(t, ctx, "0")
	if ck[0] != "" || ck[1] != "" {
		t.Errorf("ck on the pages after declining: %q; want none", ck)
	}
	if c := eval[string](t, ctx, `document.cookie`); c != "" {
		t.Errorf("cookies %q", c)
	}
	views := srv.views()
	if len(views) != 3 {
		t.Fatalf("stored %d views, want 3", len(views))
	}
	for i, v := range views {
		// The cookieless id: the same hash all day, never returning.
		if v.IsReturning || v.VisitorID != views[0].VisitorID {
			t.Errorf("view %d: visitor %s returning %v; want the cookieless id of view 0 (%s)", i, v.VisitorID, v.IsReturning, views[0].VisitorID)
		}
	}
}

// experimentServer starts a server with an active experiment: control
// weight 1, green weight 3, and a second one with half the sessions
// allocated.
func experimentServer(t *testing.T) *server {
	t.Helper()
	srv := startServer(t, "secret "+e2eSecret)
	siteAPI(t, "POST", "/_echelon/api/experiments", `{"experiment_id":"checkout","name":"Checkout","metric_event_type":"signup","variants":[
		{"variant_id":"control","name":"Blue","weight":1,"is_control":true},{"variant_id":"green","name":"Green","weight":3}]}`)
	siteAPI(t, "POST", "/_echelon/api/experiments", `{"experiment_id":"half","name":"Half","metric_event_type":"x","allocation_percent":50,"variants":[
		{"variant_id":"a","name":"A","weight":1},{"variant_id":"b","name":"B","weight":1}]}`)
	siteAPI(t, "POST", "/_echelon/api/experiments", `{"experiment_id":"draft","name":"Draft","metric_event_type":"x","variants":[{"variant_id":"a","name":"A","weight":1}]}`)
	siteAPI(t, "PATCH", "/_echelon/api/experiments/checkout", `{"status":"active"}`)
	siteAPI(t, "PATCH", "/_echelon/api/experiments/half", `{"status":"active"}`)
	return srv
}

func TestSite_ExperimentStableAndWeighted(t *testing.T) {
	ctx := newTab(t)
	srv := experimentServer(t)

	// Weighted: the selection over 20,000 synthetic session ids, in the
	// page, follows the weights 1:3, and the 50 % allocation.
	visit(t, ctx, "/exp.html")
	counts := eval[map[string]float64](t, ctx, `(function () {
		var c = {}, n = 20000, id;
		for (var i = 0; i < n; i++) {
			id = crypto.randomUUID();
			var v = echelon._pick(id, "checkout"), h = echelon._pick(id, "half");
			c[v] = (c[v] || 0) + 1 / n;
			c["half-" + h] = (c["half-" + h] || 0) + 1 / n;
		}
		c.draft = echelon._pick(id, "draft") === null ? 0 : 1;
		return c;
	})()`)
	for k, want := range map[string]float64{"control": 0.25, "green": 0.75, "half-a": 0.25, "half-b": 0.25, "half-null": 0.5, "draft": 0} {
		if got := counts[k]; math.Abs(got-want) > 0.02 {
			t.Errorf("share of %s = %.3f, want %.2f ± 0.02 (all %v)", k, got, want, counts)
		}
	}

	// Stable: the page's two calls, a reload in the same session, and the
	// selection agree. Then a few more real sessions, in new tabs.
	type session struct{ sid, variant string }
	var sessions []session
	check := func(ctx context.Context) {
		t.Helper()
		got := eval[[]any](t, ctx, `[window.v1, window.v2, window.none, echelon._pick(sessionStorage.getItem("_esid"), "checkout"), sessionStorage.getItem("_esid")]`)
		v, _ := got[0].(string)
		if (v != "control" && v != "green") || got[1] != v || got[2] != nil || got[3] != v {
			t.Errorf("experiment(): %v; want the same variant twice, null for an unknown experiment, and the selection's", got)
		}
		sessions = append(sessions, session{got[4].(string), v})
		// A pageview with its proof of work: experiments count only
		// the events of sessions that sent one.
		time.Sleep(900 * time.Millisecond)
		do(t, ctx, clickBody())
		waitBeacons(t, ctx, 1)
	}
	check(ctx)
	do(t, ctx, chromedp.Reload())
	trackerLoaded(t, ctx)
	check(ctx)
	if sessions[0] != sessions[1] {
		t.Errorf("a reload in the session changed it: %v", sessions)
	}
	for range 4 {
		tab, cancel := newTabSession(t, ctx)
		visit(t, tab, "/exp.html")
		check(tab)
		waitEvents(t, tab, 1)
		cancel()
	}
	waitEvents(t, ctx, 1)
	// A conversion in the first session.
	eval[chromedp.Void](t, ctx, `echelon.track("signup")`)
	waitEvents(t, ctx, 2)
	settle(t, ctx, 300*time.Millisecond)

	// Each page load recorded one exposure, tagged for the stats.
	results := siteAPI(t, "GET", "/_echelon/api/stats/experiments?experiment_id=checkout", "")
	_, stored := srv.stored()
	evs := decodeEvents(t, stored)
	exposures := ofType(evs, "experiment_exposure")
	if len(exposures) != len(sessions) {
		for _, e := range evs {
			t.Logf("stored %s %s score %d", e.EventType, e.SessionID, e.BotScore)
		}
		t.Fatalf("stored %d exposures for %d page loads %v", len(exposures), len(sessions), sessions)
	}
	want := map[string]int{}
	distinct := map[session]bool{}
	for _, s := range sessions {
		distinct[s] = true
	}
	for s := range distinct {
		want[s.variant]++
	}
	for _, e := range exposures {
		s := session{e.SessionID, e.VariantID}
		if !distinct[s] || e.ExperimentID != "checkout" || e.D["experiment_id"] != "checkout" || e.D["variant_id"] != e.VariantID || e.D["path"] != "/exp.html" {
			t.Errorf("exposure %+v %s; want one of the sessions %v with its variant", s, e.Data, sessions)
		}
	}
	var res []struct {
		Variants []struct {
			ID          string `json:"variant_id"`
			Impressions int
			Conversions int
		}
	}
	if err := json.Unmarshal([]byte(results), &res); err != nil || len(res) != 1 {
		t.Fatalf("results %s: %v", results, err)
	}
	for _, v := range res[0].Variants {
		wantConv := 0
		if v.ID == sessions[0].variant {
			wantConv = 1
		}
		if v.Impressions != want[v.ID] || v.Conversions != wantConv {
			t.Errorf("results for %s: %d impressions, %d conversions; want %d, %d", v.ID, v.Impressions, v.Conversions, want[v.ID], wantConv)
		}
	}
}

// With the cookie (data-cookie, no consent needed), the variant follows
// the visitor: two tabs, two sessions, one variant, from the stored _eid.
func TestSite_ExperimentStablePerVisitorWithCookie(t *testing.T) {
	ctx := newTab(t)
	experimentServer(t)
	var got []string
	for i := range 3 {
		tab, cancel := ctx, context.CancelFunc(func() {})
		if i > 0 {
			tab, cancel = newTabSession(t, ctx)
		}
		visit(t, tab, "/expcookie.html")
		r := eval[[]string](t, tab, `[echelon.experiment("checkout"), echelon._pick(localStorage.getItem("_eid"), "checkout"), sessionStorage.getItem("_esid")]`)
		if r[0] != r[1] {
			t.Errorf("tab %d: variant %q, selection for _eid %q", i, r[0], r[1])
		}
		got = append(got, r[0], r[2])
		cancel()
	}
	if got[0] != got[2] || got[0] != got[4] || got[1] == got[3] || got[3] == got[5] {
		t.Errorf("variant, session per tab: %v; want one variant over three sessions", got)
	}
}

func TestSite_AnonymizedSiteScramblesValues(t *testing.T) {
	ctx := newTab(t)
	srv := startServer(t, "anonymize_sites other,E2E", "secret "+e2eSecret)
	const query = "?q=Secret123&ref=abc%C3%BC&flag&empty="
	landed(t, ctx, "/anon.html"+query)
	do(t, ctx,
		chromedp.Click(chromedp.ID("email")),
		chromedp.KeyEvent("hello world"),
		chromedp.Click(chromedp.ID("pw")),
		chromedp.KeyEvent("s3cret!"),
		chromedp.Click(chromedp.ID("send")),
	)
	waitEvents(t, ctx, 5)
	sid := sessionOf(t, ctx)
	settle(t, ctx, 300*time.Millisecond)
	sent := beacons(t, ctx)[0].text(t, "p")
	views, stored := srv.stored()
	if len(views) != 1 {
		t.Fatalf("stored %d views, want 1", len(views))
	}
	// Keys, punctuation and escapes kept; each letter and digit replaced
	// by one of its class.
	shape := regexp.MustCompile(`^/anon\.html\?q=[A-Z][a-z]{5}[0-9]{3}&ref=[a-z]{3}%C3%BC&flag&empty=$`)
	if !shape.MatchString(sent) || sent == "/anon.html"+query {
		t.Errorf("beacon p = %q; want the query values scrambled, the rest kept", sent)
	}
	// The server then stores the day's stand-ins (docs/privacy.md).
	day := anonymize.New([]byte(e2eSecret)).Day(time.Now())
	if want := day.Path(strings.Replace(sent, "%C3%BC", "ü", 1)); views[0].Path != want {
		t.Errorf("stored path %q, want the stand-in %q of the sent path", views[0].Path, want)
	}
	evs := decodeEvents(t, stored)
	checkEvents(t, evs, day.SessionID(sid))
	blur := one(t, evs, "form_blur", "field_name", "email")
	v, _ := blur.D["value"].(string)
	if !regexp.MustCompile(`^[a-z]{5} [a-z]{5}$`).MatchString(v) || v == "hello world" || blur.D["value_length"] != float64(11) {
		t.Errorf("form_blur %s; want the value scrambled letter for letter, length 11", blur.Data)
	}
	if pw := one(t, evs, "form_blur", "field_name", "secret"); pw.D["value"] != nil {
		t.Errorf("password form_blur carries a value: %s", pw.Data)
	}
}
