package echelon

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/internal/seed"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// writeControl matches any control that changes something: a form that
// posts, or the logout button.
var writeControl = regexp.MustCompile(`(?i)method="post"|>Logout<`)

// TestDashboard_PublicModeShowsEveryPageWithoutWriteControls: in public
// mode every page renders for anyone, the HTML holds no form that writes
// and no logout, and every write is refused, changing nothing.
func TestDashboard_PublicModeShowsEveryPageWithoutWriteControls(t *testing.T) {
	dir := startProxied(t, "public_mode\n\t\ttelemetry_url https://telemetry.example")
	now := time.Now().UTC()
	addRecords(t, dir, []storage.View{
		{CreatedAt: now.Add(-time.Minute), SiteID: "shop", VisitorID: "bot0000000000001", Path: "/", BotScore: 80},
		{CreatedAt: now.Add(-time.Minute), SiteID: "shop", VisitorID: "human00000000001", Path: "/", BotScore: 0},
	}, nil)
	st := sharedOf(t, dir).store
	if _, err := st.Exclude("human00000000001", "test", true, now); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateExperiment(storage.Experiment{ID: "exp", Name: "Exp", MetricEventType: "signup", Status: "draft", AllocationPercent: 100, CreatedAt: now,
		Variants: []storage.Variant{{ID: "a", Name: "A", Weight: 1, IsControl: true}, {ID: "b", Name: "B", Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateCampaign(storage.Campaign{ID: "camp", Name: "Camp", UTMCampaign: "camp", SiteID: "shop"}, now); err != nil {
		t.Fatal(err)
	}
	pages := append(dashPages, "/bots/bot0000000000001", "/visitors/human00000000001", "/experiments/exp", "/campaigns/camp")
	for _, p := range pages {
		res, body := dashDo(t, "GET", "/_echelon"+p+"?site_id=shop", nil, nil)
		if res.StatusCode != 200 {
			t.Errorf("GET %s: %d, want 200 without credentials", p, res.StatusCode)
			continue
		}
		if m := writeControl.FindString(body); m != "" {
			t.Errorf("GET %s: the page has a write control (%s)", p, m)
		}
		if !strings.Contains(body, `<meta name="robots" content="index, follow">`) {
			t.Errorf("GET %s: a public page is not indexable", p)
		}
		if strings.Contains(body, "Help improve Echelon") {
			t.Errorf("GET %s: the telemetry banner is shown in public mode", p)
		}
	}
	for _, w := range dashWrites {
		res, body := dashDo(t, "POST", "/_echelon"+w.path, w.form, nil)
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s: %d %.80s, want 403", w.path, res.StatusCode, body)
		}
	}
	if ex, ok, _ := st.Exclusion("v1"); ok {
		t.Errorf("a refused write excluded a visitor: %+v", ex)
	}
	if c, ok, _ := st.CampaignByID("camp"); !ok || c.Status != "active" {
		t.Errorf("a refused write changed the campaign: %+v %v", c, ok)
	}
	if _, err := st.ExperimentByID("e1"); err == nil {
		t.Error("a refused write created an experiment")
	}
	if res, _ := dashDo(t, "GET", "/_echelon/login", nil, nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("login page in public mode: %d, want a redirect to the dashboard", res.StatusCode)
	}
}

// TestDashboard_RobotsSitemapLLMsOnlyOnItsOwnHost: with admin_path / the
// dashboard is at /, the API at /api/…, and robots.txt, sitemap.xml and
// llms.txt are Echelon's: open in public mode, closed otherwise. (With the
// default admin_path they are the app's: TestAdminPath_AppKeepsItsOwnPaths.)
func TestDashboard_RobotsSitemapLLMsOnlyOnItsOwnHost(t *testing.T) {
	for _, public := range []bool{false, true} {
		body := "admin_path /"
		if public {
			body += "\n\t\tpublic_mode"
		}
		startProxied(t, body)
		res, robots := dashDo(t, "GET", "/robots.txt", nil, nil)
		want := "User-agent: *\nDisallow: /\n"
		if public {
			want = "User-agent: *\nAllow: /\nSitemap: " + baseURL + "/sitemap.xml\n"
		}
		if res.StatusCode != 200 || robots != want || res.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("public=%v robots.txt: %d %q %q, want %q", public, res.StatusCode, res.Header.Get("Content-Type"), robots, want)
		}
		res, sitemap := dashDo(t, "GET", "/sitemap.xml", nil, nil)
		urls := strings.Count(sitemap, "<url>")
		if res.StatusCode != 200 || !strings.Contains(sitemap, `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`) ||
			res.Header.Get("Content-Type") != "application/xml; charset=utf-8" || (public && urls != publicSitemapPages) || (!public && urls != 0) {
			t.Errorf("public=%v sitemap.xml: %d %s", public, res.StatusCode, sitemap)
		}
		if public && !strings.Contains(sitemap, "<loc>"+baseURL+"/realtime</loc><changefreq>daily</changefreq>") &&
			!strings.Contains(sitemap, "<loc>"+baseURL+"/realtime</loc>\n    <changefreq>daily</changefreq>") {
			t.Errorf("sitemap lacks the realtime page: %s", sitemap)
		}
		res, llms := dashDo(t, "GET", "/llms.txt", nil, nil)
		if public != (res.StatusCode == 200) || (public && !strings.Contains(llms, baseURL+"/campaigns")) {
			t.Errorf("public=%v llms.txt: %d %.100s", public, res.StatusCode, llms)
		}
		res, _ = dashDo(t, "GET", "/", nil, nil)
		if public != (res.StatusCode == 200) || (!public && res.Header.Get("Location") != "/login") {
			t.Errorf("public=%v dashboard at /: %d %s", public, res.StatusCode, res.Header.Get("Location"))
		}
		if res, body := dashDo(t, "GET", "/api/health", nil, nil); res.StatusCode != 200 || body != healthBody {
			t.Errorf("API at /api: %d %s", res.StatusCode, body)
		}
		unload(t)
	}
}

// publicSitemapPages is how many pages a public sitemap lists.
const publicSitemapPages = 11

// TestDashboard_NothingConfiguredExplainsInsteadOfLooping: with no secret
// and no login every page leads once to the login page, which explains
// what to configure and offers no form.
func TestDashboard_NothingConfiguredExplainsInsteadOfLooping(t *testing.T) {
	startCaddy(t, "")
	res, _ := dashDo(t, "GET", "/_echelon/bots", nil, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/_echelon/login?error=auth_not_configured" {
		t.Fatalf("page without any auth: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	res, body := dashDo(t, "GET", "/_echelon/login?error=auth_not_configured", nil, nil)
	if res.StatusCode != 200 || !strings.Contains(body, "No login is configured") || !strings.Contains(body, "hash-password") ||
		strings.Contains(body, `name="password"`) {
		t.Errorf("login page: %d, want the setup explanation and no form:\n%s", res.StatusCode, body)
	}
	res, body = dashDo(t, "POST", "/_echelon/login", url.Values{"username": {"a"}, "password": {"b"}}, nil)
	if res.StatusCode != 200 || !strings.Contains(body, "No login is configured") {
		t.Errorf("login post: %d", res.StatusCode)
	}
}

// TestDashboard_SecretOnlyTakesBearerAndExplainsLogin: a secret opens the
// pages to its bearer token; the login page says a browser needs a user.
func TestDashboard_SecretOnlyTakesBearerAndExplainsLogin(t *testing.T) {
	startProxied(t, "")
	res, body := dashDo(t, "GET", "/_echelon/", nil, http.Header{"Authorization": {"Bearer s3cret"}})
	if res.StatusCode != 200 || !strings.Contains(body, "<h1>Dashboard</h1>") || strings.Contains(body, ">Logout<") {
		t.Errorf("bearer dashboard: %d (a bearer has no session to log out of)", res.StatusCode)
	}
	if res, _ := dashDo(t, "GET", "/_echelon/", nil, http.Header{"Authorization": {"Bearer wrong"}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("wrong bearer: %d, want the login redirect", res.StatusCode)
	}
	if _, body := dashDo(t, "GET", "/_echelon/login", nil, nil); !strings.Contains(body, "Only a <code>secret</code> is configured") {
		t.Errorf("login page with a secret only:\n%s", body)
	}
}

// TestDashboard_SessionCookiesCSRFAndLogout: the login sets the session
// cookie (without Secure over plain HTTP), the site and days stick in
// cookies scoped to admin_path, a cross-origin write is refused with the
// CSRF error, and logout ends the session.
func TestDashboard_SessionCookiesCSRFAndLogout(t *testing.T) {
	dir := startProxied(t, dashLogin)
	addRecords(t, dir, []storage.View{{CreatedAt: time.Now().UTC(), SiteID: "shop", VisitorID: "v000000000000001", Path: "/"}}, nil)

	res, body := dashDo(t, "POST", "/_echelon/login", url.Values{"username": {dashUser}, "password": {"wrong"}}, nil)
	if res.StatusCode != 200 || !strings.Contains(body, "ACCESS DENIED — Invalid credentials.") || cookieLine(res, "echelon_session") != "" {
		t.Fatalf("wrong password: %d", res.StatusCode)
	}
	res, _ = dashDo(t, "POST", "/_echelon/login", url.Values{"username": {dashUser}, "password": {dashPassword}}, nil)
	line := cookieLine(res, "echelon_session")
	if !regexp.MustCompile(`^echelon_session=[0-9a-f-]{36}; Path=/; Max-Age=86400; HttpOnly; SameSite=Strict$`).MatchString(line) {
		t.Fatalf("session cookie %q", line)
	}
	sess := res.Cookies()[0]

	res, body = dashDo(t, "GET", "/_echelon/?site_id=shop&days=7", nil, nil, sess)
	if res.StatusCode != 200 || !strings.Contains(body, ">Logout<") {
		t.Fatalf("dashboard: %d", res.StatusCode)
	}
	for name, want := range map[string]string{
		"echelon_site": "echelon_site=shop; Path=/_echelon; Max-Age=31536000; HttpOnly; SameSite=Lax",
		"echelon_days": "echelon_days=7; Path=/_echelon; Max-Age=31536000; HttpOnly; SameSite=Lax",
	} {
		if got := cookieLine(res, name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	res, _ = dashDo(t, "GET", "/_echelon/bots?site_id=*", nil, nil, sess)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/_echelon/sites" || cookieLine(res, "echelon_site") != "" {
		t.Errorf("the site select's All sites: %d %s, want the All sites page and the site kept", res.StatusCode, res.Header.Get("Location"))
	}
	site, days := &http.Cookie{Name: "echelon_site", Value: "shop"}, &http.Cookie{Name: "echelon_days", Value: "7"}
	res, body = dashDo(t, "GET", "/_echelon/", nil, nil, sess, site, days)
	if cookieLine(res, "echelon_site") != "" || !strings.Contains(body, "<option selected>shop</option>") ||
		!strings.Contains(body, "<option selected>7</option>") || !strings.Contains(body, "Last 7 days") {
		t.Errorf("sticky site and days not applied, or cookies set again: %v", res.Header["Set-Cookie"])
	}

	for _, hdr := range []http.Header{{"Origin": {"http://evil.example"}}, {"Origin": {"null"}}, {"Origin": {""}, "Referer": {"http://evil.example/x"}}} {
		res, body = dashDo(t, "POST", "/_echelon/bots/exclude", url.Values{"visitor_id": {"v000000000000001"}}, hdr, sess)
		if res.StatusCode != http.StatusForbidden || body != `{"error":"CSRF validation failed — origin mismatch"}` {
			t.Errorf("cross-origin write %v: %d %s", hdr, res.StatusCode, body)
		}
	}
	if _, ok, _ := sharedOf(t, dir).store.Exclusion("v000000000000001"); ok {
		t.Fatal("a cross-origin write excluded the visitor")
	}
	res, _ = dashDo(t, "POST", "/_echelon/bots/exclude", url.Values{"visitor_id": {"v000000000000001"}, "back": {"/_echelon/bots"}}, nil, sess)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/_echelon/bots" {
		t.Errorf("same-origin exclude: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if _, ok, _ := sharedOf(t, dir).store.Exclusion("v000000000000001"); !ok {
		t.Error("the same-origin exclude did not exclude")
	}
	res, _ = dashDo(t, "POST", "/_echelon/bots/include", url.Values{"visitor_id": {"v000000000000001"}, "back": {"https://evil.example/"}}, nil, sess)
	if res.Header.Get("Location") != "/_echelon/bots/excluded" {
		t.Errorf("a back outside the dashboard was followed: %s", res.Header.Get("Location"))
	}

	res, _ = dashDo(t, "POST", "/_echelon/logout", url.Values{}, nil, sess)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/_echelon/login" ||
		cookieLine(res, "echelon_session") != "echelon_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" {
		t.Errorf("logout: %d %s %v", res.StatusCode, res.Header.Get("Location"), res.Header["Set-Cookie"])
	}
	if res, _ = dashDo(t, "GET", "/_echelon/", nil, nil, sess); res.StatusCode != http.StatusSeeOther {
		t.Errorf("dashboard after logout: %d, want the login redirect", res.StatusCode)
	}
}

// TestDashboard_LoginRateLimit: five failures from a client block its
// sixth and seventh attempt, the right password included, without
// checking them.
func TestDashboard_LoginRateLimit(t *testing.T) {
	startProxied(t, dashLogin)
	for i := 1; i <= 7; i++ {
		pw := "wrong"
		if i == 7 {
			pw = dashPassword
		}
		res, body := dashDo(t, "POST", "/_echelon/login", url.Values{"username": {dashUser}, "password": {pw}}, nil)
		want := "ACCESS DENIED — Invalid credentials."
		if i > 5 {
			want = "RATE LIMITED — Too many failed attempts. Try again later."
		}
		if res.StatusCode != 200 || !strings.Contains(body, want) || cookieLine(res, "echelon_session") != "" {
			t.Errorf("attempt %d: %d, want 200 with %q and no session", i, res.StatusCode, want)
		}
	}
}

// TestDashboard_TelemetryOnlyWithURL: without telemetry_url there is no
// banner, no toggle and no script, and the CSP names no other host; with
// it an undecided instance asks, and opting in adds the script and the
// telemetry origin to the CSP.
func TestDashboard_TelemetryOnlyWithURL(t *testing.T) {
	startProxied(t, "")
	bearer := http.Header{"Authorization": {"Bearer s3cret"}}
	res, body := dashDo(t, "GET", "/_echelon/settings", nil, bearer)
	if strings.Contains(body, "Help improve") || strings.Contains(body, "Telemetry") || strings.Contains(body, "telemetry.js") ||
		strings.Contains(res.Header.Get("Content-Security-Policy"), "http") {
		t.Errorf("telemetry shown without telemetry_url (CSP %q)", res.Header.Get("Content-Security-Policy"))
	}
	unload(t)

	startProxied(t, "telemetry_url https://telemetry.example:8443/x")
	res, body = dashDo(t, "GET", "/_echelon/settings", nil, bearer)
	if !strings.Contains(body, "Help improve Echelon Analytics?") || strings.Contains(body, "telemetry.js") {
		t.Errorf("undecided: want the banner and no script")
	}
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "connect-src 'self' https://telemetry.example:8443;") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	res, _ = dashDo(t, "POST", "/_echelon/settings/telemetry", url.Values{"optin": {"true"}, "back": {"/_echelon/settings"}}, bearer)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("opt in: %d", res.StatusCode)
	}
	_, body = dashDo(t, "GET", "/_echelon/settings", nil, bearer)
	if strings.Contains(body, "Help improve") || !strings.Contains(body, `telemetry.js`) || !strings.Contains(body, `id="telemetry-state">on<`) {
		t.Errorf("after opting in: want the script and no banner")
	}
	_, _, raw := apiCall(t, "GET", "/_echelon/api/telemetry", "", "s3cret")
	var st map[string]any
	if json.Unmarshal([]byte(raw), &st); st["telemetry"] != "on" {
		t.Errorf("API after opting in: %s", raw)
	}
}

// TestDashboard_UnknownPathIsAPage: a path under admin_path that is no
// page is answered with the dashboard's own 404 page, with the strict CSP.
func TestDashboard_UnknownPathIsAPage(t *testing.T) {
	startProxied(t, "")
	res, body := dashDo(t, "GET", "/_echelon/nope", nil, nil)
	if res.StatusCode != 404 || !strings.Contains(body, "<h1>Not Found</h1>") ||
		!strings.HasPrefix(res.Header.Get("Content-Security-Policy"), "default-src 'none'") || res.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("unknown page: %d %v", res.StatusCode, res.Header)
	}
}

// dashboardBudget is the most the dashboard page may weigh, its HTML (SVG
// charts included), CSS and JavaScript together, uncompressed.
const dashboardBudget = 60 << 10

// TestDashboard_PageWeight: the dashboard of a busy seeded site (every
// list full, 20 recent visitors and events, 60 + 24 + 31 chart buckets)
// weighs at most 60 KB with its stylesheet and script.
func TestDashboard_PageWeight(t *testing.T) {
	dir := startProxied(t, "")
	if _, err := seed.Write(sharedOf(t, dir).store, seed.Options{Site: "busy", Days: 30, Views: 30000, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	bearer := http.Header{"Authorization": {"Bearer s3cret"}}
	res, page := dashDo(t, "GET", "/_echelon/?site_id=busy&days=30", nil, bearer)
	if res.StatusCode != 200 || strings.Count(page, "<tr>") < 100 {
		t.Fatalf("dashboard: %d, %d table rows (want a full page)", res.StatusCode, strings.Count(page, "<tr>"))
	}
	total := len(page)
	assets := regexp.MustCompile(`(?:href|src)="(/_echelon/static/[^"]+\.(?:css|js)[^"]*)"`).FindAllStringSubmatch(page, -1)
	if len(assets) != 2 {
		t.Fatalf("want one stylesheet and one script, found %v", assets)
	}
	for _, a := range assets {
		res, body := dashDo(t, "GET", a[1], nil, nil)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", a[1], res.StatusCode)
		}
		total += len(body)
	}
	t.Logf("dashboard %d bytes: HTML %d, CSS and JS %d", total, len(page), total-len(page))
	if total > dashboardBudget {
		t.Errorf("the dashboard weighs %d bytes with its CSS and JS, over the %d budget", total, dashboardBudget)
	}
}

// TestDashboard_TimesInDisplayTimezone: pages show times in
// display_timezone, the API keeps UTC.
func TestDashboard_TimesInDisplayTimezone(t *testing.T) {
	dir := startProxied(t, "display_timezone Asia/Kolkata")
	at := time.Now().UTC().Add(-2 * time.Minute).Truncate(time.Minute)
	addRecords(t, dir, []storage.View{{CreatedAt: at, SiteID: "shop", VisitorID: "v000000000000009", Path: "/tz"}}, nil)
	_, body := dashDo(t, "GET", "/_echelon/pageviews?site_id=shop", nil, http.Header{"Authorization": {"Bearer s3cret"}})
	local := at.In(time.FixedZone("IST", 5*3600+1800)).Format("2006-01-02 15:04")
	if !strings.Contains(body, "<td>"+local+"</td>") || !strings.Contains(body, "times in Asia/Kolkata") {
		t.Errorf("page views do not show %s (IST for %s UTC)", local, at.Format("15:04"))
	}
}
