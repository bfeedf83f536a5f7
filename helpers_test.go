package echelon

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/echelon-analytics/caddy-echelon/internal/testkit/testcaddy"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

const chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// The root package's in-process Caddy listens on admin 2999 and HTTP 9080,
// shifted by ECHELON_TEST_PORT_OFFSET, and trusts 10.9.9.9 as a proxy.
var (
	testCaddy = testcaddy.New(2999, 9080, 9443, "trusted_proxies static 10.9.9.9/32")
	adminPort = testCaddy.AdminPort
	httpPort  = testCaddy.HTTPPort
	baseURL   = testCaddy.Origin
	globalOpt = testCaddy.GlobalOptions
)

// newTester is a caddytest tester on this package's admin port, with the
// default client's idle connections dropped (testcaddy.Caddy.Tester).
func newTester(t *testing.T) *caddytest.Tester { return testCaddy.Tester(t) }

// startCaddy loads a site config with the given echelon block (its body,
// without braces) in front of a `respond` upstream, and a fresh db_path.
// It returns the tester and the data directory.
func startCaddy(t *testing.T, echelonBody string) (*caddytest.Tester, string) {
	t.Helper()
	return startCaddyTrusting(t, "10.9.9.9/32", echelonBody)
}

// startCaddyTrusting is startCaddy with Caddy's trusted_proxies set to cidr
// (the test client connects from 127.0.0.1).
func startCaddyTrusting(t *testing.T, cidr, echelonBody string) (*caddytest.Tester, string) {
	t.Helper()
	dir := t.TempDir()
	tc := newTester(t)
	tc.InitServer(strings.Replace(siteConfig(dir, echelonBody), "10.9.9.9/32", cidr, 1), "caddyfile")

	t.Cleanup(func() { unload(t) })
	return tc, filepath.Join(dir, "db")
}

// startCaddyLargeHeaders is startCaddy with Caddy's max_header_size raised
// to 1 MB (the default is 16 KB), as an operator may set it: the bounds on
// what a request can make Echelon hold must not depend on Caddy's.
func startCaddyLargeHeaders(t *testing.T, echelonBody string) (*caddytest.Tester, string) {
	t.Helper()
	dir := t.TempDir()
	tc := newTester(t)
	tc.InitServer(strings.Replace(siteConfig(dir, echelonBody), "servers {", "servers {\n\t\tmax_header_size 1MB", 1), "caddyfile")
	t.Cleanup(func() { unload(t) })
	return tc, filepath.Join(dir, "db")
}

// siteConfig puts echelon in front of a file_server upstream (Caddy orders
// `respond` and `handle` before echelon, file_server and reverse_proxy after).
func siteConfig(dir, echelonBody string) string {
	site := filepath.Join(dir, "site")
	_ = os.MkdirAll(site, 0o755)
	_ = os.WriteFile(filepath.Join(site, "index.html"), []byte("upstream says hi"), 0o644)
	return globalOpt + fmt.Sprintf(`
%s {
	echelon {
		db_path %s
		view_flush 1h
		event_flush 1h
%s
	}
	root * %s
	file_server
}
`, baseURL, filepath.Join(dir, "db"), echelonBody, site)
}

// unload replaces the config with one that has no echelon handler, so the
// pool entry is destroyed: buffers flushed, Badger closed.
func unload(t *testing.T) {
	t.Helper()
	testCaddy.Unload(t)
}

// sharedOf finds the live pool entry for a data directory.
func sharedOf(t *testing.T, dir string) *shared {
	t.Helper()
	var found *shared
	pool.Range(func(k, v any) bool {
		if k == dir {
			found = v.(*shared)
			return false
		}
		return true
	})
	if found == nil {
		t.Fatalf("no echelon store open for %s", dir)
	}
	return found
}

// storedViews flushes the buffers and returns every stored view of a site.
func storedViews(t *testing.T, dir, site string) []storage.View {
	t.Helper()
	return stored(t, dir, func(st *storage.Store, from, to time.Time, fn func(*storage.View) bool) error {
		return st.Views(site, from, to, fn)
	})
}

// storedEvents flushes the buffers and returns every stored event of a site.
func storedEvents(t *testing.T, dir, site string) []storage.Event {
	t.Helper()
	return stored(t, dir, func(st *storage.Store, from, to time.Time, fn func(*storage.Event) bool) error {
		return st.Events(site, from, to, fn)
	})
}

func stored[R any](t *testing.T, dir string, scan func(*storage.Store, time.Time, time.Time, func(*R) bool) error) []R {
	t.Helper()
	sh := sharedOf(t, dir)
	if err := sh.writer.Flush(); err != nil {
		t.Fatalf("flush: %v", err)
	}
	var out []R
	err := scan(sh.store, time.Unix(0, 0), time.Now().Add(time.Hour), func(r *R) bool {
		out = append(out, *r)
		return true
	})
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	return out
}

// testSID is the session id beaconQuery sends.
const testSID = "0b7c2f0e-1111-4222-8333-444455556666"

// mint solves the live verifier's puzzle natively, as the browser's WASM
// would, and returns a token for sid and site made at now.
func mint(t *testing.T, dir, sid, site string, now time.Time) string {
	t.Helper()
	sh := sharedOf(t, dir)
	tok, err := sh.pow.Mint(sid, site, sh.pow.Difficulty("", now), now)
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
	return tok
}

// browserHeaders are what a real Chromium sends with the pixel.
func browserHeaders() http.Header {
	return http.Header{
		"User-Agent":      {chromeUA},
		"Accept-Language": {"en-US,en;q=0.9"},
		"Sec-Ch-Ua":       {`"Chromium";v="131", "Not_A Brand";v="24"`},
		"Sec-Fetch-Site":  {"same-origin"},
	}
}

// do sends a request with browser headers plus extra, and returns status,
// headers and body.
func do(t *testing.T, method, target string, body io.Reader, extra http.Header) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range browserHeaders() {
		req.Header[k] = v
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// beaconQuery builds a valid b.gif query for path on site, with overrides.
func beaconQuery(path, site string, set map[string]string) string {
	q := url.Values{}
	q.Set("p", b64(path))
	q.Set("s", site)
	q.Set("_v", "1500")
	q.Set("sw", "1920")
	q.Set("sh", "1080")
	q.Set("sid", testSID)
	for k, v := range set {
		if v == "" {
			q.Del(k)
			continue
		}
		q.Set(k, v)
	}
	return q.Encode()
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// classicPoW adds the proof-of-work points of earlier releases (missing
// +15, invalid and expired +25, replayed +40) to an echelon body, for tests
// about other signals that send beacons without a token and need them to
// stay below the bot line.
func classicPoW(body string) string {
	return "pow_missing_points 15\n\t\tpow_invalid_points 25\n\t\tpow_expired_points 25\n\t\tpow_replayed_points 40\n\t\t" + body
}
