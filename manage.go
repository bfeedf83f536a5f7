package echelon

import (
	"net/http"

	"github.com/echelon-analytics/caddy-echelon/handlers"
)

// manage wraps a method of the management handlers (experiments, sites)
// with api(): access control and security headers first.
func manage(serve func(*handlers.Manage, http.ResponseWriter, *http.Request)) func(h *Handler, w http.ResponseWriter, r *http.Request) {
	return func(h *Handler, w http.ResponseWriter, r *http.Request) {
		api(func(w http.ResponseWriter, r *http.Request) { serve(h.manage, w, r) })(h, w, r)
	}
}
