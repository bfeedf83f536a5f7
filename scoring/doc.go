// Package scoring holds the request classification that runs before a
// tracking hit is stored: user-agent parsing and the known-bot UA list,
// device class, referrer classes, site ids, country headers and the
// per-IP rate limiter.
//
// It is plain Go with no knowledge of Caddy or of storage: every function
// takes the values it needs (header maps, strings, an injected clock) and
// the only package-level data are immutable tables.
package scoring
