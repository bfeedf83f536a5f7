package echelon

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/echelon-analytics/caddy-echelon/auth"
	"github.com/echelon-analytics/caddy-echelon/handlers"
)

// route is one Echelon path under base_path.
type route struct {
	// allow is the Allow header for a 405; its methods are the ones served.
	allow string
	// tracking paths get the tracking CORS rules on preflight.
	tracking bool
	// param routes end in "/" and serve every path one segment below
	// (/api/campaigns/:id).
	param bool
	serve func(h *Handler, w http.ResponseWriter, r *http.Request)
}

// allows reports whether method is in allow; SplitSeq keeps this free of
// allocations on the beacon path.
func (rt route) allows(method string) bool {
	for m := range strings.SplitSeq(rt.allow, ", ") {
		if m == method {
			return true
		}
	}
	return false
}

// routes is the table of paths Echelon owns; anything else goes to next.
var routes = map[string]route{
	"/ea.js": {allow: "GET, HEAD, OPTIONS", tracking: true, serve: func(h *Handler, w http.ResponseWriter, r *http.Request) {
		h.track.ServeScript(w, r, h.peer(r))
	}},
	"/b.gif": {allow: "GET, OPTIONS", tracking: true, serve: func(h *Handler, w http.ResponseWriter, r *http.Request) {
		h.track.ServeBeacon(w, r, h.peer(r))
	}},
	"/e": {allow: "POST, OPTIONS", tracking: true, serve: func(h *Handler, w http.ResponseWriter, r *http.Request) {
		h.track.ServeEvents(w, r, h.peer(r))
	}},
	"/api/health": {allow: "GET, HEAD, OPTIONS", serve: api(handlers.ServeHealth)},
	// Stats (api.md §3).
	"/api/stats/overview":        {allow: "GET, HEAD, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.stats.ServeOverview })},
	"/api/stats/dashboard":       {allow: "GET, HEAD, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.stats.ServeDashboard })},
	"/api/stats/realtime":        {allow: "GET, HEAD, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.stats.ServeRealtime })},
	"/api/stats/summary":         {allow: "GET, HEAD, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.stats.ServeSummary })},
	"/api/stats/campaigns":       {allow: "GET, HEAD, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.stats.ServeCampaignStats })},
	"/api/stats/campaign-events": {allow: "GET, HEAD, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.stats.ServeCampaignEvents })},
	"/api/ingest":                {allow: "POST, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.ingest.ServeHTTP })},
	// UTM campaigns (api.md §5).
	"/api/campaigns":  {allow: "GET, HEAD, POST, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.campaigns.ServeCollection })},
	"/api/campaigns/": {allow: "PATCH, DELETE, OPTIONS", param: true, serve: apiOf(func(h *Handler) http.HandlerFunc { return h.campaigns.ServeItem })},
}

// lookupRoute finds path's route: an exact entry, or a param route for
// the path's parent ("/api/campaigns/x" → "/api/campaigns/").
func lookupRoute(path string) (route, bool) {
	if rt, ok := routes[path]; ok {
		return rt, true
	}
	i := strings.LastIndexByte(path, '/')
	if i < 0 || i == len(path)-1 {
		return route{}, false
	}
	rt, ok := routes[path[:i+1]]
	return rt, ok && rt.param
}

// apiOf is api for a handler that lives on the Handler's provisioned state.
func apiOf(serve func(h *Handler) http.HandlerFunc) func(h *Handler, w http.ResponseWriter, r *http.Request) {
	return func(h *Handler, w http.ResponseWriter, r *http.Request) {
		api(serve(h))(h, w, r)
	}
}

// api wraps an /api handler with the security headers and access control.
func api(serve http.HandlerFunc) func(h *Handler, w http.ResponseWriter, r *http.Request) {
	return func(h *Handler, w http.ResponseWriter, r *http.Request) {
		w = auth.SecurityHeaders(w)
		path := strings.TrimPrefix(r.URL.Path, h.cfg.handlers.BasePath)
		if !h.policy.Authorize(w, r, path) {
			return
		}
		serve(w, r)
	}
}

// socketIP returns the host part of a RemoteAddr.
func socketIP(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

func validIP(s string) bool {
	_, err := netip.ParseAddr(strings.TrimSpace(s))
	return err == nil
}
