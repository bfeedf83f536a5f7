package handlers

import (
	"net/http"
	"strings"

	"github.com/echelon-analytics/caddy-echelon/storage"
	"github.com/echelon-analytics/caddy-echelon/tracker"
)

// ServeScript handles GET ea.js (docs/tracker.md). The script embeds
// this minute's challenge and the current proof-of-work module; a visitor
// whose difficulty was raised (adaptive difficulty) gets a private copy
// with the higher difficulty, everyone else the shared cached one.
func (t *Tracking) ServeScript(w http.ResponseWriter, r *http.Request, peer Peer) {
	hw := newHeaderWriter(w.Header(), 7+corsHeaders)
	hw.setSecurity()
	hw.set("Content-Type", "application/javascript; charset=utf-8")
	site := storage.SiteOrDefault(r.URL.Query().Get("s"))
	if t.isKnownBot(r.UserAgent()) {
		t.sighting(peer) // ea.js is served to known bots, but marks their IP
	}
	if lim, retry := t.limited(peer); lim {
		t.Observe.Beacon(OutcomeRateLimited)
		t.flag(r, peer, site)
		hw.set("Retry-After", retryAfterSeconds(retry))
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte("// rate limited"))
		return
	}
	if ref := r.Header.Get("Referer"); ref != "" && len(t.Config.AllowedOrigins) > 0 &&
		site != "ea" && !t.Config.hostListed(hostOf(ref)) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("// blocked"))
		return
	}
	t.Config.setCORS(&hw, r.Header.Get("Origin"))
	script, private := t.script(r, peer, site)
	if private {
		hw.set("Cache-Control", "private, no-store")
	} else {
		hw.set("Cache-Control", "public, max-age=300")
	}
	hw.set("Etag", script.ETag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, script.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	_, _ = w.Write(script.Body)
}

// script assembles (or takes from the cache) the tracker for this request.
// Without a usable module the script still tracks, with no token.
func (t *Tracking) script(r *http.Request, peer Peer, site string) (tracker.Script, bool) {
	now := t.Now()
	ts, data := t.siteScript(site)
	if t.PoW == nil {
		return t.Scripts.Script(tracker.Puzzle{}, ts, data), false
	}
	pz, err := t.PoW.Puzzle(now)
	if err != nil {
		return t.Scripts.Script(tracker.Puzzle{}, ts, data), false
	}
	base := t.PoW.Difficulty("", now)
	bits := base
	if vis, err := t.identify(r, peer.IP, site, now, false); err == nil {
		bits = t.PoW.Difficulty(vis.id, now)
	}
	return t.Scripts.Script(tracker.Puzzle{
		Challenge:  pz.Challenge,
		Bucket:     pz.Bucket,
		Epoch:      pz.Module.Source,
		Wasm:       pz.Module.Base64,
		Params:     pz.Module.Params.Hex(),
		Difficulty: bits,
	}, ts, data), bits > base
}

// etagMatch reports whether an If-None-Match list names tag (weak or not).
func etagMatch(header, tag string) bool {
	for _, v := range strings.Split(header, ",") {
		v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
		if v == "*" || v == tag {
			return true
		}
	}
	return false
}
