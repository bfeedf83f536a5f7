package admin

import (
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/echelon-analytics/caddy-echelon/auth"
)

func newTestDashboard(t testing.TB, prefix string) *Dashboard {
	t.Helper()
	d, err := New(Config{Prefix: prefix, Policy: &auth.Policy{}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestBack_OnlyPathsOfTheDashboard(t *testing.T) {
	d := newTestDashboard(t, "/_echelon")
	for back, want := range map[string]string{
		"/_echelon/bots?site_id=x":  "/_echelon/bots?site_id=x",
		"/_echelon/":                "/_echelon/",
		"":                          "/fallback",
		"/_echelonx/evil":           "/fallback",
		"/other":                    "/fallback",
		"https://evil.example/":     "/fallback",
		"//evil.example/_echelon/":  "/fallback",
		"/_echelon/\r\nSet-Cookie:": "/fallback",
		"/_echelon\\..\\x":          "/fallback",
	} {
		if got := d.back(url.Values{"back": {back}}, "/fallback"); got != want {
			t.Errorf("back %q = %q, want %q", back, got, want)
		}
	}
	own := newTestDashboard(t, "")
	if got := own.back(url.Values{"back": {"//evil.example"}}, "/"); got != "/" {
		t.Errorf("a host of its own: back //evil.example = %q", got)
	}
}

// FuzzBack: whatever a form says, a write returns inside the dashboard.
func FuzzBack(f *testing.F) {
	for _, s := range []string{"/_echelon/x", "//x", "/_echelon/\\x", "https://x", "/_echelon/%2F%2Fx", "/_echelon/\n"} {
		f.Add(s)
	}
	d := newTestDashboard(f, "/_echelon")
	f.Fuzz(func(t *testing.T, back string) {
		got := d.back(url.Values{"back": {back}}, "/_echelon/")
		u, err := url.Parse(got)
		if !strings.HasPrefix(got, "/_echelon/") || err != nil || u.Host != "" || u.Scheme != "" || strings.ContainsAny(got, "\\\r\n") {
			t.Errorf("back %q leads to %q", back, got)
		}
	})
}

// FuzzClampDays: the days parameter and cookie always become 1..365.
func FuzzClampDays(f *testing.F) {
	for _, s := range []string{"30", "0", "-5", "99999999999999999999", " 7", "abc", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n := clampDays(s); n < 1 || n > 365 {
			t.Errorf("clampDays(%q) = %d", s, n)
		}
	})
}

func TestFlash_RoundTripsOnceAndMarksErrors(t *testing.T) {
	d := newTestDashboard(t, "/_echelon")
	rec := httptest.NewRecorder()
	d.done(rec, httptest.NewRequest("POST", "/_echelon/x", nil), "/_echelon/", "!Not saved: conflict")
	set := rec.Result().Cookies()
	if len(set) != 1 || set[0].Path != "/_echelon" || !set[0].HttpOnly || set[0].Secure {
		t.Fatalf("flash cookie %+v", set)
	}
	req := httptest.NewRequest("GET", "/_echelon/", nil)
	req.AddCookie(set[0])
	rec = httptest.NewRecorder()
	msg, isErr := d.takeFlash(rec, req)
	if msg != "Not saved: conflict" || !isErr {
		t.Errorf("flash %q %v", msg, isErr)
	}
	if c := rec.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("the flash is not cleared: %+v", c)
	}
}

func TestCharts_TitledDescribedAndScaled(t *testing.T) {
	svg := string(lineChart(halfChart, "hour", "Visitors <per> minute", []string{"10:00", "10:01", "10:02"},
		series{Name: "Visitors", Values: []uint64{1, 7, 2}}, series{Name: "Events", Values: []uint64{0, 0, 3}}))
	var doc struct {
		Title string `xml:"title"`
		Desc  string `xml:"desc"`
	}
	if err := xml.Unmarshal([]byte(svg), &doc); err != nil {
		t.Fatalf("not well-formed SVG: %v\n%s", err, svg)
	}
	if doc.Title != "Visitors <per> minute" ||
		doc.Desc != "From 10:00 to 10:02. Visitors: 10 in total, peak 7 at 10:01; Events: 3 in total, peak 3 at 10:02." {
		t.Errorf("title %q, desc %q", doc.Title, doc.Desc)
	}
	if !strings.Contains(svg, `data-v0="1,7,2"`) || !strings.Contains(svg, `data-plot="44,588,640"`) || strings.Contains(svg, "style=") {
		t.Errorf("data attributes or an inline style: %s", svg)
	}
	if !strings.Contains(svg, `>10</text>`) { // the top gridline: 7 rounded up
		t.Errorf("no gridline at 10: %s", svg)
	}
	for n, want := range map[uint64]uint64{0: 1, 1: 1, 7: 10, 11: 20, 250: 500, 501: 1000, 5000: 5000} {
		if got := niceMax(n); got != want {
			t.Errorf("niceMax(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestFormats(t *testing.T) {
	for n, want := range map[uint64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567"} {
		if got := formatCount(n); got != want {
			t.Errorf("formatCount(%d) = %q", n, got)
		}
	}
	for sec, want := range map[int64]string{5: "5s", 125: "2m", 3*3600 + 120: "3h 2m", 2*86400 + 5*3600: "2d 5h"} {
		if got := uptime(sec); got != want {
			t.Errorf("uptime(%d) = %q, want %q", sec, got, want)
		}
	}
	for in, want := range map[string]string{"80x24": "80×24 (VT100)", "160x50": "160×50 (Sun console)", "1920x1080": "1920×1080", "0x24": "0×24", "x": "×"} {
		if got := resolution(in); got != want {
			t.Errorf("resolution(%q) = %q, want %q", in, got, want)
		}
	}
	if got := shortID("0123456789abcdef"); got != "0123456789ab..." {
		t.Errorf("shortID %q", got)
	}
}

func TestContentSecurityPolicy_NoInlineAndTelemetryOriginOnly(t *testing.T) {
	plain := contentSecurityPolicy("")
	with := contentSecurityPolicy("https://t.example:8443/path")
	for _, csp := range []string{plain, with} {
		if strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("CSP %q", csp)
		}
	}
	if strings.Contains(plain, "http") || strings.Contains(plain, "wasm") {
		t.Errorf("CSP without telemetry names a host: %q", plain)
	}
	if !strings.Contains(with, "connect-src 'self' https://t.example:8443;") || !strings.Contains(with, "img-src 'self' https://t.example:8443;") {
		t.Errorf("CSP with telemetry %q", with)
	}
}

func TestStatic_VersionedAndCached(t *testing.T) {
	d := newTestDashboard(t, "/_echelon")
	mux := http.NewServeMux()
	d.Register(mux)
	for _, name := range []string{"app.css", "app.js", "telemetry.js", "icon.svg"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/_echelon/static/"+name+"?v="+d.version(), nil))
		if rec.Code != 200 || rec.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" || rec.Header().Get("Content-Type") == "" {
			t.Errorf("%s: %d %v", name, rec.Code, rec.Header())
		}
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/_echelon/static/nope.js", nil))
	if rec.Code != 404 {
		t.Errorf("unknown static file: %d", rec.Code)
	}
}
