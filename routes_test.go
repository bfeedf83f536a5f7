package echelon

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startProxied runs Caddy with the echelon block in front of a
// reverse_proxy to an app that answers every path with "app <method>
// <path>", and returns the data directory.
func startProxied(t *testing.T, echelonBody string) string {
	t.Helper()
	return startProxiedWith(t, "", echelonBody)
}

// startProxiedWith is startProxied with more site directives.
func startProxiedWith(t *testing.T, siteLines, echelonBody string) string {
	t.Helper()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "app %s %s", r.Method, r.URL.Path)
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	tc := newTester(t)
	tc.InitServer(globalOpt+fmt.Sprintf(`
%s {
%s
	echelon {
		db_path %s
		secret s3cret
%s
	}
	reverse_proxy %s
}
`, baseURL, siteLines, filepath.Join(dir, "db"), echelonBody, strings.TrimPrefix(app.URL, "http://")), "caddyfile")
	t.Cleanup(func() { unload(t) })
	return filepath.Join(dir, "db")
}

const healthBody = `{"status":"ok","service":"Echelon Analytics"}`

// TestAdminPath_AppKeepsItsOwnPaths: with the default admin_path the
// dashboard and API live under /_echelon, and an app's own /admin,
// /api/health and /robots.txt reach the app untouched.
func TestAdminPath_AppKeepsItsOwnPaths(t *testing.T) {
	startProxied(t, "")
	for _, p := range []string{"/admin", "/admin/login", "/api/health", "/api/stats/overview", "/robots.txt", "/sitemap.xml", "/llms.txt", "/_echelonx", "/"} {
		if status, _, body := do(t, "GET", baseURL+p, nil, nil); status != 200 || body != "app GET "+p {
			t.Errorf("GET %s: %d %q, want the app's answer", p, status, body)
		}
	}
	if status, _, body := do(t, "POST", baseURL+"/api/ingest", strings.NewReader("{}"), nil); status != 200 || body != "app POST /api/ingest" {
		t.Errorf("POST /api/ingest: %d %q, want the app's answer", status, body)
	}
	if status, _, body := do(t, "GET", baseURL+"/_echelon/api/health", nil, nil); status != 200 || body != healthBody {
		t.Errorf("GET /_echelon/api/health: %d %q", status, body)
	}
	if status, _, body := do(t, "GET", baseURL+"/_echelon/api/stats/overview?site_id=x", nil, http.Header{"Authorization": {"Bearer s3cret"}}); status != 200 || !strings.Contains(body, `"site_id":"x"`) {
		t.Errorf("GET /_echelon/api/stats/overview: %d %q", status, body)
	}
	// The bare prefix leads to the dashboard; unknown API paths are
	// Echelon's 404, in JSON.
	res := noRedirect(t, baseURL+"/_echelon")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/_echelon/" {
		t.Errorf("GET /_echelon: %d Location=%q, want 303 to /_echelon/", res.StatusCode, res.Header.Get("Location"))
	}
	if status, h, body := do(t, "GET", baseURL+"/_echelon/api/nope", nil, nil); status != 404 || body != `{"error":"not_found","message":"No such path"}` || h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("GET /_echelon/api/nope: %d %q %v", status, body, h)
	}
}

func noRedirect(t *testing.T, target string) *http.Response {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// TestAdminPath_Off serves tracking only: no dashboard and no API on the
// site, every such path reaches the app.
func TestAdminPath_Off(t *testing.T) {
	startProxied(t, "admin_path off")
	for _, p := range []string{"/_echelon/api/health", "/_echelon/", "/api/health", "/_echelon"} {
		if status, _, body := do(t, "GET", baseURL+p, nil, nil); status != 200 || body != "app GET "+p {
			t.Errorf("GET %s: %d %q, want the app's answer", p, status, body)
		}
	}
	if status, h, _ := do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "off", nil), nil, nil); status != 200 || h.Get("Content-Type") != "image/gif" {
		t.Errorf("tracking must stay on: b.gif %d %v", status, h)
	}
}

// TestAdminPath_OwnHost: `admin_path /` is a host of Echelon's own, with
// the API at /api/... exactly as documented.
func TestAdminPath_OwnHost(t *testing.T) {
	startProxied(t, "admin_path /")
	if status, _, body := do(t, "GET", baseURL+"/api/health", nil, nil); status != 200 || body != healthBody {
		t.Errorf("GET /api/health: %d %q", status, body)
	}
	if status, _, body := do(t, "GET", baseURL+"/api/stats/summary", nil, http.Header{"Authorization": {"Bearer s3cret"}}); status != 200 || !strings.Contains(body, `"last_24h"`) {
		t.Errorf("GET /api/stats/summary: %d %q", status, body)
	}
	if status, _, body := do(t, "GET", baseURL+"/_echelon/api/health", nil, nil); status != 404 || strings.HasPrefix(body, "app ") {
		t.Errorf("GET /_echelon/api/health on its own host: %d %q, want Echelon's 404", status, body)
	}
	if status, h, _ := do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "own", nil), nil, nil); status != 200 || h.Get("Content-Type") != "image/gif" {
		t.Errorf("b.gif next to admin_path /: %d %v", status, h)
	}
}

// TestAdminPath_Custom moves the dashboard and the API to another prefix,
// next to a base_path for tracking.
func TestAdminPath_Custom(t *testing.T) {
	startProxied(t, "admin_path /stats\n\t\tbase_path /t")
	if status, _, body := do(t, "GET", baseURL+"/stats/api/health", nil, nil); status != 200 || body != healthBody {
		t.Errorf("GET /stats/api/health: %d %q", status, body)
	}
	for _, p := range []string{"/_echelon/api/health", "/statsx/api/health", "/b.gif"} {
		if status, _, body := do(t, "GET", baseURL+p, nil, nil); status != 200 || body != "app GET "+p {
			t.Errorf("GET %s: %d %q, want the app's answer", p, status, body)
		}
	}
	if status, h, _ := do(t, "GET", baseURL+"/t/b.gif?"+beaconQuery("/", "custom", nil), nil, nil); status != 200 || h.Get("Content-Type") != "image/gif" {
		t.Errorf("GET /t/b.gif: %d %v", status, h)
	}
}

func TestAdminPath_RejectsBadValues(t *testing.T) {
	for _, v := range []string{"_echelon", "/x/", "/a//b", "/a/../b", "/a b", "/{x}", "/x?y", "/%2e"} {
		h := &Handler{AdminPath: v}
		if err := h.Validate(); err == nil || !strings.Contains(err.Error(), "admin_path") {
			t.Errorf("admin_path %q: err %v, want one naming admin_path", v, err)
		}
	}
	for v, want := range map[string]string{"": "/_echelon", "/": "", "/a/b": "/a/b"} {
		if prefix, off, err := parseAdminPath(v); err != nil || off || prefix != want {
			t.Errorf("admin_path %q: %q %v %v, want prefix %q", v, prefix, off, err, want)
		}
	}
	env := map[string]string{"ECHELON_ADMIN_PATH": "/from-env"}
	s, err := (&Handler{}).resolve(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil || s.adminPrefix != "/from-env" {
		t.Errorf("ECHELON_ADMIN_PATH: %q %v", s.adminPrefix, err)
	}
	env = map[string]string{"ECHELON_TELEMETRY_URL": "ftp://x"}
	if _, err := (&Handler{}).resolve(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err == nil || !strings.Contains(err.Error(), "telemetry_url") {
		t.Errorf("bad telemetry_url: %v", err)
	}
}

// TestRoutes_405CarriesSecurityHeaders: a wrong method on any Echelon path
// is refused with Allow and the headers every Echelon answer carries.
func TestRoutes_405CarriesSecurityHeaders(t *testing.T) {
	startProxied(t, "")
	for _, c := range []struct{ method, path, allow string }{
		{"POST", "/b.gif", "GET, OPTIONS"},
		{"PUT", "/e", "POST, OPTIONS"},
		{"POST", "/ea.js", "GET, HEAD, OPTIONS"},
		{"DELETE", "/_echelon/api/stats/overview", "GET, HEAD, OPTIONS"},
		{"DELETE", "/_echelon/api/experiments/x", "GET, HEAD, PATCH, OPTIONS"},
		{"PUT", "/_echelon/api/campaigns", "GET, HEAD, POST, OPTIONS"},
	} {
		status, h, body := do(t, c.method, baseURL+c.path, nil, nil)
		if status != 405 || h.Get("Allow") != c.allow || h.Get("X-Frame-Options") != "DENY" ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "strict-origin-when-cross-origin" ||
			!strings.Contains(body, `"error":"method_not_allowed"`) {
			t.Errorf("%s %s: %d Allow=%q headers=%v body=%q, want 405 Allow=%q with security headers", c.method, c.path, status, h.Get("Allow"), h, body, c.allow)
		}
	}
}

// TestRoutes_TrackingSkipsAccessLog: with access logs on, requests to the
// tracking paths (their queries describe visitors) are not logged, other
// requests are.
func TestRoutes_TrackingSkipsAccessLog(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "access.log")
	startProxiedWith(t, "\tlog {\n\t\toutput file "+logFile+"\n\t}", "")

	do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/secret-path", "logged", nil), nil, nil)
	do(t, "POST", baseURL+"/e", strings.NewReader(`{"events":[{"type":"click"}],"siteId":"logged"}`), nil)
	do(t, "GET", baseURL+"/ea.js?s=logged", nil, nil)
	do(t, "GET", baseURL+"/visible-page", nil, nil)

	var log string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(logFile)
		if log = string(b); strings.Contains(log, "/visible-page") {
			break
		}
	}
	if !strings.Contains(log, "/visible-page") {
		t.Fatalf("the access log has no entry for /visible-page: %q", log)
	}
	for _, p := range []string{"/b.gif", `"/e"`, "/ea.js", "secret-path"} {
		if strings.Contains(log, p) {
			t.Errorf("the access log mentions %s: %q", p, log)
		}
	}
}

// TestAPI_ReadConcurrencyLimit: when every read slot is taken, a read is
// refused with 429 and Retry-After at once; health and writes are not
// gated, and reads pass again when a slot frees.
func TestAPI_ReadConcurrencyLimit(t *testing.T) {
	dir := startProxied(t, "public_mode")
	gate := sharedOf(t, dir).reads
	var held int
	for gate.Enter() {
		held++
	}
	if held < 4 {
		t.Fatalf("the gate admitted %d reads, want at least 4", held)
	}
	status, h, body := do(t, "GET", baseURL+"/_echelon/api/stats/summary", nil, nil)
	if status != 429 || h.Get("Retry-After") != "1" || !strings.Contains(body, `"error":"too_many_requests"`) {
		t.Errorf("read with a full gate: %d Retry-After=%q %q", status, h.Get("Retry-After"), body)
	}
	if status, _, _ := do(t, "GET", baseURL+"/_echelon/api/health", nil, nil); status != 200 {
		t.Errorf("health with a full gate: %d", status)
	}
	gate.Leave()
	if status, _, _ := do(t, "GET", baseURL+"/_echelon/api/stats/summary", nil, nil); status != 200 {
		t.Errorf("read with a free slot: %d, want 200", status)
	}
	for range held - 1 {
		gate.Leave()
	}
}

// BenchmarkTrackingDispatch compares the two ways of finding a tracking
// route: the switch the handler uses and an http.ServeMux lookup of the
// same three patterns (go test -run '^$' -bench TrackingDispatch .).
func BenchmarkTrackingDispatch(b *testing.B) {
	paths := []string{"/b.gif", "/e", "/ea.js", "/index.html"}
	b.Run("switch", func(b *testing.B) {
		n := 0
		for i := range b.N {
			switch paths[i%len(paths)] {
			case "/b.gif", "/e", "/ea.js":
				n++
			}
		}
		_ = n
	})
	b.Run("servemux", func(b *testing.B) {
		mux := http.NewServeMux()
		for _, p := range []string{"GET /b.gif", "POST /e", "GET /ea.js"} {
			mux.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
		}
		reqs := make([]*http.Request, len(paths))
		for i, p := range paths {
			reqs[i] = httptest.NewRequest("GET", p, nil)
		}
		n := 0
		for i := range b.N {
			if _, pattern := mux.Handler(reqs[i%len(reqs)]); pattern != "" {
				n++
			}
		}
		_ = n
	})
}
