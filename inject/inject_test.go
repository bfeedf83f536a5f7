package inject

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNew_BuildsTag(t *testing.T) {
	for _, tc := range []struct{ base, site, want string }{
		{"", "shop", `<script src="/ea.js?s=shop" defer></script>`},
		{"/_ea", "shop", `<script src="/_ea/ea.js?s=shop" defer></script>`},
		{"/a/b~c", "My.site_1-x", `<script src="/a/b~c/ea.js?s=My.site_1-x" defer></script>`},
	} {
		in, err := New(tc.base, tc.site)
		if err != nil {
			t.Fatalf("New(%q, %q): %v", tc.base, tc.site, err)
		}
		if got := string(in.tag); got != tc.want {
			t.Errorf("New(%q, %q).tag = %s, want %s", tc.base, tc.site, got, tc.want)
		}
	}
}

func TestNew_RejectsWhatWouldBreakTheAttribute(t *testing.T) {
	long := strings.Repeat("a", 65)
	for _, tc := range []struct{ name, base, site string }{
		{"empty site", "", ""},
		{"site with space", "", "my shop"},
		{"site with quote", "", `a"b`},
		{"site too long", "", long},
		{"relative base", "_ea", "shop"},
		{"trailing slash", "/_ea/", "shop"},
		{"root base", "/", "shop"},
		{"unclean base", "/a/../b", "shop"},
		{"double slash", "//cdn.example", "shop"},
		{"quote in base", `/a"b`, "shop"},
		{"angle in base", "/a<b", "shop"},
		{"ampersand in base", "/a&b", "shop"},
		{"query in base", "/a?b", "shop"},
	} {
		if _, err := New(tc.base, tc.site); err == nil {
			t.Errorf("%s: New(%q, %q) accepted", tc.name, tc.base, tc.site)
		}
	}
}

func TestWrap_OnlyHTMLGetsAreWrapped(t *testing.T) {
	in := mustNew(t)
	for _, tc := range []struct {
		name   string
		method string
		header http.Header
		wrap   bool
	}{
		{"navigation", "GET", http.Header{"Accept": {"text/html,application/xhtml+xml,*/*;q=0.8"}}, true},
		{"no Accept", "GET", nil, true},
		{"xhtml", "GET", http.Header{"Accept": {"application/xhtml+xml"}}, true},
		{"second Accept line", "GET", http.Header{"Accept": {"image/png", "TEXT/HTML; q=0.5"}}, true},
		{"wildcard only", "GET", http.Header{"Accept": {"*/*"}}, false},
		{"stylesheet", "GET", http.Header{"Accept": {"text/css,*/*;q=0.1"}}, false},
		{"json", "GET", http.Header{"Accept": {"application/json"}}, false},
		{"html refused", "GET", http.Header{"Accept": {"text/html;q=0, */*"}}, false},
		{"html refused 0.000", "GET", http.Header{"Accept": {"text/html;level=1;q=0.000"}}, false},
		{"HEAD", "HEAD", nil, false},
		{"POST", "POST", nil, false},
		{"Range", "GET", http.Header{"Range": {"bytes=0-99"}}, false},
		{"websocket", "GET", http.Header{"Upgrade": {"websocket"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/", nil)
			for k, v := range tc.header {
				r.Header[k] = v
			}
			r.Header.Set("Accept-Encoding", "gzip, br")
			rec := httptest.NewRecorder()
			w, finish := in.Wrap(rec, r)
			if wrapped := w != http.ResponseWriter(rec); wrapped != tc.wrap {
				t.Errorf("wrapped = %v, want %v", wrapped, tc.wrap)
			}
			if stripped := r.Header.Get("Accept-Encoding") == ""; stripped != tc.wrap {
				t.Errorf("Accept-Encoding stripped = %v, want %v", stripped, tc.wrap)
			}
			if err := finish(); err != nil {
				t.Errorf("finish: %v", err)
			}
		})
	}
}

func mustNew(t testing.TB) *Injector {
	t.Helper()
	in, err := New("/_ea", "shop")
	if err != nil {
		t.Fatal(err)
	}
	return in
}
