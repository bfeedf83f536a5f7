package auth

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// SameOrigin is the CSRF check for cookie-authenticated writes (docs/api.md,
// Access).
// The source is the Origin header, else Referer; with neither, or one that
// does not parse to a URL with a host ("null" included), it fails. The
// source's hostname and non-default port must equal the request's Host
// header (falling back to r.URL.Host).
//
// The scheme is ignored because a TLS-terminating proxy makes an https page
// reach us over http. It still decides the source's default port: an
// explicit port on the Host header must equal the source's effective port
// ("https://a" matches "a" and "a:443"), and a Host without a port only
// matches a source without a non-default port.
func SameOrigin(r *http.Request) bool {
	source := r.Header.Get("Origin")
	if source == "" {
		source = r.Header.Get("Referer")
	}
	if source == "" {
		return false
	}
	u, err := url.Parse(source)
	if err != nil || u.Hostname() == "" {
		return false
	}
	srcHost, srcPort := strings.ToLower(u.Hostname()), u.Port()
	if srcPort == "" {
		srcPort = defaultPort(u.Scheme)
	}

	host := r.Host
	if host == "" && r.URL != nil {
		host = r.URL.Host
	}
	reqHost, reqPort := splitHost(host)
	if reqHost == "" || reqHost != srcHost {
		return false
	}
	if reqPort == "" {
		return u.Port() == "" || u.Port() == defaultPort(u.Scheme)
	}
	return reqPort == srcPort
}

func defaultPort(scheme string) string {
	switch strings.ToLower(scheme) {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}

// splitHost splits a Host header into a lower-case hostname (IPv6 brackets
// removed, as url.URL.Hostname does) and its port, "" if none.
func splitHost(hostport string) (host, port string) {
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		return strings.ToLower(h), p
	}
	h := strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
	return strings.ToLower(h), ""
}
