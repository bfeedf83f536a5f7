package e2e

// The tracker's behaviours (docs/tracker.md, Pageviews and Events):
// what a real browser makes ea.js send, read back from the store.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// event is a stored event with its data decoded.
type event struct {
	storage.Event
	D map[string]any
}

func decodeEvents(t *testing.T, stored []storage.Event) []event {
	t.Helper()
	out := make([]event, len(stored))
	for i, e := range stored {
		out[i].Event = e
		if err := json.Unmarshal([]byte(e.Data), &out[i].D); err != nil {
			t.Fatalf("event %d (%s): data %q: %v", i, e.EventType, e.Data, err)
		}
	}
	return out
}

// ofType returns the events of type typ.
func ofType(evs []event, typ string) []event {
	var out []event
	for _, e := range evs {
		if e.EventType == typ {
			out = append(out, e)
		}
	}
	return out
}

// types lists the events' types, sorted: events go in separate requests,
// which may arrive in any order.
func types(evs []event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.EventType
	}
	slices.Sort(out)
	return out
}

// wantTypes checks the stored events' types, in any order.
func wantTypes(t *testing.T, evs []event, want ...string) {
	t.Helper()
	want = slices.Clone(want)
	slices.Sort(want)
	if got := types(evs); !slices.Equal(got, want) {
		t.Fatalf("stored events %v; want %v", got, want)
	}
}

// one returns the only event of type typ whose data has key = val.
func one(t *testing.T, evs []event, typ, key string, val any) event {
	t.Helper()
	var found []event
	for _, e := range ofType(evs, typ) {
		if e.D[key] == val {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s events with %s = %v, want 1: %v", len(found), typ, key, val, types(evs))
	}
	return found[0]
}

// behaviour drops the web vitals: any page's first click sends LCP, and
// the tests other than the vitals one leave them aside.
func behaviour(evs []event) []event {
	return slices.DeleteFunc(slices.Clone(evs), func(e event) bool { return e.EventType == "web_vital" })
}

// wantData checks that e's data is exactly want (JSON numbers as float64).
func wantData(t *testing.T, e event, want map[string]any) {
	t.Helper()
	if !maps.Equal(e.D, want) {
		t.Errorf("%s data = %s; want %s", e.EventType, e.Data, mustJSON(want))
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// checkEvents checks what every event of the tab carries: the tab's
// session, the path it was sent from (a string starting with /), and the
// session's proof-of-work token, which the server scores as valid.
func checkEvents(t *testing.T, evs []event, sid string) {
	t.Helper()
	if len(evs) == 0 {
		t.Fatal("no events stored")
	}
	for i, e := range evs {
		if e.SessionID != sid {
			t.Errorf("event %d (%s): session_id = %q, want the tab's %q", i, e.EventType, e.SessionID, sid)
		}
		if p, _ := e.D["path"].(string); !strings.HasPrefix(p, "/") || strings.Contains(p, "?") {
			t.Errorf("event %d (%s): path = %v, want a pathname", i, e.EventType, e.D["path"])
		}
		if e.BotScore != 0 || e.BotScoreDetail != powValid {
			t.Errorf("event %d (%s): bot_score %d, detail %s; want 0 and %s (the session's token)", i, e.EventType, e.BotScore, e.BotScoreDetail, powValid)
		}
	}
}

// powResult is the pow_result of a stored score detail.
func powResult(t *testing.T, detail string) string {
	t.Helper()
	var d struct {
		Result string `json:"pow_result"`
	}
	if err := json.Unmarshal([]byte(detail), &d); err != nil {
		t.Fatalf("score detail %q: %v", detail, err)
	}
	return d.Result
}

const eventsJS = `performance.getEntriesByType("resource")
	.filter(e => new URL(e.name).pathname === "/e").length`

// waitEvents waits until the current document has completed n event
// requests (one event each) and returns how many it completed.
func waitEvents(t *testing.T, ctx context.Context, n int) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := eval[int](t, ctx, eventsJS)
		if got >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("page completed %d event requests in 5 s, want %d", got, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// settle waits until no event request completed for quiet, so that
// nothing is in flight when the test reads the store.
func settle(t *testing.T, ctx context.Context, quiet time.Duration) int {
	t.Helper()
	n, since := eval[int](t, ctx, eventsJS), time.Now()
	for time.Since(since) < quiet {
		time.Sleep(50 * time.Millisecond)
		if m := eval[int](t, ctx, eventsJS); m != n {
			n, since = m, time.Now()
		}
	}
	return n
}

func sessionOf(t *testing.T, ctx context.Context) string {
	t.Helper()
	return eval[string](t, ctx, `sessionStorage.getItem("_esid")`)
}

// visit navigates to path and checks that ea.js runs there.
func visit(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	do(t, ctx, chromedp.Navigate(origin+path))
	trackerLoaded(t, ctx)
}

// loadFrom navigates to path as if from a link on referrer.
func loadFrom(t *testing.T, ctx context.Context, path, referrer string) {
	t.Helper()
	tctx, cancel := timeout(ctx)
	defer cancel()
	nav := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, page.Navigate, page.NavigateParams{URL: origin + path, Referrer: referrer})
		if err == nil && res.ErrorText != "" {
			err = fmt.Errorf("load %s: %s", path, res.ErrorText)
		}
		return err
	})
	if _, err := chromedp.Run(tctx, chromedp.WaitEvent(page.LoadEventFired, nil, nav)); err != nil {
		t.Fatal(err)
	}
	trackerLoaded(t, ctx)
}

// landed loads path and sends its pageview with a click past the gate.
func landed(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	visit(t, ctx, path)
	time.Sleep(1100 * time.Millisecond)
	do(t, ctx, clickBody())
	waitBeacons(t, ctx, 1)
}

// move moves the mouse (no button) to x, y.
func move(x, y float64) chromedp.Action[chromedp.Void] {
	return chromedp.MouseEvent(chromedp.MouseMoved, x, y)
}

// hide minimizes the window (the page turns hidden) and restores it.
func hideAndShow(t *testing.T, ctx context.Context) {
	t.Helper()
	setWindowState(t, ctx, browser.WindowStateMinimized)
	time.Sleep(200 * time.Millisecond)
	setWindowState(t, ctx, browser.WindowStateNormal)
}

func TestEvents_SPANavigationSendsFreshViews(t *testing.T) {
	ctx := newTab(t)
	srv := startServer(t)

	// The landing view: gated, with the search engine as referrer. The
	// page changes its URL before any interaction: no view yet, the gated
	// one reports the new URL.
	loadFrom(t, ctx, "/spa.html", "http://www.google.com/search?q=echelon")
	eval[chromedp.Void](t, ctx, `history.replaceState({}, "", "/spa.html?canonical=1")`)
	time.Sleep(1100 * time.Millisecond)
	if n := len(beacons(t, ctx)); n != 0 {
		t.Fatalf("a route change before any interaction sent %d beacons", n)
	}
	do(t, ctx, clickBody())
	waitBeacons(t, ctx, 1)

	route := func(js string) { eval[chromedp.Void](t, ctx, js) }
	route(`history.pushState({}, "", "/spa/a?x=1")`)
	waitBeacons(t, ctx, 2)
	route(`history.pushState({}, "", "/spa/a?x=1#part")`)    // only the hash changes: no view
	route(`history.replaceState({r: 1}, "", location.href)`) // nothing changes: no view
	route(`history.pushState({}, "", "/spa/b?utm_campaign=summer&utm_source=mail")`)
	waitBeacons(t, ctx, 3)
	route(`history.back()`) // popstate, back to /spa/a?x=1#part
	sent := waitBeacons(t, ctx, 4)
	time.Sleep(300 * time.Millisecond)
	if sent = beacons(t, ctx); len(sent) != 4 {
		t.Fatalf("page sent %d beacons, want 4 (landing and three routes)", len(sent))
	}
	sid := sessionOf(t, ctx)

	wantPaths := []string{"/spa.html?canonical=1", "/spa/a?x=1", "/spa/b?utm_campaign=summer&utm_source=mail", "/spa/a?x=1"}
	toks := map[string]bool{}
	for i, b := range sent {
		q := b.query(t)
		if got := b.text(t, "p"); got != wantPaths[i] {
			t.Errorf("beacon %d: p = %q, want %q", i, got, wantPaths[i])
		}
		tok := q.Get("tok")
		if tok == "" || toks[tok] {
			t.Errorf("beacon %d: tok %q; want a fresh token for every view", i, tok)
		}
		toks[tok] = true
		tokenLast(t, strings.SplitN(b.Name, "?", 2)[1])
		if i == 0 {
			if q.Get("_v") == "spa" || !q.Has("ref") {
				t.Errorf("landing beacon: _v %q, ref %q; want ms and the referrer", q.Get("_v"), q.Get("ref"))
			}
			continue
		}
		if q.Get("_v") != "spa" || q.Has("ref") {
			t.Errorf("beacon %d: _v %q, ref %q; want spa and no ref", i, q.Get("_v"), q.Get("ref"))
		}
	}
	// The campaign of a route applies to the later ones of the session.
	for i, want := range []string{"", "", "summer", "summer"} {
		if got := sent[i].text(t, "uc"); got != want {
			t.Errorf("beacon %d: uc = %q, want %q", i, got, want)
		}
	}
	if got := eval[string](t, ctx, `JSON.parse(sessionStorage.getItem("_eutm")).c`); got != "summer" {
		t.Errorf("_eutm campaign = %q, want summer", got)
	}

	views := srv.views()
	if len(views) != 4 {
		t.Fatalf("stored %d views, want 4: %+v", len(views), views)
	}
	for i, v := range views {
		if v.Path != wantPaths[i] || v.SessionID != sid {
			t.Errorf("view %d: path %q, session %q; want %q, %q", i, v.Path, v.SessionID, wantPaths[i], sid)
		}
		// Every view's token is fresh: none is scored as replayed. (The
		// SPA views to two-segment paths have no external referrer, which
		// scores 5: the referrer signal of docs/bot-defense.md.)
		if got := powResult(t, v.BotScoreDetail); got != "valid" || v.BotScore > 5 {
			t.Errorf("view %d (%s): bot_score %d, detail %s; want pow_result valid", i, v.Path, v.BotScore, v.BotScoreDetail)
		}
		wantMS, wantRef := int64(0), "direct_or_unknown"
		if i == 0 {
			wantMS, wantRef = interaction(t, sent[0]), "http://www.google.com"
			if wantMS < 1000 {
				t.Errorf("landing view interaction_ms %d, want at least 1000", wantMS)
			}
		}
		if v.InteractionMS != wantMS || v.Referrer != wantRef {
			t.Errorf("view %d (%s): interaction_ms %d, referrer %q; want %d, %q", i, v.Path, v.InteractionMS, v.Referrer, wantMS, wantRef)
		}
	}
	if views[0].ReferrerType != "search" {
		t.Errorf("landing referrer_type = %q, want search", views[0].ReferrerType)
	}
}

func TestEvents_BounceSessionEndAndResume(t *testing.T) {
	ctx := newTab(t)
	srv := startServer(t)

	// data-bounce-ms="1500": no interaction for 1.5 s is a bounce.
	visit(t, ctx, "/bounce.html")
	waitEvents(t, ctx, 1)
	// An interaction afterwards sends the view, but no second bounce.
	do(t, ctx, clickBody())
	waitBeacons(t, ctx, 1)
	// A new route resets the bounce state; hidden before any interaction
	// there is a bounce too. Hidden also ends the session, visible resumes.
	eval[chromedp.Void](t, ctx, `history.pushState({}, "", "/bounce/next?q=1")`)
	waitBeacons(t, ctx, 2)
	hideAndShow(t, ctx)
	waitEvents(t, ctx, 4)
	time.Sleep(1800 * time.Millisecond) // past the next route's timer: no bounce
	sid := sessionOf(t, ctx)
	settle(t, ctx, 300*time.Millisecond)

	views, stored := srv.stored()
	if len(views) != 2 {
		t.Errorf("stored %d views, want 2", len(views))
	}
	evs := decodeEvents(t, stored)
	checkEvents(t, evs, sid)
	evs = behaviour(evs)
	wantTypes(t, evs, "bounce", "bounce", "session_end", "session_resume")
	timeout, unload := one(t, evs, "bounce", "trigger", "timeout"), one(t, evs, "bounce", "trigger", "unload")
	if timeout.D["path"] != "/bounce.html" || len(timeout.D) != 3 {
		t.Errorf("timeout bounce %s; want dwell, trigger and path /bounce.html", timeout.Data)
	}
	if d, _ := timeout.D["dwell"].(float64); d < 1 || d > 3 {
		t.Errorf("timeout bounce dwell %v s; want about 1.5 s", timeout.D["dwell"])
	}
	if unload.D["path"] != "/bounce/next" || unload.D["dwell"] != float64(0) {
		t.Errorf("unload bounce %s; want dwell 0 on /bounce/next", unload.Data)
	}
	end, resume := ofType(evs, "session_end")[0], ofType(evs, "session_resume")[0]
	if d, ok := end.D["dwell_s"].(float64); !ok || d < 0 || d > 2 || len(end.D) != 2 {
		t.Errorf("session_end %s; want dwell_s, the seconds on the route, and path", end.Data)
	}
	if a, ok := resume.D["away_s"].(float64); !ok || a < 0 || a > 2 || len(resume.D) != 2 {
		t.Errorf("session_resume %s; want away_s, the seconds hidden, path and no bfcache", resume.Data)
	}
}

func TestEvents_ScrollMilestones(t *testing.T) {
	ctx := newTab(t)
	srv := startServer(t)

	landed(t, ctx, "/scroll.html")
	// Real key input: End scrolls the document to the bottom.
	do(t, ctx, chromedp.KeyEvent(kb.End))
	waitEvents(t, ctx, 5)
	if y := eval[float64](t, ctx, `scrollY`); y < 4000 {
		t.Fatalf("scrollY %.0f after End; the page did not scroll to the bottom", y)
	}
	// Back up and down again: each milestone only once.
	do(t, ctx, chromedp.KeyEvent(kb.Home))
	time.Sleep(300 * time.Millisecond)
	do(t, ctx, chromedp.KeyEvent(kb.End))
	sid := sessionOf(t, ctx)
	settle(t, ctx, 500*time.Millisecond)

	_, stored := srv.stored()
	evs := decodeEvents(t, stored)
	checkEvents(t, evs, sid)
	var depths []float64
	for _, e := range ofType(evs, "scroll_depth") {
		d, _ := e.D["depth"].(float64)
		depths = append(depths, d)
		if len(e.D) != 2 || e.D["path"] != "/scroll.html" {
			t.Errorf("scroll_depth data %s; want depth and path /scroll.html", e.Data)
		}
	}
	slices.Sort(depths)
	if !slices.Equal(depths, []float64{25, 50, 75, 90, 100}) {
		t.Errorf("scroll_depth depths %v; want 25, 50, 75, 90, 100, each once (events %v)", depths, types(evs))
	}
}

func TestEvents_ClickAndHoverAttributes(t *testing.T) {
	ctx := newTab(t)
	srv := startServer(t)

	landed(t, ctx, "/click.html")
	// Hover: in, to the child and back (no restart), 1.3 s in all.
	do(t, ctx, move(450, 60))
	time.Sleep(400 * time.Millisecond)
	do(t, ctx, move(550, 170)) // the inner child
	time.Sleep(400 * time.Millisecond)
	do(t, ctx, move(420, 300))
	time.Sleep(300 * time.Millisecond)
	do(t, ctx, move(560, 180))
	time.Sleep(700 * time.Millisecond) // 1.8 s since entering
	// Out, in for 0.5 s, out: cancelled, nothing.
	do(t, ctx, move(300, 500))
	time.Sleep(100 * time.Millisecond)
	do(t, ctx, move(450, 60))
	time.Sleep(500 * time.Millisecond)
	do(t, ctx, move(300, 500))
	time.Sleep(1100 * time.Millisecond)

	// Clicks: on the child of a tagged button, on an element with too
	// many attributes, and on an untagged one.
	do(t, ctx,
		chromedp.Click(chromedp.ID("buyLabel")),
		chromedp.Click(chromedp.ID("many")),
		chromedp.Click(chromedp.ID("plain")),
	)
	eval[chromedp.Void](t, ctx, `document.getElementById("buy").click()`) // untrusted: ignored
	waitEvents(t, ctx, 3)
	sid := sessionOf(t, ctx)
	settle(t, ctx, 300*time.Millisecond)

	_, stored := srv.stored()
	evs := decodeEvents(t, stored)
	checkEvents(t, evs, sid)
	evs = behaviour(evs)
	hovers := ofType(evs, "hover")
	if len(hovers) != 1 {
		t.Fatalf("stored %d hover events, want exactly 1 (once per entry): %v", len(hovers), types(evs))
	}
	wantData(t, hovers[0], map[string]any{"hover": "pricing", "tier": "gold", "tag": "DIV", "path": "/click.html"})

	// Clicks on the two tagged elements only.
	wantTypes(t, evs, "hover", "click", "click")
	// Built-in fields win over data-echelon-tag and data-echelon-path.
	wantData(t, one(t, evs, "click", "click", "buy"), map[string]any{"click": "buy", "planType": "pro", "tag": "BUTTON", "path": "/click.html"})
	// At most 8 attributes besides the trigger, in document order.
	want := map[string]any{"click": "many", "tag": "DIV", "path": "/click.html"}
	for i := 1; i <= 8; i++ {
		want[fmt.Sprintf("a%d", i)] = fmt.Sprint(i)
	}
	wantData(t, one(t, evs, "click", "click", "many"), want)
}

func TestEvents_OutboundAndDownloadLinks(t *testing.T) {
	ctx := newTab(t)
	srv := startServer(t)

	landed(t, ctx, "/links.html")
	for _, id := range []string{"out", "file", "local", "mail", "inside"} {
		do(t, ctx, chromedp.Click(chromedp.ID(id)))
	}
	if p := eval[string](t, ctx, `location.pathname`); p != "/links.html" {
		t.Fatalf("the page navigated to %s; the test page cancels link navigation", p)
	}
	waitEvents(t, ctx, 5)
	sid := sessionOf(t, ctx)
	settle(t, ctx, 300*time.Millisecond)

	_, stored := srv.stored()
	evs := decodeEvents(t, stored)
	checkEvents(t, evs, sid)
	evs = behaviour(evs)
	// outbound (the link), outbound and download (the PDF, which is not a
	// click too), download (the CSV), click (the same-origin link); none
	// for mailto.
	wantTypes(t, evs, "outbound", "outbound", "download", "download", "click")
	const path = "/links.html"
	wantData(t, one(t, evs, "outbound", "text", "Example site"),
		map[string]any{"url": "http://example.invalid/about?q=1", "host": "example.invalid", "text": "Example site", "path": path})
	wantData(t, one(t, evs, "outbound", "text", "Get the PDF"),
		map[string]any{"url": "http://example.invalid/file.pdf", "host": "example.invalid", "text": "Get the PDF", "path": path})
	wantData(t, one(t, evs, "download", "ext", "pdf"),
		map[string]any{"url": "http://example.invalid/file.pdf", "file": "file.pdf", "ext": "pdf", "path": path})
	wantData(t, one(t, evs, "download", "ext", "csv"),
		map[string]any{"url": origin + "/files/Data%20Set.CSV", "file": "Data Set.CSV", "ext": "csv", "path": path})
	wantData(t, one(t, evs, "click", "click", "nav"), map[string]any{"click": "nav", "tag": "A", "path": path})
}

// formSteps fills the form page: the text field, the password field, then
// the submit button; each move of focus commits the previous field.
func formSteps(t *testing.T, ctx context.Context, path string) string {
	t.Helper()
	landed(t, ctx, path)
	do(t, ctx,
		chromedp.Click(chromedp.ID("email")),
		chromedp.KeyEvent("hello world"),
		chromedp.Click(chromedp.ID("pw")),
		chromedp.KeyEvent("s3cret!"),
		chromedp.Click(chromedp.ID("send")),
	)
	if p := eval[string](t, ctx, `location.pathname`); p != path {
		t.Fatalf("the page navigated to %s; the test page cancels the submission", p)
	}
	waitEvents(t, ctx, 5)
	sid := sessionOf(t, ctx)
	settle(t, ctx, 300*time.Millisecond)
	return sid
}

// checkForm checks the five form events; value is what the text field's
// form_blur carries as value, "" for none.
func checkForm(t *testing.T, evs []event, path, value string) {
	t.Helper()
	evs = behaviour(evs)
	wantTypes(t, evs, "form_focus", "form_blur", "form_focus", "form_blur", "form_submit")
	field := func(name, typ string, extra map[string]any) map[string]any {
		m := map[string]any{"tag": "INPUT", "input_type": typ, "field_name": name, "form_id": "signup", "form_name": "signupForm", "path": path}
		maps.Copy(m, extra)
		return m
	}
	wantData(t, one(t, evs, "form_focus", "field_name", "email"), field("email", "text", nil))
	blur := map[string]any{"value_length": float64(11)}
	if value != "" {
		blur["value"] = value
	}
	wantData(t, one(t, evs, "form_blur", "field_name", "email"), field("email", "text", blur))
	wantData(t, one(t, evs, "form_focus", "field_name", "secret"), field("secret", "password", nil))
	// Never a password's value.
	wantData(t, one(t, evs, "form_blur", "field_name", "secret"), field("secret", "password", map[string]any{"value_length": float64(7)}))
	wantData(t, ofType(evs, "form_submit")[0], map[string]any{"action": origin + "/submit?x=1", "method": "POST", "id": "signup", "name": "signupForm", "label": "Sign up", "path": path})
}

func TestEvents_FormsWithoutValues(t *testing.T) {
	ctx := newTab(t)
	srv := startServer(t)
	sid := formSteps(t, ctx, "/form.html")
	_, stored := srv.stored()
	evs := decodeEvents(t, stored)
	checkEvents(t, evs, sid)
	checkForm(t, evs, "/form.html", "")
}

func TestEvents_FormValuesOnRequest(t *testing.T) {
	ctx := newTab(t)
	srv := startServer(t)
	sid := formSteps(t, ctx, "/formvalues.html")
	_, stored := srv.stored()
	evs := decodeEvents(t, stored)
	checkEvents(t, evs, sid)
	checkForm(t, evs, "/formvalues.html", "hello world")
}

// rating is the tracker's Web Vitals rating of a raw metric value.
func rating(raw, good, poor float64) string {
	switch {
	case raw <= good:
		return "good"
	case raw <= poor:
		return "needs-improvement"
	}
	return "poor"
}

func TestEvents_WebVitals(t *testing.T) {
	ctx := newTab(t)
	srv := startServer(t)

	// The layout shift comes 600 ms after load, before any input. The
	// click sends LCP; its slow handler makes the INP.
	landed(t, ctx, "/vitals.html")
	waitEvents(t, ctx, 1)
	hideAndShow(t, ctx) // CLS and INP, and the session's end and resume
	// Hidden again: no vital a second time.
	hideAndShow(t, ctx)
	sid := sessionOf(t, ctx)
	settle(t, ctx, 500*time.Millisecond)

	_, stored := srv.stored()
	evs := decodeEvents(t, stored)
	checkEvents(t, evs, sid)
	vitals := map[string]event{}
	for _, e := range ofType(evs, "web_vital") {
		m, _ := e.D["metric"].(string)
		if _, dup := vitals[m]; dup {
			t.Errorf("%s sent twice", m)
		}
		vitals[m] = e
		if len(e.D) != 4 || e.D["path"] != "/vitals.html" {
			t.Errorf("web_vital data %s; want metric, value, rating, path", e.Data)
		}
	}
	limits := map[string][3]float64{ // good, poor, scale of the sent value
		"LCP": {2500, 4000, 1},
		"CLS": {0.1, 0.25, 1000},
		"INP": {200, 500, 1},
	}
	for _, m := range []string{"LCP", "CLS", "INP"} {
		e, ok := vitals[m]
		if !ok {
			t.Errorf("no %s stored: %v", m, types(evs))
			continue
		}
		v, _ := e.D["value"].(float64)
		l := limits[m]
		if v <= 0 || v != float64(int64(v)) {
			t.Errorf("%s value %v; want a positive integer", m, e.D["value"])
		}
		if want := rating(v/l[2], l[0], l[1]); e.D["rating"] != want {
			t.Errorf("%s value %v rated %v; want %s", m, v, e.D["rating"], want)
		}
	}
	// Event timing rounds durations to 8 ms.
	if v, _ := vitals["INP"].D["value"].(float64); v < 242 {
		t.Errorf("INP %v ms; the click handler took 250 ms", v)
	}
}

func TestEvents_CustomTrackLimits(t *testing.T) {
	ctx := newTab(t)
	srv := startServer(t, "secret "+dashSecret)
	// Events keep a utm_campaign only when it is an active campaign.
	apiSend(t, "POST", "/api/campaigns", `{"id":"launch","name":"Launch","utm_campaign":"launch","site_id":"`+site+`"}`)

	landed(t, ctx, "/spa.html?utm_campaign=launch&utm_source=news")
	// Own keys in order: three that are skipped, path (overwrites the
	// built-in one), a long key with a long value, then k00..k14; only the
	// first 16 kept. An inherited key is not own.
	eval[chromedp.Void](t, ctx, `(function () {
		var p = JSON.parse('{"__proto__": "x", "constructor": "c", "prototype": "p"}');
		p.path = "/custom/path";
		p["K".repeat(100)] = "v".repeat(600);
		for (var i = 0; i < 15; i++) p["k" + String(i).padStart(2, "0")] = i;
		echelon.track("signup", p);
		echelon.track("n".repeat(200), Object.create({inherited: 1}));
		echelon.track("renamed", {name: "other", nothing: null, list: [1, 2]});
	})()`)
	waitEvents(t, ctx, 3)
	sid := sessionOf(t, ctx)
	settle(t, ctx, 300*time.Millisecond)

	_, stored := srv.stored()
	evs := decodeEvents(t, stored)
	checkEvents(t, evs, sid)
	custom := ofType(evs, "custom")
	if len(custom) != 3 {
		t.Fatalf("stored %d custom events, want 3: %v", len(custom), types(evs))
	}
	want := map[string]any{"name": "signup", "path": "/custom/path", strings.Repeat("K", 64): strings.Repeat("v", 512)}
	for i := range 14 {
		want[fmt.Sprintf("k%02d", i)] = fmt.Sprint(i)
	}
	wantData(t, one(t, evs, "custom", "name", "signup"), want)
	wantData(t, one(t, evs, "custom", "name", strings.Repeat("n", 128)), map[string]any{"name": strings.Repeat("n", 128), "path": "/spa.html"})
	wantData(t, one(t, evs, "custom", "name", "other"), map[string]any{"name": "other", "nothing": "null", "list": "1,2", "path": "/spa.html"})
	for i, e := range custom {
		if e.UTMCampaign != "launch" {
			t.Errorf("custom %d: utm_campaign %q, want the session's launch", i, e.UTMCampaign)
		}
	}
}

func TestEvents_OptOutsSendNothing(t *testing.T) {
	ctx := newTab(t)
	srv := startServer(t)

	landed(t, ctx, "/optout.html")
	do(t, ctx,
		chromedp.Click(chromedp.ID("buyLabel")),
		move(450, 60), chromedp.Sleep(600*time.Millisecond), move(550, 170), chromedp.Sleep(700*time.Millisecond),
		chromedp.Click(chromedp.ID("out")),
		chromedp.Click(chromedp.ID("file")),
		chromedp.Click(chromedp.ID("local")),
		chromedp.Click(chromedp.ID("email")),
		chromedp.KeyEvent("typed"),
		chromedp.Click(chromedp.ID("send")),
		chromedp.KeyEvent(kb.End),
		chromedp.Sleep(300*time.Millisecond),
	)
	if p := eval[string](t, ctx, `location.pathname`); p != "/optout.html" {
		t.Fatalf("the page navigated to %s", p)
	}
	if y := eval[float64](t, ctx, `scrollY`); y < 4000 {
		t.Fatalf("scrollY %.0f after End; the page did not scroll to the bottom", y)
	}
	hideAndShow(t, ctx)
	eval[chromedp.Void](t, ctx, `echelon.track("still", {on: 1})`)
	waitEvents(t, ctx, 3)
	sid := sessionOf(t, ctx)
	settle(t, ctx, 500*time.Millisecond)

	views, stored := srv.stored()
	if len(views) != 1 || views[0].Path != "/optout.html" {
		t.Errorf("stored views %+v; want the one pageview", views)
	}
	evs := decodeEvents(t, stored)
	checkEvents(t, evs, sid)
	// What no opt-out covers still goes: the session's end and resume, and
	// custom events.
	wantTypes(t, evs, "session_end", "session_resume", "custom")
}

func TestEvents_BFCacheRestoreResumes(t *testing.T) {
	ctx := newTab(t)
	srv := startServer(t)

	landed(t, ctx, "/")
	eval[chromedp.Void](t, ctx, `window.kept = 1`)
	tctx, cancel := timeout(ctx)
	defer cancel()
	if _, err := chromedp.Run(tctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.ID("next")))); err != nil {
		t.Fatalf("follow the link: %v", err)
	}
	trackerLoaded(t, ctx)
	// Back without waiting for a load: a page restored from the
	// back/forward cache fires pageshow, not load.
	h, err := chromedp.Run(tctx, chromedp.NavigationEntries())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tctx, page.NavigateToHistoryEntry, page.NavigateToHistoryEntryParams{EntryID: h.Entries[h.CurrentIndex-1].ID}); err != nil {
		t.Fatal(err)
	}
	for eval[string](t, ctx, "location.pathname") != "/" {
		if tctx.Err() != nil {
			t.Fatal("did not go back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !eval[bool](t, ctx, `window.kept === 1`) {
		t.Fatal("the page was loaded anew, not restored from the back/forward cache")
	}
	sid := sessionOf(t, ctx)
	settle(t, ctx, 500*time.Millisecond)

	_, stored := srv.stored()
	evs := decodeEvents(t, stored)
	checkEvents(t, evs, sid)
	evs = behaviour(evs)
	// Home ends and resumes; page 2 (no interaction) bounces and ends.
	wantTypes(t, evs, "session_end", "session_resume", "bounce", "session_end")
	resume := ofType(evs, "session_resume")[0]
	if a, ok := resume.D["away_s"].(float64); !ok || a < 0 || a > 5 {
		t.Errorf("session_resume away_s %v; want the seconds away", resume.D["away_s"])
	}
	wantData(t, resume, map[string]any{"away_s": resume.D["away_s"], "bfcache": true, "path": "/"})
	one(t, evs, "session_end", "path", "/")
	one(t, evs, "session_end", "path", "/page2.html")
	one(t, evs, "bounce", "trigger", "unload")
}

func TestEvents_XHRWithoutSendBeacon(t *testing.T) {
	ctx := newTab(t)
	srv := startServer(t)

	landed(t, ctx, "/nobeacon.html")
	if eval[bool](t, ctx, `"sendBeacon" in navigator`) {
		t.Fatal("the page still has sendBeacon")
	}
	eval[chromedp.Void](t, ctx, `echelon.track("by-xhr", {n: 1})`)
	waitEvents(t, ctx, 2) // LCP (the click) and the custom event
	kinds := eval[[]string](t, ctx, `performance.getEntriesByType("resource")
		.filter(e => new URL(e.name).pathname === "/e").map(e => e.initiatorType)`)
	for _, k := range kinds {
		if k != "xmlhttprequest" {
			t.Errorf("event requests by %v; want xmlhttprequest only", kinds)
			break
		}
	}
	sid := sessionOf(t, ctx)
	settle(t, ctx, 300*time.Millisecond)

	_, stored := srv.stored()
	evs := decodeEvents(t, stored)
	checkEvents(t, evs, sid)
	wantData(t, one(t, evs, "custom", "name", "by-xhr"), map[string]any{"name": "by-xhr", "n": "1", "path": "/nobeacon.html"})
}

// On a site of another origin, as deployed: the events' JSON Blob needs a
// CORS preflight, which the server must answer with the origin and
// credentials, or sendBeacon's request fails.
func TestEvents_CrossOriginPage(t *testing.T) {
	ctx := newTab(t)
	srv := startServer(t)
	pageHTML := strings.Replace(eventPage("", "", `<p>elsewhere</p>`), `src="/ea.js`, `src="`+origin+`/ea.js`, 1)
	if !strings.Contains(pageHTML, origin+"/ea.js") {
		t.Fatal("the page does not load ea.js from the server's origin")
	}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(pageHTML))
	}))
	defer other.Close()

	do(t, ctx, chromedp.Navigate(other.URL+"/shop"))
	trackerLoaded(t, ctx)
	time.Sleep(1100 * time.Millisecond)
	do(t, ctx, clickBody())
	waitBeacons(t, ctx, 1)
	eval[chromedp.Void](t, ctx, `echelon.track("elsewhere", {n: 2})`)
	waitEvents(t, ctx, 2) // LCP (the click) and the custom event
	kinds := eval[[]string](t, ctx, `performance.getEntriesByType("resource")
		.filter(e => new URL(e.name).pathname === "/e").map(e => e.initiatorType + " " + e.responseStatus)`)
	for _, k := range kinds {
		if k != "beacon 204" {
			t.Errorf("event requests %v; want sendBeacon answered 204 only", kinds)
			break
		}
	}
	sid := sessionOf(t, ctx)
	settle(t, ctx, 300*time.Millisecond)

	views, stored := srv.stored()
	if len(views) != 1 || views[0].Path != "/shop" || powResult(t, views[0].BotScoreDetail) != "valid" {
		t.Errorf("stored views %+v; want /shop with a valid token", views)
	}
	evs := decodeEvents(t, stored)
	checkEvents(t, evs, sid)
	e := one(t, evs, "custom", "name", "elsewhere")
	wantData(t, e, map[string]any{"name": "elsewhere", "n": "2", "path": "/shop"})
	if want := strings.TrimSuffix(other.URL, "/"); e.Referrer != want {
		t.Errorf("event referrer %q; want the sending page's origin %q", e.Referrer, want)
	}
}
