package scoring

import (
	"strconv"
	"strings"
)

// ReferrerClass is the kind of site a referrer is, stored as a view's
// referrer_type.
type ReferrerClass string

const (
	ReferrerAI      ReferrerClass = "ai"
	ReferrerSearch  ReferrerClass = "search"
	ReferrerSocial  ReferrerClass = "social"
	ReferrerUnknown ReferrerClass = "direct_or_unknown" // none, or a site not listed
)

// UnknownOrigin is the referrer origin stored when there is none, or none
// that ClassifyReferrer accepts: the name of ReferrerUnknown.
const UnknownOrigin = string(ReferrerUnknown)

// referrerDomains is walked in order and the first domain that equals the
// host or is a parent of it wins, so AI subdomains of search engines
// (gemini.google.com) are listed before the engines.
var referrerDomains = [...]struct {
	domain string
	class  ReferrerClass
}{
	{"perplexity.ai", ReferrerAI},
	{"chat.openai.com", ReferrerAI},
	{"chatgpt.com", ReferrerAI},
	{"claude.ai", ReferrerAI},
	{"you.com", ReferrerAI},
	{"phind.com", ReferrerAI},
	{"copilot.microsoft.com", ReferrerAI},
	{"gemini.google.com", ReferrerAI},
	{"poe.com", ReferrerAI},

	{"google.com", ReferrerSearch},
	{"google.co.uk", ReferrerSearch},
	{"google.de", ReferrerSearch},
	{"google.fr", ReferrerSearch},
	{"google.fi", ReferrerSearch},
	{"google.nl", ReferrerSearch},
	{"google.pl", ReferrerSearch},
	{"google.se", ReferrerSearch},
	{"google.no", ReferrerSearch},
	{"google.it", ReferrerSearch},
	{"google.pt", ReferrerSearch},
	{"google.es", ReferrerSearch},
	{"google.hu", ReferrerSearch},
	{"google.cz", ReferrerSearch},
	{"google.ro", ReferrerSearch},
	{"google.sk", ReferrerSearch},
	{"google.rs", ReferrerSearch},
	{"bing.com", ReferrerSearch},
	{"yahoo.com", ReferrerSearch},
	{"duckduckgo.com", ReferrerSearch},
	{"yandex.com", ReferrerSearch},
	{"yandex.ru", ReferrerSearch},
	{"ecosia.org", ReferrerSearch},

	{"facebook.com", ReferrerSocial},
	{"twitter.com", ReferrerSocial},
	{"x.com", ReferrerSocial},
	{"reddit.com", ReferrerSocial},
	{"linkedin.com", ReferrerSocial},
	{"instagram.com", ReferrerSocial},
	{"t.co", ReferrerSocial},
}

// maxHostLen is the DNS limit on a host name; longer hosts are garbage.
const maxHostLen = 253

// maxSharedReferrer is the longest referrer whose bytes the origin may
// share; a longer one's origin is a copy, so a stored record never holds
// a long URL's memory.
const maxSharedReferrer = 512

// ClassifyReferrer turns the referrer the tracker sent (already
// URL-decoded) into what is stored: the origin "scheme://host[:port]" of an
// http or https URL, and its class by host ("www." stripped, exact or
// subdomain match). Anything else, including other
// schemes, javascript:, relative and malformed URLs, is
// (UnknownOrigin, ReferrerUnknown).
//
// The origin follows the browser's URL.origin for the hosts browsers send:
// scheme and host lower-cased, user info dropped, default ports (80, 443)
// and leading zeros of the port removed. Hosts must be ASCII (browsers send
// IDNs as punycode) made of letters, digits, '-', '.', '_', or a bracketed
// IPv6 literal; the result is safe to store and to show.
func ClassifyReferrer(raw string) (origin string, class ReferrerClass) {
	scheme, host, port, ok := splitOrigin(raw)
	if !ok {
		return UnknownOrigin, ReferrerUnknown
	}
	// Most referrers are already in origin form: reuse their bytes.
	n := len(scheme) + 3 + len(host)
	if t := strings.TrimLeftFunc(raw, func(r rune) bool { return r <= ' ' }); port == "" && len(t) >= n &&
		t[:len(scheme)] == scheme && t[len(scheme):len(scheme)+3] == "://" && t[len(scheme)+3:n] == host {
		origin = t[:n]
		if len(raw) > maxSharedReferrer {
			origin = strings.Clone(origin)
		}
	} else {
		origin = scheme + "://" + host
		if port != "" {
			origin += ":" + port
		}
	}
	return origin, hostClass(host)
}

// hostClass is the class of the most specific listed domain that equals
// host or is a parent of it: a map lookup per label instead of a walk of
// the table.
func hostClass(host string) ReferrerClass {
	h := strings.TrimSuffix(host, ".")
	h = strings.TrimPrefix(h, "www.")
	for {
		if class, ok := referrerClasses[h]; ok {
			return class
		}
		dot := strings.IndexByte(h, '.')
		if dot < 0 {
			return ReferrerUnknown
		}
		h = h[dot+1:]
	}
}

// referrerClasses is referrerDomains as a map; the table lists specific
// domains before their parents, so the first entry of a domain wins.
var referrerClasses = func() map[string]ReferrerClass {
	m := make(map[string]ReferrerClass, len(referrerDomains))
	for _, d := range referrerDomains {
		if _, ok := m[d.domain]; !ok {
			m[d.domain] = d.class
		}
	}
	return m
}()

// splitOrigin extracts the lower-cased scheme, host and normalized port of
// an absolute http(s) URL.
func splitOrigin(raw string) (scheme, host, port string, ok bool) {
	raw = strings.TrimFunc(raw, func(r rune) bool { return r <= ' ' })
	i := strings.Index(raw, "://")
	if i < 0 {
		return "", "", "", false
	}
	switch {
	case strings.EqualFold(raw[:i], "http"):
		scheme = "http"
	case strings.EqualFold(raw[:i], "https"):
		scheme = "https"
	default:
		return "", "", "", false
	}
	authority := raw[i+3:]
	if end := strings.IndexAny(authority, "/?#\\"); end >= 0 {
		authority = authority[:end]
	}
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		authority = authority[at+1:]
	}
	host, port = authority, ""
	if strings.HasPrefix(authority, "[") {
		end := strings.IndexByte(authority, ']')
		if end < 0 {
			return "", "", "", false
		}
		host, port = authority[:end+1], authority[end+1:]
		if port != "" && port[0] != ':' {
			return "", "", "", false
		}
		if !validIPv6Literal(host) {
			return "", "", "", false
		}
	} else {
		if c := strings.LastIndexByte(authority, ':'); c >= 0 {
			host, port = authority[:c], authority[c:]
		}
		if !validHostName(host) {
			return "", "", "", false
		}
	}
	port, ok = normalizePort(strings.TrimPrefix(port, ":"), scheme)
	if !ok {
		return "", "", "", false
	}
	return scheme, strings.ToLower(host), port, true
}

func validHostName(h string) bool {
	if h == "" || len(h) > maxHostLen+1 || h == "." {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

func validIPv6Literal(h string) bool {
	inner := h[1 : len(h)-1]
	if len(inner) < 2 || len(inner) > 45 || !strings.Contains(inner, ":") {
		return false
	}
	for i := 0; i < len(inner); i++ {
		c := inner[i]
		if !(isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' || c == ':' || c == '.') {
			return false
		}
	}
	return true
}

// normalizePort checks a port and drops it when it is empty or the
// scheme's default, as URL.origin does.
func normalizePort(p, scheme string) (string, bool) {
	if p == "" {
		return "", true
	}
	for i := 0; i < len(p); i++ {
		if !isDigit(p[i]) {
			return "", false
		}
	}
	p = strings.TrimLeft(p, "0")
	if p == "" {
		p = "0"
	}
	if len(p) > 5 {
		return "", false
	}
	n, _ := strconv.Atoi(p)
	if n > 65535 {
		return "", false
	}
	if scheme == "http" && n == 80 || scheme == "https" && n == 443 {
		return "", true
	}
	return p, true
}
