package echelon

import (
	"net"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/echelon-analytics/caddy-echelon/auth"
	"github.com/echelon-analytics/caddy-echelon/handlers"
	"github.com/echelon-analytics/caddy-echelon/internal/apierror"
)

// Echelon answers on two surfaces:
//
//   - tracking: ea.js, b.gif and e under base_path (default empty), matched
//     by a switch on the path, the cheapest lookup for the hottest routes;
//   - the dashboard and the REST API under admin_path (default /_echelon),
//     matched by an http.ServeMux of method patterns built at Provision.
//
// Any other path goes to the next handler untouched, so a proxied app keeps
// its own /admin, /api/health and /robots.txt.

// trackingAllow are the Allow headers of the three tracking paths.
const (
	allowScript = "GET, HEAD, OPTIONS"
	allowBeacon = "GET, OPTIONS"
	allowEvents = "POST, OPTIONS"
)

// serveTracking answers a tracking path (base path removed); ok is false
// for any other path. Tracking requests are marked to skip Caddy's access
// log: their query strings and headers describe visitors, and the IP and
// User-Agent must not reach disk (docs/privacy.md, Access logs).
func (h *Handler) serveTracking(w http.ResponseWriter, r *http.Request, path string) (ok bool) {
	var allow string
	switch path {
	case "/b.gif":
		allow = allowBeacon
	case "/e":
		allow = allowEvents
	case "/ea.js":
		allow = allowScript
	default:
		return false
	}
	caddyhttp.SetVar(r.Context(), caddyhttp.LogSkipVar, true)
	switch {
	case r.Method == http.MethodOptions:
		h.cfg.handlers.Preflight(w, r, true)
	case path == "/b.gif" && r.Method == http.MethodGet:
		h.track.ServeBeacon(w, r, h.peer(r))
	case path == "/e" && r.Method == http.MethodPost:
		h.track.ServeEvents(w, r, h.peer(r))
	case path == "/ea.js" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		h.track.ServeScript(w, r, h.peer(r))
	default:
		methodNotAllowed(w, allow)
	}
	return true
}

// owns reports whether path is one of Echelon's: a tracking path under
// base_path or anything under admin_path.
func (h *Handler) owns(path string) bool {
	if rest, ok := strings.CutPrefix(path, h.cfg.handlers.BasePath); ok {
		switch rest {
		case "/b.gif", "/e", "/ea.js":
			return true
		}
	}
	return h.ownsAdmin(path)
}

// ownsAdmin reports whether path lies under admin_path. With `admin_path /`
// the whole host is Echelon's.
func (h *Handler) ownsAdmin(path string) bool {
	if h.mux == nil {
		return false
	}
	p := h.cfg.adminPrefix
	return p == "" || path == p || (strings.HasPrefix(path, p) && path[len(p)] == '/')
}

// serveAdmin answers a request under admin_path: OPTIONS preflights, the
// mux's routes, and Echelon's own 404 and 405 (with security headers and a
// JSON body on the API) for the rest of the prefix.
func (h *Handler) serveAdmin(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		h.cfg.handlers.Preflight(w, r, false)
		return
	}
	if _, pattern := h.mux.Handler(r); pattern != "" {
		h.mux.ServeHTTP(w, r)
		return
	}
	if allow := h.allowedMethods(r); allow != "" {
		methodNotAllowed(w, allow)
		return
	}
	if h.notFound != nil && !strings.HasPrefix(r.URL.Path, h.cfg.adminPrefix+"/api/") {
		h.notFound.ServeHTTP(auth.SecurityHeaders(w), r)
		return
	}
	w = auth.SecurityHeaders(w)
	apierror.Write(w, http.StatusNotFound, "not_found", "No such path")
}

// probeMethods are the methods a 405's Allow header may list.
var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// allowedMethods lists the methods the mux serves for r's path, "" when it
// serves none (a 404). Only requests that matched no route pay for it.
func (h *Handler) allowedMethods(r *http.Request) string {
	var allow []string
	probe := r.Clone(r.Context())
	for _, m := range probeMethods {
		probe.Method = m
		if _, pattern := h.mux.Handler(probe); pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		return ""
	}
	return strings.Join(append(allow, http.MethodOptions), ", ")
}

// methodNotAllowed writes a 405 with the Allow header, the security headers
// and a JSON error.
func methodNotAllowed(w http.ResponseWriter, allow string) {
	w = auth.SecurityHeaders(w)
	w.Header().Set("Allow", allow)
	apierror.Write(w, http.StatusMethodNotAllowed, "method_not_allowed", "Allowed: "+allow)
}

// newMux builds the routes under admin_path: the REST API here, the
// dashboard's pages from the admin package.
func (h *Handler) newMux() *http.ServeMux {
	mux := http.NewServeMux()
	p := h.cfg.adminPrefix
	if p != "" {
		// The dashboard lives at <admin_path>/; the bare prefix leads there.
		mux.HandleFunc("GET "+p, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(auth.SecurityHeaders(w), r, p+"/", http.StatusSeeOther)
		})
	}
	for _, rt := range h.apiRoutes() {
		mux.Handle(rt.pattern(p), h.guardEndpoint(rt))
	}
	return mux
}

// apiRoute is one REST endpoint: a method, its path after admin_path, and
// whether reads of it count against the concurrency limit.
type apiRoute struct {
	method, path string
	serve        http.HandlerFunc
	// open routes skip access control (only /api/health).
	open bool
	// readOnly marks a POST that changes nothing (the MCP endpoint, whose
	// tools only read): public mode admits it as it admits a GET.
	readOnly bool
}

func (rt apiRoute) pattern(prefix string) string {
	return rt.method + " " + prefix + rt.path
}

// apiRoutes is the REST API (docs/api.md). GET patterns
// also answer HEAD. Path values ({id}) arrive URL-decoded.
func (h *Handler) apiRoutes() []apiRoute {
	byID := func(serve func(w http.ResponseWriter, r *http.Request, id string)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { serve(w, r, r.PathValue("id")) }
	}
	return []apiRoute{
		{method: "GET", path: "/api/health", serve: handlers.ServeHealth, open: true},

		{method: "GET", path: "/api/stats/overview", serve: h.stats.ServeOverview},
		{method: "GET", path: "/api/stats/dashboard", serve: h.stats.ServeDashboard},
		{method: "GET", path: "/api/stats/realtime", serve: h.stats.ServeRealtime},
		{method: "GET", path: "/api/stats/summary", serve: h.stats.ServeSummary},
		{method: "GET", path: "/api/stats/campaigns", serve: h.stats.ServeCampaignStats},
		{method: "GET", path: "/api/stats/campaign-events", serve: h.stats.ServeCampaignEvents},
		{method: "GET", path: "/api/stats/experiments", serve: h.manage.ServeExperimentStats},
		{method: "GET", path: "/api/stats/quality", serve: h.stats.ServeQuality},
		{method: "GET", path: "/api/stats/vitals", serve: h.shared.stats.ServeVitals(h.cfg.handlers.PublicMode)},

		{method: "GET", path: "/api/experiments", serve: h.manage.ServeExperiments},
		{method: "POST", path: "/api/experiments", serve: h.manage.ServeExperiments},
		{method: "GET", path: "/api/experiments/{id}", serve: h.manage.ServeExperiment},
		{method: "PATCH", path: "/api/experiments/{id}", serve: h.manage.ServeExperiment},

		{method: "GET", path: "/api/campaigns", serve: h.campaigns.ServeCollection},
		{method: "POST", path: "/api/campaigns", serve: h.campaigns.ServeCollection},
		{method: "PATCH", path: "/api/campaigns/{id}", serve: h.campaigns.ServeItem},
		{method: "DELETE", path: "/api/campaigns/{id}", serve: h.campaigns.ServeItem},

		{method: "GET", path: "/api/sites/{id}", serve: h.manage.ServeSite},
		{method: "PATCH", path: "/api/sites/{id}", serve: h.manage.ServeSite},

		{method: "GET", path: "/api/bots/suspicious", serve: h.bots.Suspicious},
		{method: "GET", path: "/api/bots/excluded", serve: h.bots.Excluded},
		{method: "POST", path: "/api/bots/exclude", serve: h.bots.Exclude},
		{method: "DELETE", path: "/api/bots/exclude/{id}", serve: byID(h.bots.Include)},
		{method: "GET", path: "/api/bots/visitor/{id}", serve: byID(h.bots.Visitor)},
		{method: "GET", path: "/api/bots/score-detail", serve: h.bots.ScoreDetail},

		{method: "GET", path: "/api/perf", serve: h.perf.ServeList},
		{method: "POST", path: "/api/perf", serve: h.perf.ServeAdd},
		{method: "GET", path: "/api/perf/trends", serve: h.perf.ServeTrends},
		{method: "GET", path: "/api/telemetry", serve: h.settings.ServeTelemetry},
		{method: "POST", path: "/api/telemetry", serve: h.settings.ServeTelemetry},
		{method: "GET", path: "/api/debug", serve: h.settings.ServeDebug},
		{method: "POST", path: "/api/debug", serve: h.settings.ServeDebug},

		{method: "POST", path: "/api/ingest", serve: h.ingest.ServeHTTP},

		// The read-only MCP tools over Streamable HTTP (docs/mcp.md).
		{method: "POST", path: "/api/mcp", serve: h.mcp.ServeHTTP, readOnly: true},

		// The dashboard's lists (handlers/lists.go).
		{method: "GET", path: "/api/visitors", serve: h.lists.ServeVisitors},
		{method: "GET", path: "/api/visitors/{id}", serve: byID(h.lists.ServeVisitor)},
		{method: "GET", path: "/api/pageviews", serve: h.lists.ServePageviews},
		{method: "GET", path: "/api/events", serve: h.lists.ServeEvents},
	}
}

// guardEndpoint wraps an endpoint with the security headers, the access
// policy and, for reads, the concurrency limit shared by every handler of
// the store.
// The MCP endpoint takes no read slot itself: each tool call is an
// in-process GET that takes its own.
func (h *Handler) guardEndpoint(rt apiRoute) http.Handler {
	read := rt.method == http.MethodGet
	public := rt.readOnly && h.policy.PublicMode
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w = auth.SecurityHeaders(w)
		if !rt.open && !public && !h.policy.Authorize(w, r, rt.path) {
			return
		}
		if read && !rt.open {
			if !h.shared.reads.Enter() {
				h.shared.reads.Refuse(w)
				return
			}
			defer h.shared.reads.Leave()
		}
		if !read {
			h.shared.writer.Gather()
		}
		rt.serve(w, r)
	})
}

// socketIP returns the host part of a RemoteAddr.
func socketIP(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}
