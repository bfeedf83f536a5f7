package echelon

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestBeacon_BadInputAlwaysGetsThePixel sends hostile b.gif queries: each is
// answered with the pixel, and is stored only where docs/tracker.md says
// so.
func TestBeacon_BadInputAlwaysGetsThePixel(t *testing.T) {
	_, dir := startCaddy(t, classicPoW(""))
	long := strings.Repeat("x", 10*1024)
	cases := []struct {
		name  string
		query string
		site  string // where a stored view would land
		path  string // the stored path, "" = nothing stored
	}{
		{"no params", "", "default", ""},
		{"malformed base64", beaconQuery("/", "bad1", map[string]string{"p": "%%%not-base64!!"}), "bad1", ""},
		{"javascript: path", beaconQuery("javascript:alert(1)", "bad2", nil), "bad2", ""},
		{"path traversal is only text", beaconQuery("/../../etc/passwd", "bad3", nil), "bad3", "/../../etc/passwd"},
		{"null byte", beaconQuery("/a\x00b", "bad4", nil), "bad4", ""},
		{"10 KB site id falls back to default", beaconQuery("/big-site", long, nil), "default", "/big-site"},
		{"unicode path kept intact", beaconQuery("/日本語/ページ?q=ü", "bad5", nil), "bad5", "/日本語/ページ?q=ü"},
		{"SQL and XSS are stored as text", beaconQuery("/'; DROP TABLE visitor_views;--<script>alert(1)</script>", "bad6", nil), "bad6", "/'; DROP TABLE visitor_views;--<script>alert(1)</script>"},
		{"huge _v", beaconQuery("/", "bad7", map[string]string{"_v": "99999999999999999999999"}), "bad7", ""},
		{"_v below 800", beaconQuery("/", "bad8", map[string]string{"_v": "799"}), "bad8", ""},
		{"_v missing", beaconQuery("/", "bad9", map[string]string{"_v": ""}), "bad9", ""},
		{"url-safe base64 accepted", beaconQuery("/", "bad10", map[string]string{"p": "L35-P3g9MQ"}), "bad10", "/~~?x=1"},
		{"plus sent as space restored", "p=" + "L2E/Yj1j+w" + "&s=bad11&_v=1000", "bad11", "/a?b=c\uFFFD"},
		{"stray percent kept", beaconQuery("/100%25-off%zz", "bad12", nil), "bad12", "/100%-off%zz"},
		{"path cut to 2048", beaconQuery("/"+strings.Repeat("a", 3000), "bad13", nil), "bad13", "/" + strings.Repeat("a", 2047)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, h, body := do(t, "GET", baseURL+"/b.gif?"+c.query, nil, nil)
			if status != 200 || !bytes.Equal([]byte(body), wantPixel) || h.Get("Content-Type") != "image/gif" {
				t.Fatalf("status %d type %q body %q: want 200 and the GIF", status, h.Get("Content-Type"), body)
			}
			views := storedViews(t, dir, c.site)
			var paths []string
			for _, v := range views {
				paths = append(paths, v.Path)
			}
			found := false
			for _, p := range paths {
				found = found || p == c.path
			}
			switch {
			case c.path == "" && c.site != "default" && len(views) != 0:
				t.Fatalf("stored %q, want nothing", paths)
			case c.path != "" && !found:
				t.Fatalf("stored %q, want %q", paths, c.path)
			}
		})
	}
	if views := storedViews(t, dir, "default"); len(views) != 1 {
		t.Errorf("site default holds %d views, want only the 10 KB-site one", len(views))
	}
}

// TestEvents_BadInputStatuses pins the statuses of POST e (docs/tracker.md,
// Events) and that nothing bad is stored.
func TestEvents_BadInputStatuses(t *testing.T) {
	_, dir := startCaddy(t, classicPoW(""))
	cases := []struct {
		name   string
		body   string
		status int
	}{
		{"empty body", "", 400},
		{"whitespace body", "  \n", 400},
		{"bad JSON", "{events:", 400},
		{"events not an array", `{"events":5}`, 400},
		{"oversized body", `{"siteId":"x","events":[],"pad":"` + strings.Repeat("a", 17000) + `"}`, 413},
		{"no events", `{"siteId":"bad"}`, 204},
		{"empty events", `{"siteId":"bad","events":[]}`, 204},
		{"null event", `{"siteId":"bad","events":[null]}`, 204},
		{"3 KB event data skipped", eventsBody("bad", 1, `{"x":"`+strings.Repeat("a", 3000)+`"}`), 204},
		{"unknown type skipped", `{"siteId":"bad","events":[{"type":"drop_table"}]}`, 204},
		{"type not a string", `{"siteId":"bad","events":[{"type":7}]}`, 204},
		{"SQL in data stored as JSON text", `{"siteId":"bad2","events":[{"type":"custom","data":{"name":"'; DROP TABLE x;--"}}]}`, 204},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, _, _ := do(t, "POST", baseURL+"/e", strings.NewReader(c.body), nil)
			if status != c.status {
				t.Fatalf("status %d, want %d", status, c.status)
			}
		})
	}
	if evs := storedEvents(t, dir, "bad"); len(evs) != 0 {
		t.Errorf("site bad holds %d events, want none: %+v", len(evs), evs)
	}
	if evs := storedEvents(t, dir, "bad2"); len(evs) != 1 || evs[0].Data != `{"name":"'; DROP TABLE x;--"}` {
		t.Errorf("site bad2 holds %+v", evs)
	}
	t.Run("declared oversized length", func(t *testing.T) {
		req, _ := http.NewRequest("POST", baseURL+"/e", strings.NewReader(strings.Repeat(" ", 20000)))
		req.ContentLength = 20000
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 413 {
			t.Fatalf("status %d, want 413", res.StatusCode)
		}
	})
}

// TestRoutes_OwnPathsOnly checks 405s with Allow, preflights, and that every
// other path reaches the next handler untouched.
func TestRoutes_OwnPathsOnly(t *testing.T) {
	startCaddy(t, "")
	cases := []struct {
		method, path string
		status       int
		allow, body  string
	}{
		{"POST", "/b.gif", 405, "GET, OPTIONS", ""},
		{"GET", "/e", 405, "POST, OPTIONS", ""},
		{"DELETE", "/ea.js", 405, "GET, HEAD, OPTIONS", ""},
		{"POST", "/_echelon/api/health", 405, "GET, HEAD, OPTIONS", ""},
		{"GET", "/_echelon/api/health", 200, "", `{"status":"ok","service":"Echelon Analytics"}`},
		{"GET", "/", 200, "", "upstream says hi"},
		{"GET", "/b.gifx", 404, "", ""},
		{"GET", "/_echelon/api/unknown", 404, "", ""},
	}
	for _, c := range cases {
		status, h, body := do(t, c.method, baseURL+c.path, nil, nil)
		if status != c.status || h.Get("Allow") != c.allow || (c.body != "" && body != c.body) {
			t.Errorf("%s %s: %d Allow=%q body=%q, want %d Allow=%q body=%q", c.method, c.path, status, h.Get("Allow"), body, c.status, c.allow, c.body)
		}
	}
	status, h, _ := do(t, "OPTIONS", baseURL+"/e", nil, http.Header{"Origin": {"https://a.example"}, "Access-Control-Request-Method": {"POST"}})
	if status != 204 || h.Get("Access-Control-Allow-Origin") != "https://a.example" || h.Get("Access-Control-Allow-Credentials") != "true" ||
		h.Get("Access-Control-Allow-Methods") != "GET, POST, PATCH, DELETE, OPTIONS" || h.Get("Access-Control-Max-Age") != "86400" {
		t.Errorf("tracking preflight: %d %v", status, h)
	}
	status, h, _ = do(t, "OPTIONS", baseURL+"/_echelon/api/health", nil, http.Header{"Origin": {"https://a.example"}})
	if status != 204 || h.Get("Access-Control-Allow-Origin") != "null" {
		t.Errorf("api preflight: %d %v", status, h)
	}
}

func TestBeacon_AllowedOriginsAndIgnoredSites(t *testing.T) {
	_, dir := startCaddy(t, classicPoW("allowed_origins shop.example\n\t\tignored_sites Hidden"))
	send := func(site string, hdr http.Header) {
		status, h, _ := do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", site, nil), nil, hdr)
		if status != 200 || h.Get("Content-Type") != "image/gif" {
			t.Fatalf("status %d", status)
		}
	}
	send("o1", http.Header{"Origin": {"https://shop.example:8443"}})
	send("o1", http.Header{"Referer": {"https://SHOP.example/page"}})
	send("o1", http.Header{"Origin": {"https://evil.example"}})
	send("o1", nil)
	send("hidden", http.Header{"Origin": {"https://shop.example"}})
	send("smoke-test", http.Header{"Origin": {"https://shop.example"}})
	if n := len(storedViews(t, dir, "o1")); n != 2 {
		t.Errorf("stored %d views for o1, want the 2 from the allowed origin", n)
	}
	for _, s := range []string{"hidden", "smoke-test"} {
		if n := len(storedViews(t, dir, s)); n != 0 {
			t.Errorf("ignored site %s stored %d views", s, n)
		}
	}
	status, _, body := do(t, "GET", baseURL+"/ea.js", nil, http.Header{"Referer": {"https://evil.example/"}})
	if status != 403 || body != "// blocked" {
		t.Errorf("ea.js from an unlisted referer: %d %q", status, body)
	}
	q := url.Values{"s": {"ea"}}
	if status, _, _ := do(t, "GET", baseURL+"/ea.js?"+q.Encode(), nil, http.Header{"Referer": {"https://evil.example/"}}); status != 200 {
		t.Errorf("site ea is exempt, got %d", status)
	}
}
