// Package inject adds Echelon's script tag to the HTML pages of a proxied
// site, so the site is tracked without touching its templates.
//
// The tag, <script src="<base_path>/ea.js?s=<site>" defer></script>, goes
// right before the first </head> (any case, the name ended by whitespace,
// "/" or ">"). A page without </head> gets it before its last </body>; a
// page with neither is left alone, and so is a page that mentions our
// script (ea.js?s=<site>, or <base_path>/ea.js) before that point. Only
// uncompressed text/html 200 answers to GET requests that accept HTML are
// touched; everything else passes through as it came.
//
// The body streams through. What a response holds back is bounded by
// holdLimit (64 KiB) plus the write in hand:
//   - an end tag that a write boundary cuts (at most 6 bytes);
//   - for the </body> fallback, the bytes from the last </body> seen,
//     usually just "</body></html>"; with more than holdLimit after it the
//     writer gives up on that </body>, but keeps watching for </head> and
//     for a later </body>;
//   - when the upstream declared a Content-Length, the page up to the
//     insertion point, with the headers, so the length can be corrected
//     instead of dropped. Past holdLimit, or on Flush, the headers go out
//     without Content-Length and the page streams on.
//
// Flush writes everything else.
package inject

import (
	"fmt"
	"net/http"
	"path"
	"strings"
	"sync"
)

// holdLimit bounds the bytes one response withholds: the undecided start of
// a page, or what follows a candidate </body>. A typical <head> and the
// usual "</body></html>" ending are far below it.
const holdLimit = 64 << 10

// Injector adds one site's script tag. Its settings are fixed by New; it
// is safe for concurrent use, and each response gets its own writer from
// Wrap.
type Injector struct {
	tag []byte
	// markers mean the page already loads our script: the same site's
	// tracker from any host, or anything under our base path.
	markers []marker
	// carry is how many bytes of one write are kept to find a marker that
	// straddles the next write: the longest marker minus one.
	carry int
	// limit is holdLimit outside tests.
	limit int
	// bufs recycles the buffers that hold a page until its headers go.
	bufs sync.Pool
}

// New returns an Injector for site (an Echelon site id,
// [A-Za-z0-9._-]{1,64}) whose script is served under basePath ("" or a
// clean path like "/_ea"). Both end up in an HTML attribute unescaped, so
// both are checked here.
func New(basePath, site string) (*Injector, error) {
	if !validSite(site) {
		return nil, fmt.Errorf("inject: site id %q must match [A-Za-z0-9._-]{1,64}", site)
	}
	if !validBasePath(basePath) {
		return nil, fmt.Errorf("inject: base path %q must be empty or a clean absolute path of URL path characters, without a trailing /", basePath)
	}
	src := basePath + "/ea.js?s=" + site
	in := &Injector{
		tag:     []byte(`<script src="` + src + `" defer></script>`),
		markers: []marker{newMarker("ea.js?s=" + site), newMarker(basePath + "/ea.js")},
		limit:   holdLimit,
	}
	for _, m := range in.markers {
		in.carry = max(in.carry, len(m.s)-1)
	}
	return in, nil
}

// buffer returns a pooled buffer with room for the hold limit and one more
// write of a typical size (Caddy's proxy copies 32 KiB at a time).
func (in *Injector) buffer() *[]byte {
	if b, ok := in.bufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, in.limit+32<<10)
	return &b
}

// Wrap prepares a request for the next handler and returns the writer to
// hand it, and finish, to call once that handler has returned: it writes
// what is still held back (and the tag, for the </body> fallback). When
// the handler fails, skip finish: before the headers went out, nothing has
// been written and an error page can still be sent.
//
// A request whose response may get the tag (see mayTag) loses its
// Accept-Encoding header, in place, so the upstream answers uncompressed and
// Caddy's encode directive, which wraps outside, compresses outward. Any
// other request is left alone and gets w itself back.
func (in *Injector) Wrap(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, func() error) {
	if !mayTag(r) {
		return w, noop
	}
	delete(r.Header, "Accept-Encoding")
	ww := &writer{ResponseWriter: w, in: in, cand: -1}
	return ww, ww.finish
}

func noop() error { return nil }

// mayTag reports whether the response to r could get the tag: a plain GET
// (not HEAD, no Range, no protocol upgrade) from a client that accepts HTML.
func mayTag(r *http.Request) bool {
	h := r.Header
	return r.Method == http.MethodGet &&
		len(h["Range"]) == 0 &&
		len(h["Upgrade"]) == 0 &&
		acceptsHTML(h["Accept"])
}

// acceptsHTML reports whether an Accept header names HTML: absent, or
// listing text/html or application/xhtml+xml with a non-zero q. Wildcards
// do not count: browsers send */* for scripts, styles and images, and
// stripping Accept-Encoding on those would cost sites without an encode
// directive their upstream compression for nothing.
func acceptsHTML(values []string) bool {
	if len(values) == 0 {
		return true
	}
	for _, v := range values {
		for rng := range strings.SplitSeq(v, ",") {
			typ, params, _ := strings.Cut(rng, ";")
			typ = strings.TrimSpace(typ)
			if (strings.EqualFold(typ, "text/html") || strings.EqualFold(typ, "application/xhtml+xml")) && !zeroQ(params) {
				return true
			}
		}
	}
	return false
}

// zeroQ reports whether media-range parameters carry q=0 (0, 0.0, 0.00,
// 0.000), which refuses the type.
func zeroQ(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		v = strings.TrimSpace(v)
		return strings.TrimRight(v, "0") == "" || strings.TrimRight(v, "0") == "0."
	}
	return false
}

func validSite(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// validBasePath accepts "" or a clean absolute path made of RFC 3986 path
// characters other than & and ' (which an HTML attribute would want
// escaped), without a trailing slash.
func validBasePath(p string) bool {
	if p == "" {
		return true
	}
	if p[0] != '/' || p == "/" || path.Clean(p) != p {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; !isAlnum(c) && !strings.ContainsRune("/-._~!$()*+,;=:@%", rune(c)) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
