package echelon

import (
	"net"
	"net/http"
	"net/url"
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
	"/api/health":       {allow: "GET, HEAD, OPTIONS", serve: api(handlers.ServeHealth)},
	"/api/perf":         {allow: "GET, POST, OPTIONS", serve: apiOf(byMethod(func(h *Handler) http.HandlerFunc { return h.perf.ServeList }, func(h *Handler) http.HandlerFunc { return h.perf.ServeAdd }))},
	"/api/perf/trends":  {allow: "GET, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.perf.ServeTrends })},
	"/api/telemetry":    {allow: "GET, POST, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.settings.ServeTelemetry })},
	"/api/debug":        {allow: "GET, POST, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.settings.ServeDebug })},
	"/api/stats/vitals": {allow: "GET, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.shared.stats.ServeVitals(h.cfg.handlers.PublicMode) })},

	"/api/bots/suspicious":   {allow: "GET, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.bots.Suspicious })},
	"/api/bots/excluded":     {allow: "GET, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.bots.Excluded })},
	"/api/bots/exclude":      {allow: "POST, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.bots.Exclude })},
	"/api/bots/score-detail": {allow: "GET, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.bots.ScoreDetail })},

	"/api/experiments":       {allow: "GET, HEAD, POST, OPTIONS", serve: manage((*handlers.Manage).ServeExperiments)},
	"/api/experiments/:id":   {allow: "PATCH, OPTIONS", serve: manage((*handlers.Manage).ServeExperiment)},
	"/api/stats/experiments": {allow: "GET, HEAD, OPTIONS", serve: manage((*handlers.Manage).ServeExperimentStats)},
	"/api/sites/:id":         {allow: "GET, HEAD, PATCH, OPTIONS", serve: manage((*handlers.Manage).ServeSite)},

	// Stats (api.md §3).
	"/api/stats/overview":        {allow: "GET, HEAD, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.stats.ServeOverview })},
	"/api/stats/dashboard":       {allow: "GET, HEAD, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.stats.ServeDashboard })},
	"/api/stats/realtime":        {allow: "GET, HEAD, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.stats.ServeRealtime })},
	"/api/stats/summary":         {allow: "GET, HEAD, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.stats.ServeSummary })},
	"/api/stats/campaigns":       {allow: "GET, HEAD, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.stats.ServeCampaignStats })},
	"/api/stats/campaign-events": {allow: "GET, HEAD, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.stats.ServeCampaignEvents })},
	"/api/ingest":                {allow: "POST, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.ingest.ServeHTTP })},
	// The dashboard's lists (handlers/lists.go).
	"/api/visitors":  {allow: "GET, HEAD, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.lists.ServeVisitors })},
	"/api/pageviews": {allow: "GET, HEAD, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.lists.ServePageviews })},
	"/api/events":    {allow: "GET, HEAD, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.lists.ServeEvents })},
	// UTM campaigns (api.md §5).
	"/api/campaigns":     {allow: "GET, HEAD, POST, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.campaigns.ServeCollection })},
	"/api/campaigns/:id": {allow: "PATCH, DELETE, OPTIONS", serve: apiOf(func(h *Handler) http.HandlerFunc { return h.campaigns.ServeItem })},
}

// byMethod picks the GET or the POST handler of a path.
func byMethod(get, post func(h *Handler) http.HandlerFunc) func(h *Handler) http.HandlerFunc {
	return func(h *Handler) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				post(h)(w, r)
				return
			}
			get(h)(w, r)
		}
	}
}

// prefixRoutes are the routes with a path parameter (/api/x/:id), tried
// in order when no exact route matches; serve gets the parameter, taken
// from the escaped path and URL-decoded (api.md §2).
var prefixRoutes = []struct {
	prefix string
	route
	serve func(h *Handler, w http.ResponseWriter, r *http.Request, param string)
}{
	{"/api/bots/exclude/", route{allow: "DELETE, OPTIONS"}, func(h *Handler, w http.ResponseWriter, r *http.Request, id string) {
		h.bots.Include(w, r, id)
	}},
	{"/api/bots/visitor/", route{allow: "GET, OPTIONS"}, func(h *Handler, w http.ResponseWriter, r *http.Request, id string) {
		h.bots.Visitor(w, r, id)
	}},
	{"/api/visitors/", route{allow: "GET, HEAD, OPTIONS"}, func(h *Handler, w http.ResponseWriter, r *http.Request, id string) {
		h.lists.ServeVisitor(w, r, id)
	}},
}

// lookupRoute finds the route of path (base path removed): an exact
// entry, else a prefix route, else the entry whose last segment is ":id"
// (its handler reads the id from the path).
func lookupRoute(path string) (route, bool) {
	if rt, ok := routes[path]; ok {
		return rt, true
	}
	for _, p := range prefixRoutes {
		if strings.HasPrefix(path, p.prefix) {
			rt, serve, prefix := p.route, p.serve, p.prefix
			rt.serve = apiH(func(h *Handler, w http.ResponseWriter, r *http.Request) {
				raw := strings.TrimPrefix(r.URL.EscapedPath(), h.cfg.handlers.BasePath)
				raw = strings.TrimPrefix(raw, prefix)
				param, err := url.PathUnescape(raw)
				if err != nil {
					param = raw
				}
				serve(h, w, r, param)
			})
			return rt, true
		}
	}
	i := strings.LastIndexByte(path, '/')
	if i <= 0 || i == len(path)-1 {
		return route{}, false
	}
	rt, ok := routes[path[:i]+"/:id"]
	return rt, ok
}

// apiOf is api for handlers that live on the Handler's state.
func apiOf(serve func(h *Handler) http.HandlerFunc) func(h *Handler, w http.ResponseWriter, r *http.Request) {
	return apiH(func(h *Handler, w http.ResponseWriter, r *http.Request) { serve(h)(w, r) })
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

// apiH is api for a handler that needs the Handler.
func apiH(serve func(h *Handler, w http.ResponseWriter, r *http.Request)) func(h *Handler, w http.ResponseWriter, r *http.Request) {
	return func(h *Handler, w http.ResponseWriter, r *http.Request) {
		api(func(w http.ResponseWriter, r *http.Request) { serve(h, w, r) })(h, w, r)
	}
}

// socketIP returns the host part of a RemoteAddr.
func socketIP(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}
