package e2e

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/echelon-analytics/caddy-echelon/internal/seed"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// The dashboard's browser tests run one Caddy with a seeded store, log in
// through the login page and drive every page in headless Chromium, while
// a listener records every console error, exception, failed or refused
// request and any request to another host.

const (
	dashPrefix   = "/_echelon"
	dashUser     = "demo"
	dashPassword = "demo password"
	dashSecret   = "dash-secret"
	dashSite     = "demo"
)

// dashHash is dashPassword's hash with few iterations, so a login is quick.
var dashHash = func() string {
	salt := []byte("fedcba9876543210")
	key, err := pbkdf2.Key(sha256.New, dashPassword, salt, 1000, 32)
	if err != nil {
		panic(err)
	}
	return "pbkdf2$1000$" + base64.StdEncoding.EncodeToString(salt) + "$" + base64.StdEncoding.EncodeToString(key)
}()

// telemetryOrigin is a second origin of the test server (another host
// name, so the dashboard's cookies do not reach it) where an echelon block
// on the same store receives the dashboard's telemetry.
var telemetryOrigin = strings.Replace(origin, "localhost", "127.0.0.1", 1)

// startDashboard seeds a store with 30 days of two sites' history, as
// `caddy echelon seed` does, and loads Caddy with the dashboard on it.
// With telemetry, the dashboard reports to telemetryOrigin.
func startDashboard(t *testing.T, telemetry bool, directives ...string) {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	st, err := storage.Open(storage.Options{Dir: db})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []seed.Options{{Site: dashSite, Days: 30, Views: 20000, Seed: 7}, {Site: "shop", Days: 30, Views: 3000, Seed: 8}} {
		if _, err := seed.Write(st, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "site")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte("<!doctype html><title>site</title><p>site"), 0o644); err != nil {
		t.Fatal(err)
	}
	receiver := ""
	if telemetry {
		directives = append(directives, "telemetry_url "+telemetryOrigin)
		receiver = fmt.Sprintf("%s {\n\techelon {\n\t\tdb_path %s\n\t\tadmin_path off\n\t\trate_limit_max 0\n\t}\n\troot * %s\n\tfile_server\n}\n", telemetryOrigin, db, root)
	}
	load(t, globalOptions+fmt.Sprintf(`
%s {
	echelon {
		db_path %s
		secret %s
		username %s
		password_hash %s
		rate_limit_max 0
		view_flush 200ms
		event_flush 200ms
		%s
	}
	root * %s
	file_server
}
%s`, origin, db, dashSecret, dashUser, dashHash, strings.Join(directives, "\n\t\t"), root, receiver))
	t.Cleanup(func() { testCaddy.Unload(t) })
}

// api reads an API endpoint with the bearer secret, for comparison with
// what the pages show.
func api[T any](t *testing.T, path string) T {
	t.Helper()
	req, err := http.NewRequest("GET", origin+dashPrefix+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+dashSecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var v T
	if res.StatusCode != 200 || json.Unmarshal(b, &v) != nil {
		t.Fatalf("GET %s: %d %s", path, res.StatusCode, b)
	}
	return v
}

// apiSend writes through the API with the bearer secret.
func apiSend(t *testing.T, method, path, body string) {
	t.Helper()
	req, err := http.NewRequest(method, origin+dashPrefix+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+dashSecret)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode > 299 {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
}

// watcher collects what must not happen on a dashboard page, and the
// URLs (with bodies) of the requests made.
type watcher struct {
	mu       sync.Mutex
	problems []string
	requests []string
}

func (w *watcher) add(format string, args ...any) {
	w.mu.Lock()
	w.problems = append(w.problems, fmt.Sprintf(format, args...))
	w.mu.Unlock()
}

// take returns and clears the problems seen so far.
func (w *watcher) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.problems
	w.problems = nil
	return p
}

// watch starts recording console errors, exceptions, failed requests,
// answers of 400 or more and requests to any host but the test server's
// (and the hosts of also).
func watch(t *testing.T, ctx context.Context, also ...string) *watcher {
	t.Helper()
	w := &watcher{}
	hosts := map[string]bool{strings.TrimPrefix(origin, "http://"): true}
	for _, o := range also {
		hosts[strings.TrimPrefix(o, "http://")] = true
	}
	err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			w.add("exception: %s", e.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if e.Type == "error" || e.Type == "warning" || e.Type == "assert" {
				w.add("console %s", e.Type)
			}
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError || e.Entry.Level == cdplog.EntryLevelWarning {
				w.add("log %s: %s %s", e.Entry.Level, e.Entry.Text, e.Entry.URL)
			}
		case *network.EventRequestWillBeSent:
			w.mu.Lock()
			w.requests = append(w.requests, e.Request.URL+" "+requestBody(e.Request))
			w.mu.Unlock()
			if u, err := url.Parse(e.Request.URL); err == nil && !hosts[u.Host] && u.Scheme != "data" {
				w.add("request to another host: %s", e.Request.URL)
			}
		case *network.EventResponseReceived:
			if e.Response.Status >= 400 {
				w.add("HTTP %d for %s", e.Response.Status, e.Response.URL)
			}
		case *network.EventLoadingFailed:
			if !e.Canceled {
				w.add("failed request: %s", e.ErrorText)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// requestBody is a request's posted body, as far as the event carries it.
func requestBody(r *network.Request) string {
	var b strings.Builder
	for _, e := range r.PostDataEntries {
		b.Write(e.Bytes)
	}
	return b.String()
}

// sent returns the requests made so far.
func (w *watcher) sent() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.requests...)
}

// clean fails the test with whatever the watcher saw since the last call.
func (w *watcher) clean(t *testing.T, where string) {
	t.Helper()
	for _, p := range w.take() {
		t.Errorf("%s: %s", where, p)
	}
}

// viewport sets the tab's size and colour scheme ("" = light default).
func viewport(t *testing.T, ctx context.Context, width, height int64, scheme string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: width, Height: height, DeviceScaleFactor: 1}); err != nil {
		t.Fatal(err)
	}
	var features []*emulation.MediaFeature
	if scheme != "" {
		features = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}
	}
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: features}); err != nil {
		t.Fatal(err)
	}
}

// screenshots is where page screenshots go: ECHELON_SCREENSHOTS if set
// (kept), else the test's temporary directory.
func screenshots(t *testing.T) string {
	if dir := os.Getenv("ECHELON_SCREENSHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// shot saves a full-page PNG of the current page as dir/name.png.
func shot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	tctx, cancel := timeout(ctx)
	defer cancel()
	png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// open navigates to a dashboard path and waits for its main landmark.
func open(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	do(t, ctx, chromedp.Navigate(origin+dashPrefix+path), chromedp.WaitVisible("main h1"))
}

// text is the trimmed text of the first element matching sel ("" if none).
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return eval[string](t, ctx, fmt.Sprintf(`(document.querySelector(%q)||{textContent:""}).textContent.trim()`, sel))
}

// count is how many elements match sel.
func count(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	return eval[int](t, ctx, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
}

// submit clicks sel (a form's button) and waits for the page the form
// leads to: a new document, loaded.
func submit(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	leadsToPage(t, ctx, sel, chromedp.Click(sel))
}

// leadsToPage runs act (named what) and waits for the page it leads to.
func leadsToPage(t *testing.T, ctx context.Context, what string, act chromedp.Action[chromedp.Void]) {
	t.Helper()
	sel := what
	eval[bool](t, ctx, `window.__before = true`)
	do(t, ctx, act)
	deadline := time.Now().Add(5 * time.Second)
	for {
		// Evaluating while the page changes may fail: try again.
		tctx, cancel := timeout(ctx)
		done, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`!window.__before && document.readyState === "complete" && !!document.querySelector("main h1")`))
		cancel()
		if err == nil && done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("clicking %s led to no new page", sel)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fmtCount writes n as the dashboard does, with thousands separators.
func fmtCount(n float64) string {
	s := fmt.Sprint(int64(n))
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func writeFile(dir, name string, b []byte) error {
	return os.WriteFile(filepath.Join(dir, name), b, 0o644)
}
