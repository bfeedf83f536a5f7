package handlers

import (
	"net/http"
	"net/url"
	"strings"
)

// corsHeaders is how many headers setCORS writes at most.
const corsHeaders = 3

// setCORS writes the tracking paths' CORS headers (docs/tracker.md, CORS).
// The Allow-Methods, Allow-Headers and Max-Age headers only mean something
// on a preflight answer, so Preflight adds them there.
func (c *Config) setCORS(hw *headerWriter, origin string) {
	hw.add("Vary", "Origin")
	switch {
	case origin != "" && (len(c.AllowedOrigins) == 0 || c.hostListed(hostOf(origin))):
		hw.set("Access-Control-Allow-Origin", origin)
		hw.set("Access-Control-Allow-Credentials", "true")
	case origin == "" && len(c.AllowedOrigins) == 0:
		hw.set("Access-Control-Allow-Origin", "*")
	default:
		hw.set("Access-Control-Allow-Origin", "null")
	}
}

// setCORSCommon writes the headers every preflight answer carries.
func setCORSCommon(hw *headerWriter) {
	hw.set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS")
	hw.set("Access-Control-Allow-Headers", "Content-Type, Authorization")
	hw.set("Access-Control-Max-Age", "86400")
}

// Preflight answers an OPTIONS request: 204 with the tracking CORS headers on
// tracking paths, and Allow-Origin "null" elsewhere.
func (c *Config) Preflight(w http.ResponseWriter, r *http.Request, tracking bool) {
	hw := newHeaderWriter(w.Header(), corsHeaders+6)
	hw.setSecurity()
	if tracking {
		c.setCORS(&hw, r.Header.Get("Origin"))
	} else {
		hw.set("Access-Control-Allow-Origin", "null")
	}
	setCORSCommon(&hw)
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
