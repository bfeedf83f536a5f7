// Package scoring holds the request classification that runs before a
// tracking hit is stored: user-agent parsing and the known-bot UA list,
// device class, referrer classes, site ids, country headers, the bot score
// (Rules.Score walks one table of signals) and the state some signals
// need: the per-IP rate limiter, the burst counter, the two-tier bot-IP
// map and the threat feeds.
//
// It is plain Go with no knowledge of Caddy or of storage: every function
// takes the values it needs (header maps, strings, the time or a clock)
// and the only package-level data are immutable tables. Every in-memory
// map has a hard cap and O(1) expiry, and fails closed when full
// (docs/bot-defense.md, Under hostile traffic); see fifoMap.
package scoring
