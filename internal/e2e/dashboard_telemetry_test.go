package e2e

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDashboard_TelemetryReportsPageNamesOnly: with telemetry_url set, the
// dashboard asks once; after the opt-in its pages report to that Echelon
// instance as site "ea": a pageview with a valid proof-of-work token whose
// path is the page's name, and events; no request there carries the page's
// real path, its query, a visitor id, a cookie or a referrer.
func TestDashboard_TelemetryReportsPageNamesOnly(t *testing.T) {
	startDashboard(t, true)
	ctx := newTab(t)
	w := watch(t, ctx, telemetryOrigin)
	viewport(t, ctx, 1280, 900, "light")
	open(t, ctx, "/login")
	do(t, ctx, chromedp.SendKeys("#username", dashUser), chromedp.SendKeys("#password", dashPassword))
	submit(t, ctx, "form.login button")
	if !strings.Contains(text(t, ctx, ".banner"), "Help improve Echelon Analytics?") {
		t.Fatal("no telemetry banner while undecided")
	}
	if n := len(w.sent()); n == 0 || slices.ContainsFunc(w.sent(), func(r string) bool { return strings.HasPrefix(r, telemetryOrigin) }) {
		t.Fatal("telemetry sent before the opt-in")
	}
	submit(t, ctx, `.banner form:has(input[value=true]) button`)
	if count(t, ctx, ".banner") != 0 || count(t, ctx, `script[src*="telemetry.js"]`) != 1 {
		t.Fatal("after the opt-in: want no banner and the telemetry script")
	}

	bot := api[[]map[string]any](t, "/api/bots/suspicious?site_id="+dashSite)[0]["visitor_id"].(string)
	open(t, ctx, "/bots/"+bot+"?secret=q")
	// A person reads for a moment before the first click; meanwhile the
	// page fetches the receiver's challenge and solves it.
	time.Sleep(2 * time.Second)
	do(t, ctx, chromedp.MouseClickXY(600, 120)) // a trusted click on the page title
	eval[bool](t, ctx, `scrollTo(0, document.body.scrollHeight); true`)

	// The receiver stores the pageview (flushed every 200 ms) as a clean
	// view: a pageview without a valid token would score 50 and count as a
	// bot, out of realtime's figures.
	var rt map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for {
		time.Sleep(200 * time.Millisecond)
		if rt = api[map[string]any](t, "/api/stats/realtime?site_id=ea"); rt["pageviews"].(float64) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no clean telemetry pageview stored; problems %v; requests: %v", w.take(), w.sent())
		}
	}
	if got, _ := json.Marshal(rt["active_paths"]); string(got) != `[{"path":"/bots","views":1}]` {
		t.Errorf("telemetry pageviews %s, want one of the page name /bots", got)
	}
	var toReceiver []string
	for _, r := range w.sent() {
		if strings.HasPrefix(r, telemetryOrigin) {
			toReceiver = append(toReceiver, r)
		}
	}
	if !slices.ContainsFunc(toReceiver, func(r string) bool { return strings.Contains(r, "/e ") && strings.Contains(r, "scroll_depth") }) {
		t.Errorf("no scroll_depth event sent: %v", toReceiver)
	}
	for _, r := range toReceiver {
		dec, _ := url.QueryUnescape(r)
		for _, leak := range []string{bot, "secret", dashPrefix, "localhost"} {
			if strings.Contains(r, leak) || strings.Contains(dec, leak) {
				t.Errorf("telemetry request carries %q: %s", leak, r)
			}
		}
	}
	w.clean(t, "telemetry")
}
