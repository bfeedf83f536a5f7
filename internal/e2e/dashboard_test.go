package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// dashPages are the pages every theme is photographed on: path, and the
// screenshot's name.
var dashPages = []struct{ path, name string }{
	{"/?site_id=" + dashSite, "dashboard"},
	{"/sites", "sites"},
	{"/realtime", "realtime"},
	{"/visitors", "visitors"},
	{"/pageviews", "pageviews"},
	{"/events", "events"},
	{"/bots", "bots"},
	{"/bots/excluded", "excluded"},
	{"/experiments", "experiments"},
	{"/campaigns", "campaigns"},
	{"/perf", "perf"},
	{"/settings", "settings"},
}

// TestDashboard_Browser logs in, visits every page and checks that it
// shows the API's numbers for the same query, then uses every write:
// exclude and include a visitor, an experiment from draft to completed, a
// campaign created, paused and deleted, the consent CSS; logs out; and
// finds the login blocked after five failures. No page may log a console
// error, fail a request or ask another host for anything. Every page is
// photographed in the three themes and in dark mode (ECHELON_SCREENSHOTS
// keeps the PNGs).
func TestDashboard_Browser(t *testing.T) {
	startDashboard(t, false)
	apiSend(t, "POST", "/api/perf", `[{"category":"build","metric":"binary_size","value":41.2,"unit":"MB","branch":"main"},
		{"category":"build","metric":"binary_size","value":41.9,"unit":"MB","branch":"main"},
		{"category":"bench","metric":"beacon_ratio","value":0.72,"unit":"x"}]`)
	dir := screenshots(t)
	ctx := newTab(t)
	w := watch(t, ctx)
	viewport(t, ctx, 1280, 900, "light")

	// Login page, then the login itself.
	open(t, ctx, "/login")
	shot(t, ctx, dir, "login")
	do(t, ctx, chromedp.SendKeys("#username", dashUser), chromedp.SendKeys("#password", dashPassword))
	submit(t, ctx, "form.login button")
	if got := text(t, ctx, "main h1"); got != "Dashboard" {
		t.Fatalf("after login: %q", got)
	}
	w.clean(t, "login")

	t.Run("pages show the API's numbers", func(t *testing.T) { checkPages(t, ctx, w, dir) })
	t.Run("lists", func(t *testing.T) { lists(t, ctx, w, dir) })
	t.Run("exclude and include", func(t *testing.T) { excludeInclude(t, ctx, w) })
	t.Run("experiment lifecycle", func(t *testing.T) { experimentLifecycle(t, ctx, w, dir) })
	t.Run("campaign lifecycle", func(t *testing.T) { campaignLifecycle(t, ctx, w, dir) })
	t.Run("consent CSS", func(t *testing.T) { consentCSS(t, ctx, w) })
	t.Run("live refresh", func(t *testing.T) { liveRefresh(t, ctx, w) })
	t.Run("themes and screenshots", func(t *testing.T) { themes(t, ctx, w, dir) })
	t.Run("cross-origin write refused", func(t *testing.T) { crossOrigin(t, ctx) })

	// Logout, then the login rate limit.
	open(t, ctx, "/")
	submit(t, ctx, `form[action$="/logout"] button`)
	if got := eval[string](t, ctx, `location.pathname`); got != dashPrefix+"/login" {
		t.Errorf("after logout: %s", got)
	}
	open(t, ctx, "/bots")
	if got := eval[string](t, ctx, `location.pathname`); got != dashPrefix+"/login" {
		t.Errorf("a page after logout shows %s, want the login page", got)
	}
	w.clean(t, "logout")
	for i := 1; i <= 7; i++ {
		pw := "wrong"
		if i == 7 {
			pw = dashPassword
		}
		do(t, ctx, chromedp.SetValue("#username", dashUser), chromedp.SetValue("#password", pw))
		submit(t, ctx, "form.login button")
		want := "ACCESS DENIED — Invalid credentials."
		if i > 5 {
			want = "RATE LIMITED — Too many failed attempts. Try again later."
		}
		if got := text(t, ctx, "main .flash.bad"); got != want {
			t.Errorf("login attempt %d: %q, want %q", i, got, want)
		}
	}
	if got := text(t, ctx, "main h1"); got != "Login" {
		t.Errorf("the blocked seventh attempt, with the right password, logged in: %q", got)
	}
	w.clean(t, "failed logins")

	// Without telemetry_url no page asked for a tracker, a beacon or an
	// event endpoint.
	for _, r := range w.sent() {
		if u, err := url.Parse(strings.Fields(r)[0]); err == nil && (strings.HasSuffix(u.Path, "/b.gif") || strings.HasSuffix(u.Path, "/e") || strings.HasSuffix(u.Path, "/ea.js")) {
			t.Errorf("telemetry sent without telemetry_url: %s", r)
		}
	}
}

// checkPages visits every page and compares its figures with the API's.
func checkPages(t *testing.T, ctx context.Context, w *watcher, dir string) {
	open(t, ctx, "/?site_id="+dashSite+"&days=30")
	o := api[map[string]any](t, "/api/stats/overview?site_id="+dashSite+"&days=30")
	for sel, want := range map[string]string{
		"#ov-visits": fmtCount(o["visits"].(float64)),
		"#ov-unique": fmtCount(o["unique_visitors"].(float64)),
		"#ov-inter":  fmt.Sprintf("%.1fs", o["avg_interaction_ms"].(float64)/1000),
		"#ov-pages":  fmt.Sprint(len(o["top_paths"].([]any))),
	} {
		if got := text(t, ctx, sel); got != want {
			t.Errorf("dashboard %s = %q, API says %q", sel, got, want)
		}
	}
	top := o["top_paths"].([]any)[0].(map[string]any)
	if got, want := text(t, ctx, ".toplist tbody tr td"), top["path"].(string); got != want {
		t.Errorf("top page %q, API %q", got, want)
	}
	if o["visits"].(float64) < 10000 {
		t.Errorf("the seeded site has %v visits in 30 days", o["visits"])
	}
	if n := count(t, ctx, "svg.chart"); n != 3 {
		t.Errorf("%d charts, want the hour, the day and the daily trend", n)
	}
	if got := eval[string](t, ctx, `document.querySelector("#trend title").textContent`); got == "" {
		t.Error("the trend chart has no title")
	}
	// The days select applies at once: the page reloads with days=7.
	leadsToPage(t, ctx, "days select", choose("days", "7"))
	if got := text(t, ctx, "#ov-h"); got != "Last 7 days" || !strings.Contains(eval[string](t, ctx, `location.search`), "days=7") {
		t.Errorf("after choosing 7 days: %q %s", got, eval[string](t, ctx, `location.search`))
	}
	open(t, ctx, "/?site_id="+dashSite+"&days=30")
	d := api[map[string]any](t, "/api/stats/dashboard?site_id="+dashSite)
	if got, want := count(t, ctx, "#live section:first-of-type tbody tr"), len(d["recentVisitors"].([]any)); got != want {
		t.Errorf("%d recent visitors, API %d", got, want)
	}
	w.clean(t, "dashboard")

	// The site select's first entry leads to All sites.
	leadsToPage(t, ctx, "site select", choose("site_id", "*"))
	if got := eval[string](t, ctx, `location.pathname`); got != dashPrefix+"/sites" {
		t.Errorf("All sites led to %s", got)
	}
	sum := api[map[string]any](t, "/api/stats/summary")
	for _, s := range sum["sites"].([]any) {
		site := s.(map[string]any)
		row := fmt.Sprintf(`[...document.querySelectorAll("#sites tbody tr")].find(r => r.cells[0].textContent === %q)`, site["site_id"])
		if got := eval[string](t, ctx, row+`?.cells[2].textContent`); got != fmtCount(site["total_views"].(float64)) {
			t.Errorf("all sites: %s views %q, API %v", site["site_id"], got, site["total_views"])
		}
	}
	if count(t, ctx, "#sites svg.spark") != 2 {
		t.Error("all sites: want a sparkline per site")
	}
	w.clean(t, "sites")

	before := api[map[string]any](t, "/api/stats/realtime?site_id="+dashSite)
	open(t, ctx, "/realtime?site_id="+dashSite)
	after := api[map[string]any](t, "/api/stats/realtime?site_id="+dashSite)
	got := text(t, ctx, "#rt-views")
	// Nothing new arrives, so the last 5 minutes only shrink as time passes.
	if got != fmtCount(before["pageviews"].(float64)) && got != fmtCount(after["pageviews"].(float64)) {
		t.Errorf("realtime pageviews %q, API %v then %v", got, before["pageviews"], after["pageviews"])
	}
	w.clean(t, "realtime")

	open(t, ctx, "/bots")
	sus := api[[]map[string]any](t, "/api/bots/suspicious?site_id="+dashSite)
	if got := count(t, ctx, "#suspects tbody tr"); got != len(sus) || got == 0 {
		t.Errorf("bots: %d rows, API %d", got, len(sus))
	}
	if got := text(t, ctx, "#suspects tbody tr td a"); len(sus) > 0 && got != sus[0]["visitor_id"].(string)[:12]+"..." {
		t.Errorf("bots: first %q, API %v", got, sus[0]["visitor_id"])
	}
	w.clean(t, "bots")

	id := sus[0]["visitor_id"].(string)
	open(t, ctx, "/bots/"+id)
	rep := api[map[string]any](t, "/api/bots/visitor/"+id)
	if got := count(t, ctx, "#views tbody tr"); got != len(rep["views"].([]any)) {
		t.Errorf("bot visitor: %d views, API %d", got, len(rep["views"].([]any)))
	}
	do(t, ctx, chromedp.Click("details.why summary"))
	deadline := time.Now().Add(3 * time.Second)
	for count(t, ctx, "details.why[open] .factors dt") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the score's [+] showed no factors: %q", text(t, ctx, "details.why .factors"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	shot(t, ctx, dir, "botvisitor")
	w.clean(t, "bot visitor")

	for _, p := range []string{"/bots/excluded", "/experiments", "/campaigns", "/perf", "/settings"} {
		open(t, ctx, p)
		w.clean(t, p)
	}
	trends := api[map[string][]any](t, "/api/perf/trends?limit=20")
	open(t, ctx, "/perf")
	if got := count(t, ctx, "#trends tbody tr"); got != len(trends) {
		t.Errorf("perf: %d trends, API %d", got, len(trends))
	}
	if got := count(t, ctx, "#perf tbody tr"); got != 3 {
		t.Errorf("perf: %d metrics, want the 3 posted", got)
	}
	w.clean(t, "perf")
}

// excludeInclude excludes the top bot from the Bots page and includes it
// again from the Excluded page.
func excludeInclude(t *testing.T, ctx context.Context, w *watcher) {
	open(t, ctx, "/bots")
	id := api[[]map[string]any](t, "/api/bots/suspicious?site_id="+dashSite)[0]["visitor_id"].(string)
	submit(t, ctx, "#suspects tbody tr:first-child form button")
	if got := text(t, ctx, ".flash"); !strings.Contains(got, "excluded") {
		t.Errorf("after exclude: flash %q", got)
	}
	ex := api[[]map[string]any](t, "/api/bots/excluded")
	if len(ex) != 1 || ex[0]["visitor_id"] != id {
		t.Fatalf("excluded after the click: %v, want %s", ex, id)
	}
	open(t, ctx, "/bots/excluded")
	if got := count(t, ctx, "#excluded tbody tr"); got != 1 {
		t.Errorf("excluded page: %d rows", got)
	}
	submit(t, ctx, "#excluded tbody tr form button")
	if ex := api[[]map[string]any](t, "/api/bots/excluded"); len(ex) != 0 {
		t.Errorf("still excluded after include: %v", ex)
	}
	if count(t, ctx, "#excluded") != 0 || !strings.Contains(text(t, ctx, ".flash"), "counted again") {
		t.Error("the excluded page still lists the visitor")
	}
	w.clean(t, "exclude")
}

func experimentLifecycle(t *testing.T, ctx context.Context, w *watcher, dir string) {
	open(t, ctx, "/experiments")
	do(t, ctx, chromedp.Click("details.create summary"),
		chromedp.SendKeys(`input[name=experiment_id]`, "cta-e2e"),
		chromedp.SendKeys(`input[name=name]`, "Call to action"),
		chromedp.SendKeys(`input[name=metric_event_type]`, "signup"))
	shot(t, ctx, dir, "experiments-form")
	submit(t, ctx, "details.create form button")
	if got := eval[string](t, ctx, `location.pathname`); got != dashPrefix+"/experiments/cta-e2e" {
		t.Fatalf("after create: %s (%s)", got, text(t, ctx, ".flash"))
	}
	e := api[map[string]any](t, "/api/experiments/cta-e2e")
	vs := e["variants"].([]any)
	if e["status"] != "draft" || len(vs) != 2 || vs[0].(map[string]any)["is_control"] != true || vs[1].(map[string]any)["weight"] != 50.0 {
		t.Errorf("created: %v", e)
	}
	for _, step := range []struct{ button, status string }{{"Start", "active"}, {"Complete", "completed"}} {
		sel := fmt.Sprintf(`.actions form:has(input[value=%q]) button`, step.status)
		if got := text(t, ctx, sel); got != step.button {
			t.Fatalf("button %q, want %q", got, step.button)
		}
		submit(t, ctx, sel)
		if got := api[map[string]any](t, "/api/experiments/cta-e2e")["status"]; got != step.status {
			t.Errorf("after %s: %v", step.button, got)
		}
		if got := text(t, ctx, "main p .st"); got != step.status {
			t.Errorf("page after %s shows %q", step.button, got)
		}
	}
	if got := text(t, ctx, ".results caption"); !strings.Contains(got, "completed") {
		t.Errorf("results of the completed experiment: %q", got)
	}
	w.clean(t, "experiment")
}

func campaignLifecycle(t *testing.T, ctx context.Context, w *watcher, dir string) {
	open(t, ctx, "/campaigns")
	do(t, ctx, chromedp.Click("details.create summary"),
		chromedp.SendKeys(`input[name=id]`, "spring-e2e"),
		chromedp.SendKeys(`input[name=name]`, "Spring"),
		chromedp.SendKeys(`input[name=utm_campaign]`, "spring"))
	submit(t, ctx, "details.create form button")
	if got := eval[string](t, ctx, `location.pathname`); got != dashPrefix+"/campaigns/spring-e2e" {
		t.Fatalf("after create: %s (%s)", got, text(t, ctx, ".flash"))
	}
	list := api[[]map[string]any](t, "/api/campaigns")
	if len(list) != 1 || list[0]["status"] != "active" || list[0]["site_id"] != dashSite {
		t.Fatalf("created: %v", list)
	}
	submit(t, ctx, `.actions form:has(input[value=paused]) button`)
	if got := api[[]map[string]any](t, "/api/campaigns")[0]["status"]; got != "paused" {
		t.Errorf("after pause: %v", got)
	}
	shot(t, ctx, dir, "campaign")
	do(t, ctx, chromedp.Click(`.actions input[name=confirm]`))
	submit(t, ctx, `.actions form[action$="/delete"] button`)
	if got := eval[string](t, ctx, `location.pathname`); got != dashPrefix+"/campaigns" {
		t.Errorf("after delete: %s", got)
	}
	if list := api[[]map[string]any](t, "/api/campaigns"); len(list) != 0 {
		t.Errorf("after delete: %v", list)
	}
	w.clean(t, "campaign")
}

func consentCSS(t *testing.T, ctx context.Context, w *watcher) {
	open(t, ctx, "/settings?site_id="+dashSite)
	const css = ".bar{background:#123456}"
	do(t, ctx, chromedp.SetValue("#consent_css", css))
	submit(t, ctx, `form[action$="/settings/consent"] button`)
	if got := api[map[string]any](t, "/api/sites/"+dashSite)["consent_css"]; got != css {
		t.Errorf("consent CSS %v, want %q", got, css)
	}
	if got := eval[string](t, ctx, `document.querySelector("#consent_css").value`); got != css {
		t.Errorf("the settings page shows %q", got)
	}
	w.clean(t, "consent CSS")
}

// liveRefresh waits for the realtime page's 10-second refresh.
func liveRefresh(t *testing.T, ctx context.Context, w *watcher) {
	open(t, ctx, "/realtime?site_id="+dashSite)
	eval[bool](t, ctx, `document.getElementById("live").dataset.old = "1"; true`)
	deadline := time.Now().Add(14 * time.Second)
	for eval[string](t, ctx, `document.getElementById("live").dataset.old || ""`) != "" {
		if time.Now().After(deadline) {
			t.Fatal("the live section was not refreshed within 14 s")
		}
		time.Sleep(250 * time.Millisecond)
	}
	w.clean(t, "live refresh")
}

// choose picks value in the nav's select name, as a pointer does (one
// change event).
func choose(name, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(s => { s.value = %q; s.dispatchEvent(new Event("change")); })(document.querySelector("select[name=%s]"))`, value, name))
}

// themes switches the theme with the select (no reload), checks the
// server renders it from the cookie, and photographs every page in each
// theme, in dark mode and on a phone.
func themes(t *testing.T, ctx context.Context, w *watcher, dir string) {
	open(t, ctx, "/")
	do(t, ctx, choose("theme", "c64"))
	if got := eval[string](t, ctx, `document.documentElement.dataset.theme || ""`); got != "c64" {
		t.Errorf("the select did not apply the theme at once: %q", got)
	}
	open(t, ctx, "/sites")
	if got := eval[string](t, ctx, `document.documentElement.dataset.theme || ""`); got != "c64" {
		t.Errorf("the server did not render the theme cookie: %q", got)
	}
	for _, th := range []struct{ theme, scheme, suffix string }{
		{"default", "light", ""}, {"c64", "light", "-c64"}, {"badboys", "light", "-badboys"}, {"", "dark", "-dark"},
	} {
		viewport(t, ctx, 1280, 900, th.scheme)
		do(t, ctx, chromedp.Navigate(origin+dashPrefix+"/theme?"+url.Values{"theme": {th.theme}, "back": {dashPrefix + "/"}}.Encode()), chromedp.WaitVisible("main h1"))
		for _, p := range dashPages {
			open(t, ctx, p.path)
			shot(t, ctx, dir, p.name+th.suffix)
		}
		open(t, ctx, "/experiments/cta-e2e")
		shot(t, ctx, dir, "experiment"+th.suffix)
		w.clean(t, "theme "+th.theme+th.scheme)
	}
	viewport(t, ctx, 390, 844, "light")
	do(t, ctx, chromedp.Navigate(origin+dashPrefix+"/theme?theme=&back="+url.QueryEscape(dashPrefix+"/")), chromedp.WaitVisible("main h1"))
	open(t, ctx, "/?site_id="+dashSite)
	if overflow := eval[bool](t, ctx, `document.documentElement.scrollWidth > innerWidth + 1`); overflow {
		t.Error("the dashboard is wider than a phone's screen")
	}
	shot(t, ctx, dir, "dashboard-phone")
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFile(dir, "dashboard-phone-top.png", png); err != nil {
		t.Fatal(err)
	}
	viewport(t, ctx, 1280, 1500, "light")
	open(t, ctx, "/?site_id="+dashSite)
	png, err = chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFile(dir, "dashboard-top.png", png); err != nil {
		t.Fatal(err)
	}
	w.clean(t, "themes")
}

// crossOrigin posts a write with the browser's session cookie from
// another origin: the CSRF check refuses it.
func crossOrigin(t *testing.T, ctx context.Context) {
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{origin}})
	if err != nil {
		t.Fatal(err)
	}
	var session string
	for _, c := range cookies.Cookies {
		if c.Name == "echelon_session" {
			session = c.Value
		}
	}
	req, _ := http.NewRequest("POST", origin+dashPrefix+"/bots/exclude", strings.NewReader("visitor_id=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://evil.example")
	req.AddCookie(&http.Cookie{Name: "echelon_session", Value: session})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if session == "" || res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin exclude with the session: %d (session %q), want 403", res.StatusCode, session)
	}
	if ex := api[[]map[string]any](t, "/api/bots/excluded"); len(ex) != 0 {
		t.Errorf("the cross-origin write excluded: %v", ex)
	}
}
