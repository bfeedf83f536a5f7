package handlers

import (
	"net/http"
	"net/url"

	"github.com/echelon-analytics/caddy-echelon/internal/apierror"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// Helpers shared by the /api handlers (docs/api.md, Conventions).

// writeError writes {"error":code,"message":message}, without message when
// it is empty: apierror.Write, the one error writer of the API.
func writeError(w http.ResponseWriter, status int, code, message string) {
	apierror.Write(w, status, code, message)
}

// intParam parses an integer parameter leniently (docs/api.md, Conventions):
// leading digits (with an optional sign) count, NaN or 0 gives def, and the
// result is clamped to lo..hi.
func intParam(q url.Values, name string, def, lo, hi int) int {
	s := q.Get(name)
	i, neg := 0, false
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
		i++
	}
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	n, digits := 0, 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n < 1_000_000_000 {
			n = n*10 + int(s[i]-'0')
		}
		digits++
	}
	if digits == 0 || n == 0 {
		return def
	}
	if neg {
		n = -n
	}
	return max(lo, min(hi, n))
}

// strictSite reads the required site_id parameter; on failure it has
// written the 400.
func strictSite(w http.ResponseWriter, q url.Values) (string, bool) {
	site := q.Get("site_id")
	if site == "" {
		writeError(w, http.StatusBadRequest, "missing_param", "site_id required")
		return "", false
	}
	// (other) holds the hits of sites past max_sites and of sites only
	// bots have named; it can be read like any site.
	if !storage.ValidSiteID(site) && site != storage.OtherSite {
		writeError(w, http.StatusBadRequest, "invalid_site_id", "site_id must be 1-64 characters of A-Z a-z 0-9 . _ -")
		return "", false
	}
	return site, true
}

// lenientSite is the site id, or "default" when it is missing or invalid.
func lenientSite(s string) string {
	if storage.ValidSiteID(s) {
		return s
	}
	return "default"
}
