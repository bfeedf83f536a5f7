// Package e2e runs the real tracker (ea.js) in headless Chromium against an
// in-process Caddy with the echelon handler, and checks what was stored.
//
// The tests need Chromium at /usr/bin/chromium (Debian: apt-get install
// chromium). They fail, not skip, without it. They share one in-process
// Caddy on fixed ports, so they must not call t.Parallel.
package e2e

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	_ "github.com/echelon-analytics/caddy-echelon" // registers the echelon directive
	"github.com/echelon-analytics/caddy-echelon/internal/testkit/testcaddy"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

const (
	site     = "e2e"
	chromium = "/usr/bin/chromium"

	// Headless Chromium names itself "HeadlessChrome" in its User-Agent,
	// which is on the known-bot list (scoring.DefaultBotUAPatterns): the
	// server would drop every beacon before storing it. The tests drive a
	// real browser engine, so they present it as the desktop Chrome it is.
	userAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)

// The root package's integration tests use admin 2999 and HTTP 9080, and
// `go test ./...` may run both packages at once, so this one keeps apart:
// admin 3999, HTTP 9150 (never the root suite's 9080 for port offsets in
// steps of 100).
var (
	testCaddy     = testcaddy.New(3999, 9150, 9550, "")
	origin        = testCaddy.Origin
	globalOptions = testCaddy.GlobalOptions
)

// Two pages that load the tracker the documented way. The body fills the
// viewport so that a click anywhere lands on the page. The home page links
// to page 2 with a query that has a non-ASCII value, a '+' and UTM
// parameters; the browser percent-encodes ü as UTF-8 because the page
// declares that charset. Page 2 links back home.
const (
	page2Query = "?q=ü&utm_campaign=spring&utm_source=news&utm_medium=email&x=1+1"

	pageHTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>%s</title>
<script src="/ea.js?s=e2e" data-site="e2e" defer></script>
<script>
// Records the first trusted pointerdown, for the early-click case.
addEventListener("pointerdown", function (e) {
	if (e.isTrusted && !window.firstDown) window.firstDown = performance.now();
}, true);
</script>
</head>
<body style="margin:0;min-height:100vh">
<p>%s</p>
<a id="next" href="%s">next</a>
</body></html>
`
)

// server is the in-process Caddy serving one test's site and data directory.
type server struct {
	t        *testing.T
	db       string
	unloaded bool
}

// startServer writes the pages (those above, powPages and eventPages) and
// loads a config with the echelon handler in front of file_server; flushes
// are short so nothing waits long in the buffers. directives are added to the
// echelon block, one per line. The config is unloaded at cleanup if the
// test did not do it.
func startServer(t *testing.T, directives ...string) *server {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "site")
	pages := map[string]string{
		"index.html": fmt.Sprintf(pageHTML, "home", "home", "/page2.html"+page2Query),
		"page2.html": fmt.Sprintf(pageHTML, "page 2", "page 2", "/"),
	}
	for _, more := range []map[string]string{powPages, eventPages, sitePages, peoplePages()} {
		for path, body := range more {
			pages[strings.TrimPrefix(path, "/")] = body
		}
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range pages {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := &server{t: t, db: filepath.Join(dir, "db")}
	load(t, globalOptions+fmt.Sprintf(`
%s {
	echelon {
		db_path %s
		view_flush 200ms
		event_flush 200ms
		%s
	}
	root * %s
	file_server
}
`, origin, s.db, strings.Join(directives, "\n\t\t"), root))
	t.Cleanup(s.unload)
	return s
}

// load loads a Caddyfile config and stops the test if that failed
// (testcaddy.Caddy.Load).
func load(t *testing.T, config string) {
	t.Helper()
	testCaddy.Load(t, config)
}

// unload replaces the config with one without echelon; the pool destructor
// then flushes the buffers and closes Badger.
func (s *server) unload() {
	if s.unloaded {
		return
	}
	s.unloaded = true
	testCaddy.Unload(s.t)
}

// views unloads the config and returns every stored view of the e2e site,
// in the order they were received.
func (s *server) views() []storage.View {
	s.t.Helper()
	views, _ := s.stored()
	return views
}

// stored unloads the config and returns every stored view and event of the
// e2e site, each in the order they were received.
func (s *server) stored() ([]storage.View, []storage.Event) {
	s.t.Helper()
	s.unload()
	st, err := storage.Open(storage.Options{Dir: s.db})
	if err != nil {
		s.t.Fatalf("open the store after unloading: %v", err)
	}
	defer st.Close()
	from, to := time.Unix(0, 0), time.Now().Add(time.Hour)
	var views []storage.View
	err = st.Views(site, from, to, func(v *storage.View) bool {
		views = append(views, *v)
		return true
	})
	if err != nil {
		s.t.Fatalf("read views: %v", err)
	}
	var events []storage.Event
	err = st.Events(site, from, to, func(e *storage.Event) bool {
		events = append(events, *e)
		return true
	})
	if err != nil {
		s.t.Fatalf("read events: %v", err)
	}
	slices.SortFunc(views, func(a, b storage.View) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(events, func(a, b storage.Event) int { return cmp.Compare(a.ID, b.ID) })
	return views, events
}

// newTab starts a fresh headless Chromium (own temporary profile, so a new
// sessionStorage and cache) as a person's browser and returns a context for
// its one tab.
func newTab(t *testing.T) context.Context {
	t.Helper()
	return newBrowser(t, false)
}

// newAutomatedTab is newTab with Chromium's automation flag on, so
// navigator.webdriver is true, as in a browser driven by a script.
func newAutomatedTab(t *testing.T) context.Context {
	t.Helper()
	return newBrowser(t, true)
}

func newBrowser(t *testing.T, automated bool) context.Context {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("these tests drive headless Chromium and need it at %s (Debian: apt-get install chromium): %v", chromium, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // the tests may run as root, where the sandbox refuses to start
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserAgent(userAgent),
	)
	if !automated {
		// Without the automation flag navigator.webdriver is false, as in
		// a person's browser: the tracker reports a true one (wd=1) and
		// the server drops the hit as a known bot's.
		opts = append(opts, chromedp.Flag("disable-blink-features", "AutomationControlled"))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	return ctx
}

// timeout bounds one browser step, so a stuck page fails the test instead
// of hanging it. The browser itself lives on the parent context.
func timeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 10*time.Second)
}

// do runs browser steps that return nothing.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := timeout(ctx)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	ctx, cancel := timeout(ctx)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, opts...))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// beacon is one b.gif request the page made, from Resource Timing.
type beacon struct {
	Name      string  `json:"name"`
	StartTime float64 `json:"startTime"` // ms on the page's performance clock
}

func (b beacon) query(t *testing.T) url.Values {
	t.Helper()
	u, err := url.Parse(b.Name)
	if err != nil {
		t.Fatalf("beacon URL %q: %v", b.Name, err)
	}
	return u.Query()
}

// text decodes a base64 parameter of the beacon (p, ref, uc, ...); "" when
// it is absent.
func (b beacon) text(t *testing.T, key string) string {
	t.Helper()
	v := b.query(t).Get(key)
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		t.Fatalf("beacon %s=%q is not base64: %v", key, v, err)
	}
	return string(raw)
}

const beaconsJS = `performance.getEntriesByType("resource")
	.filter(e => new URL(e.name).pathname === "/b.gif")
	.map(e => ({name: e.name, startTime: e.startTime}))`

// beacons returns the b.gif requests the current page has completed.
func beacons(t *testing.T, ctx context.Context) []beacon {
	t.Helper()
	return eval[[]beacon](t, ctx, beaconsJS)
}

// waitBeacons waits until the current page has completed n b.gif requests.
func waitBeacons(t *testing.T, ctx context.Context, n int) []beacon {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		b := beacons(t, ctx)
		if len(b) >= n {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("page sent %d beacons in 3 s, want %d", len(b), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// trackerLoaded fails the test unless ea.js ran on the current page, so
// that "nothing was sent" means something.
func trackerLoaded(t *testing.T, ctx context.Context) {
	t.Helper()
	if !eval[bool](t, ctx, `window.__echelon === 1`) {
		t.Fatal("ea.js did not run on the page")
	}
}

// clickBody sends a trusted left click (mouse pressed and released, so
// pointerdown, mousedown, pointerup, mouseup and click) to an empty spot of
// the page.
func clickBody() chromedp.Action[chromedp.Void] {
	return chromedp.MouseClickXY(200, 300)
}

// setWindowState minimizes or restores the tab's window. Headless Chromium
// reports a minimized window's page as hidden, which is how the tests reach
// the tracker's hidden-tab path; the call waits until the page sees it.
func setWindowState(t *testing.T, ctx context.Context, state browser.WindowState) {
	t.Helper()
	w, err := chromedp.Call(ctx, browser.GetWindowForTarget, browser.GetWindowForTargetParams{})
	if err != nil {
		t.Fatalf("find the window: %v", err)
	}
	_, err = chromedp.CallBrowser(ctx, browser.SetWindowBounds, browser.SetWindowBoundsParams{
		WindowID: w.WindowID,
		Bounds:   &browser.Bounds{WindowState: state},
	})
	if err != nil {
		t.Fatalf("set the window %s: %v", state, err)
	}
	want := "visible"
	if state == browser.WindowStateMinimized {
		want = "hidden"
	}
	deadline := time.Now().Add(2 * time.Second)
	for eval[string](t, ctx, "document.visibilityState") != want {
		if time.Now().After(deadline) {
			t.Fatalf("page not %s 2 s after the window became %s", want, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
