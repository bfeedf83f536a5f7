package echelon

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/echelon-analytics/caddy-echelon/internal/testkit/testcaddy"
)

var upstreamPage = `<!doctype html><html><head><title>shop</title></head><body><h1>Hello</h1>` +
	strings.Repeat("<p>Enough text that Caddy's encode compresses the page.</p>", 30) + `</body></html>`

// TestInject_ThroughReverseProxyWithGzipUpstream proxies to a real upstream
// that gzips whenever it may: for pages Echelon tags, it is asked for
// identity and Caddy's encode compresses outward; other responses keep the
// upstream's compression and are untouched.
func TestInject_ThroughReverseProxyWithGzipUpstream(t *testing.T) {
	var sawEncoding atomic.Value
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ctype := upstreamPage, "text/html; charset=utf-8"
		if r.URL.Path == "/data.json" {
			body, ctype = `{"ok":true}`, "application/json"
		} else {
			sawEncoding.Store(r.Header.Get("Accept-Encoding"))
		}
		w.Header().Set("Content-Type", ctype)
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			io.WriteString(zw, body)
			zw.Close()
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		io.WriteString(w, body)
	}))
	defer up.Close()

	dir := t.TempDir()
	cfg := globalOpt + fmt.Sprintf(`
%s {
	encode gzip
	echelon {
		db_path %s
		base_path /_ea
		inject shop
	}
	reverse_proxy %s
}
`, baseURL, filepath.Join(dir, "db"), strings.TrimPrefix(up.URL, "http://"))
	newTester(t).InitServer(cfg, "caddyfile")
	t.Cleanup(func() { unload(t) })

	tag := `<script src="/_ea/ea.js?s=shop" defer></script>`
	client := &http.Client{Transport: testcaddy.Retrying(&http.Transport{DisableCompression: true})}
	get := func(path, accept, enc string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", baseURL+path, nil)
		req.Header.Set("Accept", accept)
		if enc != "" {
			req.Header.Set("Accept-Encoding", enc)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var r io.Reader = res.Body
		if res.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			r = zr
		}
		b, _ := io.ReadAll(r)
		return res, string(b)
	}

	res, body := get("/", "text/html", "br, gzip")
	want := strings.Replace(upstreamPage, "</head>", tag+"</head>", 1)
	if body != want {
		t.Fatalf("page:\n got %s\nwant %s", body, want)
	}
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("Caddy's encode must compress outward, got Content-Encoding %q", res.Header.Get("Content-Encoding"))
	}
	// The client's Accept-Encoding was stripped; reverse_proxy's transport
	// may still ask for gzip on its own and decompresses that itself.
	if enc, _ := sawEncoding.Load().(string); strings.Contains(enc, "br") {
		t.Errorf("the upstream was asked for %q: the client's Accept-Encoding must be stripped for a page being tagged", enc)
	}

	res, body = get("/", "text/html", "")
	if body != want || res.Header.Get("Content-Length") != "" && res.Header.Get("Content-Length") != fmt.Sprint(len(want)) {
		t.Errorf("uncompressed page: %q Content-Length %q", body, res.Header.Get("Content-Length"))
	}
	if _, body = get("/data.json", "application/json", "gzip"); body != `{"ok":true}` {
		t.Errorf("JSON must pass untouched, got %q", body)
	}
	if _, js := get("/_ea/ea.js?s=shop", "*/*", ""); !strings.Contains(js, "%%") && !strings.Contains(js, "b.gif") {
		t.Errorf("the tag's script is not served under base_path: %.80q", js)
	}
}
