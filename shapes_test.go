package echelon

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// shapeSite is one site block of an example Caddyfile and what must hold
// on it.
type shapeSite struct {
	host string // the example's host (the test sends it as Host)
	site string // the site id `inject` names
	// app maps paths that belong to the site's app to the exact body the
	// app answers them with (through Caddy, untouched by Echelon).
	app map[string]string
	// page is a path whose HTML answer must carry the injected script tag;
	// its body must also contain pageMark, which only the app writes.
	page, pageMark string
}

type shape struct {
	dir   string // examples/<dir>/Caddyfile
	sites []shapeSite
	// apiHost and apiPrefix locate the stats API for the stored views.
	apiHost, apiPrefix string
	// trustLoopback adds the test client's address to trusted_proxies (for
	// the example that trusts Cloudflare's ranges).
	trustLoopback bool
}

// The stand-in app behind reverse_proxy and php_fastcgi answers with these
// bodies, so a response shows which program produced it.
func appJSON(path string) string { return `{"app":"` + path + `"}` }
func appHTML(prog, path string) string {
	return "<!doctype html><html><head><title>app</title></head><body><p>" + prog + " " + path + "</p></body></html>"
}

// TestExamples_EverySiteShapeCountsAndLeavesTheAppAlone loads every
// Caddyfile under examples/ (adapted by Caddy, as `caddy run` would) into a
// real Caddy, with stand-ins for the upstream app and PHP-FPM, and shows on
// each site: ea.js is Echelon's, a beacon is stored, pages carry the
// injected tag, and the app's own paths reach the app untouched. Rewrites
// that run before Echelon (an SPA's try_files, php_fastcgi's index.php)
// must not hide its paths.
func TestExamples_EverySiteShapeCountsAndLeavesTheAppAlone(t *testing.T) {
	appPaths := map[string]string{
		"/admin":      appHTML("APP", "/admin"),
		"/api/health": appJSON("/api/health"),
		"/robots.txt": "User-agent: *\nDisallow: /app-private\n",
	}
	shapes := []shape{
		{dir: "reverse-proxy", apiHost: "example.com", apiPrefix: "/_echelon", sites: []shapeSite{
			{host: "example.com", site: "example", app: appPaths, page: "/pricing", pageMark: "APP /pricing"},
		}},
		{dir: "static", apiHost: "example.com", apiPrefix: "/_echelon", sites: []shapeSite{
			{host: "example.com", site: "blog", app: map[string]string{"/robots.txt": "static robots\n", "/data.json": `{"file":true}`}, page: "/", pageMark: "static index"},
		}},
		{dir: "spa", apiHost: "example.com", apiPrefix: "/_echelon", sites: []shapeSite{
			{host: "example.com", site: "app", app: map[string]string{"/robots.txt": "static robots\n"}, page: "/some/client/route", pageMark: "static index"},
		}},
		{dir: "php", apiHost: "example.com", apiPrefix: "/_echelon", sites: []shapeSite{
			{host: "example.com", site: "wordpress", app: map[string]string{"/robots.txt": "static robots\n", "/wp-admin/": appHTML("PHP", "/wp-admin/")}, page: "/2026/12/hello-world/", pageMark: "PHP /2026/12/hello-world/"},
		}},
		{dir: "handle", apiHost: "example.com", apiPrefix: "/_echelon", sites: []shapeSite{
			{host: "example.com", site: "shop", app: map[string]string{"/api/health": appJSON("/api/health"), "/robots.txt": "static robots\n"}, page: "/", pageMark: "static index"},
		}},
		{dir: "multi-site", apiHost: "analytics.example.com", apiPrefix: "", sites: []shapeSite{
			{host: "www.example.com", site: "www", app: map[string]string{
				"/admin": appHTML("APP", "/admin"), "/api/health": appJSON("/api/health"), "/robots.txt": appPaths["/robots.txt"],
				// admin_path off: not even the default dashboard path is Echelon's.
				"/_echelon/": appHTML("APP", "/_echelon/"),
			}, page: "/", pageMark: "APP /"},
			{host: "blog.example.com", site: "blog", app: map[string]string{"/robots.txt": "static robots\n"}, page: "/", pageMark: "static index"},
		}},
		{dir: "docker", apiHost: "example.com", apiPrefix: "/_echelon", sites: []shapeSite{
			{host: "example.com", site: "demo", app: appPaths, page: "/", pageMark: "APP /"},
		}},
		{dir: "cloudflare", apiHost: "example.com", apiPrefix: "/_echelon", trustLoopback: true, sites: []shapeSite{
			{host: "example.com", site: "example", app: appPaths, page: "/", pageMark: "APP /"},
		}},
	}
	entries, err := os.ReadDir("examples")
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, s := range shapes {
		covered[s.dir] = true
	}
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join("examples", e.Name(), "Caddyfile")); err == nil && !covered[e.Name()] {
			t.Errorf("examples/%s/Caddyfile has no case in this test", e.Name())
		}
	}

	app := startApp(t)
	php := startPHP(t)
	for _, s := range shapes {
		t.Run(s.dir, func(t *testing.T) { checkShape(t, s, app, php) })
	}
}

func checkShape(t *testing.T, s shape, app, php string) {
	const secret = "shape-test-secret-0123456789abcdef"
	t.Setenv("ECHELON_SECRET", secret)
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	// The Docker image sets db_path through the environment.
	t.Setenv("ECHELON_DB_PATH", db)
	src, err := os.ReadFile(filepath.Join("examples", s.dir, "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := adaptExample(t, string(src), dir, app, php, s.trustLoopback)
	newTester(t).InitServer(cfg, "caddyfile")
	t.Cleanup(func() { unload(t) })

	now := time.Now()
	for _, site := range s.sites {
		status, hdr, body := doHost(t, site.host, "GET", "/ea.js", nil)
		if status != 200 || !strings.Contains(hdr.Get("Content-Type"), "javascript") || strings.Contains(body, "<html") {
			t.Fatalf("%s /ea.js: %d %q %.80q, want the tracker", site.host, status, hdr.Get("Content-Type"), body)
		}

		tok := mint(t, db, testSID, site.site, now)
		extra := http.Header{"Cf-Connecting-Ip": {"203.0.113.7"}, "Cf-Ipcountry": {"NZ"}}
		status, hdr, _ = doHost(t, site.host, "GET", "/b.gif?"+beaconQuery("/from-"+site.site, site.site, map[string]string{"tok": tok}), extra)
		if status != 200 || hdr.Get("Content-Type") != "image/gif" {
			t.Fatalf("%s /b.gif: %d %q, want the pixel", site.host, status, hdr.Get("Content-Type"))
		}

		status, _, body = doHost(t, site.host, "GET", site.page, nil)
		tag := `<script src="/ea.js?s=` + site.site + `" defer></script>`
		if status != 200 || !strings.Contains(body, site.pageMark) || !strings.Contains(body, tag) {
			t.Errorf("%s %s: %d, want the app's page (%q) with %s:\n%.300s", site.host, site.page, status, site.pageMark, tag, body)
		}

		for path, want := range site.app {
			status, _, body := doHost(t, site.host, "GET", path, nil)
			if strings.HasSuffix(want, "</html>") {
				// HTML pages gain the tag; everything else is byte for byte.
				body = strings.Replace(body, tag, "", 1)
			}
			if status != 200 || body != want {
				t.Errorf("%s %s: %d %q, want the app's %q", site.host, path, status, body, want)
			}
		}
	}

	for _, site := range s.sites {
		views := storedViews(t, db, site.site)
		if len(views) != 1 || views[0].Path != "/from-"+site.site {
			t.Fatalf("%s: stored views %+v, want the one beacon", site.site, views)
		}
		if s.trustLoopback && views[0].CountryCode != "NZ" {
			t.Errorf("%s: country %q, want NZ from CF-IPCountry of a trusted proxy", site.site, views[0].CountryCode)
		}
		status, _, body := doHost(t, s.apiHost, "GET", s.apiPrefix+"/api/stats/overview?site_id="+site.site+"&days=1",
			http.Header{"Authorization": {"Bearer " + secret}})
		var ov struct {
			Visits int `json:"visits"`
		}
		if status != 200 || json.Unmarshal([]byte(body), &ov) != nil || ov.Visits != 1 {
			t.Errorf("%s%s/api/stats/overview for %s: %d %.200s, want 1 view", s.apiHost, s.apiPrefix, site.site, status, body)
		}
	}
}

var siteAddress = regexp.MustCompile(`(?m)^([a-z.]*example\.com) \{`)

// adaptExample rewrites an example Caddyfile for the test machine: the
// test's global options and ports, plain HTTP for the example's hosts,
// temporary directories for db_path and the document roots, and the
// stand-ins' addresses for the app (localhost:3000, or app:3000 in the
// Docker example) and PHP-FPM
// (localhost:9000). Everything else is the example as shipped.
func adaptExample(t *testing.T, src, dir, app, php string, trustLoopback bool) string {
	t.Helper()
	root := filepath.Join(dir, "www")
	writeFiles(t, root, map[string]string{
		"index.html": "<!doctype html><html><head><title>static</title></head><body><p>static index</p></body></html>",
		"robots.txt": "static robots\n",
		"data.json":  `{"file":true}`,
		"index.php":  "<?php // served by the PHP-FPM stand-in",
	})
	r := strings.NewReplacer(
		"/var/lib/echelon", filepath.Join(dir, "db"),
		"/srv/www", root, "/srv/app/dist", root, "/var/www/wordpress", root, "/srv/shop", root, "/srv/blog", root,
		"localhost:3000", app, "app:3000", app,
		":8080 {", "example.com {",
		"localhost:9000", php,
	)
	cfg := siteAddress.ReplaceAllString(r.Replace(src), "http://$1 {")
	if trustLoopback {
		cfg = strings.Replace(cfg, "trusted_proxies static", "trusted_proxies static 127.0.0.1/32", 1)
	}
	global := fmt.Sprintf("\tskip_install_trust\n\tadmin localhost:%d\n\thttp_port %d\n\thttps_port %d\n\tgrace_period 2s\n",
		adminPort, httpPort, testCaddy.HTTPSPort)
	if i := strings.Index(cfg, "\n{\n"); i >= 0 && !strings.Contains(cfg[:i], "{") {
		return cfg[:i+3] + global + cfg[i+3:]
	}
	return "{\n" + global + "}\n" + cfg
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// startApp is the stand-in app behind reverse_proxy: JSON under /api/, its
// own robots.txt, HTML pages for every other path.
func startApp(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/api/"):
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, appJSON(r.URL.Path))
		case r.URL.Path == "/robots.txt":
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "User-agent: *\nDisallow: /app-private\n")
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, appHTML("APP", r.URL.Path))
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// startPHP is a FastCGI responder standing in for PHP-FPM: it answers
// every script with an HTML page naming the path the visitor asked for.
func startPHP(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		fcgi.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, appHTML("PHP", r.URL.Path))
		}))
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

// doHost is do (browser headers plus extra) for a request to host on the
// test's HTTP port.
func doHost(t *testing.T, host, method, path string, extra http.Header) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, baseURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for k, v := range browserHeaders() {
		req.Header[k] = v
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s%s: %v", method, host, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}
