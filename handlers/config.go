// Package handlers serves Echelon's HTTP endpoints: the tracker script, the
// pageview beacon, the event collector and the REST API. It knows nothing of
// Caddy: the module resolves configuration and the client address and hands
// them in.
package handlers

import (
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Config is the resolved configuration the handlers work with. The module
// fills it from the Caddyfile/JSON, the ECHELON_* environment and defaults.
type Config struct {
	// BasePath prefixes every Echelon route ("" or "/_ea").
	BasePath string
	// AllowedOrigins lists lower-case hostnames allowed to send beacons;
	// empty means open.
	AllowedOrigins []string
	// IgnoredSites and AllowedSites hold lower-case site ids. A hit for an
	// ignored site, or for a site missing from a non-empty allow list, is
	// answered normally and not stored.
	IgnoredSites map[string]bool
	AllowedSites map[string]bool
	// BehindCloudflare honours CF-* headers from trusted proxies.
	BehindCloudflare bool
	// TrustGeoHeaders honours CloudFront-Viewer-Country and X-Country-Code.
	TrustGeoHeaders bool
	// DiscardThreshold drops hits scoring at or above it; 0 stores all.
	DiscardThreshold int
	// PublicMode makes the API read-only and open.
	PublicMode bool
	// CookieConsent makes data-cookie wait for the consent banner.
	CookieConsent bool
	// AnonymizeSites holds lower-case site ids whose trackers scramble
	// query and form values and whose records are stored anonymized
	// (Tracking.Anon).
	AnonymizeSites map[string]bool
}

// Peer describes where a request came from, as the server resolved it.
type Peer struct {
	// IP is the client address (Caddy's client_ip when trust_proxy is on,
	// otherwise the socket peer).
	IP string
	// Addr is IP parsed once for the rate limiter and the IP key; the
	// zero Addr when IP is not an address.
	Addr netip.Addr
	// TrustedProxy reports whether the socket peer is a trusted proxy, which
	// is the condition for honouring CF-Connecting-IP and CF-* headers.
	TrustedProxy bool
}

// NewPeer is the Peer of client address ip.
func NewPeer(ip string, trustedProxy bool) Peer {
	addr, _ := netip.ParseAddr(ip)
	return Peer{IP: ip, Addr: addr, TrustedProxy: trustedProxy}
}

// Clock returns the current time; tests inject a fake one.
type Clock func() time.Time

// siteIgnored reports whether hits for site must be dropped silently.
func (c *Config) siteIgnored(site string) bool {
	s := strings.ToLower(site)
	if s == "smoke-test" || c.IgnoredSites[s] {
		return true
	}
	return len(c.AllowedSites) > 0 && !c.AllowedSites[s]
}

// originAllowed reports whether the beacon's Origin or Referer host is on the
// allow list; an empty list allows everything.
func (c *Config) originAllowed(r *http.Request) bool {
	if len(c.AllowedOrigins) == 0 {
		return true
	}
	for _, h := range []string{r.Header.Get("Origin"), r.Header.Get("Referer")} {
		if host := hostOf(h); host != "" && c.hostListed(host) {
			return true
		}
	}
	return false
}

func (c *Config) hostListed(host string) bool {
	for _, o := range c.AllowedOrigins {
		if o == host {
			return true
		}
	}
	return false
}
