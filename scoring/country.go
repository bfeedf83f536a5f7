package scoring

import (
	"net/http"
	"strings"
)

// geoHeaders are the country sources in order of preference (docs/privacy.md,
// What is stored). Each is read only when its trust flag is on: the Cloudflare
// header when running behind Cloudflare, the others when the operator trusts geo
// headers set by its proxy or CDN.
var geoHeaders = [...]struct {
	name       string
	cloudflare bool // needs cloudflare; otherwise needs trustGeo
}{
	{"CF-IPCountry", true},
	{"CloudFront-Viewer-Country", false},
	{"X-Country-Code", false},
}

// Country returns the visitor's ISO 3166-1 alpha-2 country code, upper
// case, from the first trusted header that holds one, or "" if none does.
//
// Only two ASCII letters are accepted, so a forged or garbled header cannot
// put arbitrary text into stored rows. "XX" (Cloudflare's and others' code
// for unknown) is skipped like a missing header in every source, and
// Cloudflare's "T1" (Tor) fails the letter check, so the next source is
// tried.
func Country(h http.Header, cloudflare, trustGeo bool) string {
	for _, g := range geoHeaders {
		if g.cloudflare && !cloudflare || !g.cloudflare && !trustGeo {
			continue
		}
		if c, ok := countryCode(h.Get(g.name)); ok {
			return c
		}
	}
	return ""
}

func countryCode(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if len(v) != 2 || !isLetter(v[0]) || !isLetter(v[1]) {
		return "", false
	}
	v = strings.ToUpper(v)
	if v == "XX" {
		return "", false
	}
	return v, true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
