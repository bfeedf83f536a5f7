package mcpserver

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzParseBase: ECHELON_URL never panics the parser, and an accepted base
// is an absolute http(s) URL without credentials, query, fragment or a
// trailing slash, stable when parsed again.
func FuzzParseBase(f *testing.F) {
	for _, s := range []string{"https://a.example/_echelon/", "http://127.0.0.1:2019", "", "a.example", "https://u:p@h/", "http://h/?q", "http://[::1]:80/x%2Fy//", "http://h/%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		base, err := ParseBase(raw)
		if err != nil {
			return
		}
		u, err := url.Parse(base)
		if err != nil {
			t.Fatalf("%q -> %q does not parse: %v", raw, base, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(base, "/") {
			t.Fatalf("%q -> %q", raw, base)
		}
		if again, err := ParseBase(base); err != nil || again != base {
			t.Fatalf("%q -> %q -> %q, %v", raw, base, again, err)
		}
	})
}

// FuzzToolTarget: whatever string arguments an agent sends, a tool's
// request stays a GET of that tool's own path: a visitor id is one escaped
// segment (or refused), and query values never add parameters.
func FuzzToolTarget(f *testing.F) {
	for _, s := range []string{"demo", "..", ".", "a/b", "a?b=c&d", "%2e%2e", "x#y", "\x00", "../../api/bots/exclude"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, id, val string) {
		for _, tl := range tools {
			args := map[string]any{}
			for _, p := range tl.params {
				if p.query == "" {
					args[p.name] = id
				} else {
					args[p.name] = val
				}
			}
			path, q, err := tl.target(args)
			if err != nil {
				if id != "" && id != "." && id != ".." {
					t.Fatalf("%s refused %q: %v", tl.name, id, err)
				}
				continue
			}
			if !isGETPath(path) || !strings.HasPrefix(path, tl.path) {
				t.Fatalf("%s: %q is not its path", tl.name, path)
			}
			u, err := url.Parse("http://h/p" + path + "?" + q.Encode())
			if err != nil {
				t.Fatalf("%s: %q: %v", tl.name, path, err)
			}
			if strings.HasSuffix(tl.path, "/") {
				if got, _ := url.PathUnescape(strings.TrimPrefix(u.EscapedPath(), "/p"+tl.path)); got != id {
					t.Fatalf("%s: id %q came back %q", tl.name, id, got)
				}
			}
			if len(u.Query()) != len(q) {
				t.Fatalf("%s: query %v grew to %v", tl.name, q, u.Query())
			}
			for k := range u.Query() {
				if u.Query().Get(k) != q.Get(k) {
					t.Fatalf("%s: %s=%q came back %q", tl.name, k, q.Get(k), u.Query().Get(k))
				}
			}
		}
	})
}
