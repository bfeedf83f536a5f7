package handlers

import (
	"net/http"
	"strings"
)

// ServeScript handles GET ea.js (tracker-protocol.md §1).
func (t *Tracking) ServeScript(w http.ResponseWriter, r *http.Request, peer Peer) {
	hw := newHeaderWriter(w.Header(), 7+corsHeaders)
	hw.setSecurity()
	hw.set("Content-Type", "application/javascript; charset=utf-8")
	if lim, retry := t.limited(peer.IP); lim {
		t.Observe.Beacon(OutcomeRateLimited)
		hw.set("Retry-After", retryAfterSeconds(retry))
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte("// rate limited"))
		return
	}
	if ref := r.Header.Get("Referer"); ref != "" && len(t.Config.AllowedOrigins) > 0 &&
		r.URL.Query().Get("s") != "ea" && !t.Config.hostListed(hostOf(ref)) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("// blocked"))
		return
	}
	t.Config.setCORS(&hw, r.Header.Get("Origin"))
	hw.set("Cache-Control", "public, max-age=300")
	hw.set("Etag", t.Script.ETag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, t.Script.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	_, _ = w.Write(t.Script.Body)
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
