package handlers

import (
	"net/http"
	"net/url"
	"strings"
)

// setCORS writes the tracking paths' CORS headers (tracker-protocol.md §2).
func (c *Config) setCORS(h http.Header, origin string) {
	h.Add("Vary", "Origin")
	switch {
	case origin != "" && (len(c.AllowedOrigins) == 0 || c.hostListed(hostOf(origin))):
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
	case origin == "" && len(c.AllowedOrigins) == 0:
		h.Set("Access-Control-Allow-Origin", "*")
	default:
		h.Set("Access-Control-Allow-Origin", "null")
	}
	setCORSCommon(h)
}

// setCORSCommon writes the headers every preflight answer carries.
func setCORSCommon(h http.Header) {
	h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
	h.Set("Access-Control-Max-Age", "86400")
}

// Preflight answers an OPTIONS request: 204 with the tracking CORS headers on
// tracking paths, and Allow-Origin "null" elsewhere (admin.md §6).
func (c *Config) Preflight(w http.ResponseWriter, r *http.Request, tracking bool) {
	if tracking {
		c.setCORS(w.Header(), r.Header.Get("Origin"))
	} else {
		w.Header().Set("Access-Control-Allow-Origin", "null")
		setCORSCommon(w.Header())
	}
	w.WriteHeader(http.StatusNoContent)
}

// hostOf returns the lower-case hostname (no port) of an Origin or Referer
// value, or "" when it is not an absolute http(s) URL.
func hostOf(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return strings.ToLower(u.Hostname())
}
