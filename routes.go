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
	serve    func(h *Handler, w http.ResponseWriter, r *http.Request)
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

	"/api/experiments":       {allow: "GET, HEAD, POST, OPTIONS", serve: manage((*handlers.Manage).ServeExperiments)},
	"/api/experiments/:id":   {allow: "PATCH, OPTIONS", serve: manage((*handlers.Manage).ServeExperiment)},
	"/api/stats/experiments": {allow: "GET, HEAD, OPTIONS", serve: manage((*handlers.Manage).ServeExperimentStats)},
	"/api/sites/:id":         {allow: "GET, HEAD, PATCH, OPTIONS", serve: manage((*handlers.Manage).ServeSite)},
	"/api/perf":              {allow: "GET, HEAD, POST, OPTIONS", serve: manage((*handlers.Manage).ServePerf)},
	"/api/perf/trends":       {allow: "GET, HEAD, OPTIONS", serve: manage((*handlers.Manage).ServePerfTrends)},
	"/api/telemetry":         {allow: "GET, HEAD, POST, OPTIONS", serve: manage((*handlers.Manage).ServeTelemetry)},
	"/api/debug":             {allow: "GET, HEAD, POST, OPTIONS", serve: manage((*handlers.Manage).ServeDebug)},
	"/api/stats/vitals":      {allow: "GET, HEAD, OPTIONS", serve: manage((*handlers.Manage).ServeVitals)},
}

// lookupRoute finds the route of path: an exact entry, else the entry
// whose last segment is ":id" (the handler reads the id from the path).
func lookupRoute(path string) (route, bool) {
	if rt, ok := routes[path]; ok {
		return rt, true
	}
	i := strings.LastIndexByte(path, '/')
	if i <= 0 || i == len(path)-1 {
		return route{}, false
	}
	rt, ok := routes[path[:i]+"/:id"]
	return rt, ok
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
