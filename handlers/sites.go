package handlers

import (
	"encoding/json"
	"net/http"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

const invalidSiteMessage = "site id must match ^[A-Za-z0-9._-]{1,64}$"

// ServeSite handles GET /api/sites/:id → {site_id, consent_css|null} and
// PATCH {"consent_css"} (docs/api.md, Sites). A non-string or empty consent_css
// clears it; anything else is sanitized (SanitizeConsentCSS). The write
// changes the store's script version, so the next ea.js of the site
// carries the new CSS.
func (m *Manage) ServeSite(w http.ResponseWriter, r *http.Request) {
	site := routeID(r)
	if !storage.ValidSiteID(site) {
		writeError(w, http.StatusBadRequest, "invalid_site_id", invalidSiteMessage)
		return
	}
	if r.Method == http.MethodPatch {
		var in struct {
			ConsentCSS json.RawMessage `json:"consent_css"`
		}
		if !readObjectBody(w, r, maxManageBody, &in) {
			return
		}
		if err := m.Store.SetConsentCSS(site, SanitizeConsentCSS(jsonString(in.ConsentCSS)), m.Now().UTC()); err != nil {
			writeError(w, http.StatusInternalServerError, "internal", "")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"updated": site})
		return
	}
	st, _, err := m.Store.SiteSettings(site)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "")
		return
	}
	writeJSON(w, http.StatusOK, struct {
		SiteID     string  `json:"site_id"`
		ConsentCSS *string `json:"consent_css"`
	}{site, nullable(st.ConsentCSS)})
}
