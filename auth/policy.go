package auth

import (
	"net/http"
	"strings"

	"github.com/echelon-analytics/caddy-echelon/internal/apierror"
)

// Error bodies of refused API requests (docs/api.md, Access).
const (
	readOnlyMessage = "This is a public read-only instance. Data cannot be modified. To run your own instance, see https://ea.js.org/installation.html"
	csrfError       = "CSRF validation failed — origin mismatch"
)

// Policy holds what the operator configured for access control.
type Policy struct {
	Secret     string    // bearer token; "" = bearer auth off
	Username   string    // "" = session cookie auth off
	PublicMode bool      // anyone may read; writes are refused
	Sessions   *Sessions // may be nil when Username == ""
}

// Credential is what a request proved about itself.
type Credential int

const (
	// NoCredential: no valid bearer token and no live session cookie.
	NoCredential Credential = iota
	// BearerCredential: Authorization: Bearer <Secret>; no CSRF check applies.
	BearerCredential
	// SessionCredential: a live session cookie on a safe method, or on a
	// write that passed SameOrigin.
	SessionCredential
	// CSRFFailed: a live session cookie on a write that failed SameOrigin.
	CSRFFailed
)

// Configured reports whether any credential can succeed. When it is false
// admin pages redirect to the login page with error=auth_not_configured and
// the API answers 401 "Auth must be configured".
func (p *Policy) Configured() bool {
	return p.Secret != "" || p.Username != ""
}

// Authenticate checks the request's credentials in order: bearer token,
// then session cookie with the CSRF check for writes. Public mode plays no
// part here; the admin middleware and Authorize apply it first.
func (p *Policy) Authenticate(r *http.Request) Credential {
	if p.Secret != "" && equalSecret(bearerToken(r), p.Secret) {
		return BearerCredential
	}
	if p.Username == "" || p.Sessions == nil {
		return NoCredential
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" || !p.Sessions.Valid(c.Value) {
		return NoCredential
	}
	if isWrite(r.Method) && !SameOrigin(r) {
		return CSRFFailed
	}
	return SessionCredential
}

// Authorize decides an /api/* request (docs/api.md, Access). path is the
// endpoint's path after admin_path ("/api/health"). On refusal it writes the
// JSON error and returns false; on success it writes nothing.
//
// OPTIONS is not handled here: the caller answers every OPTIONS with 204 and
// the CORS headers before calling Authorize.
func (p *Policy) Authorize(w http.ResponseWriter, r *http.Request, path string) bool {
	if path == "/api/health" {
		return true
	}
	if p.PublicMode {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			return true
		}
		// Telemetry writes are not opened by public mode: they still need
		// credentials, like any other write.
		if path != "/api/telemetry" {
			apierror.Write(w, http.StatusForbidden, "read_only", readOnlyMessage)
			return false
		}
	}
	switch p.Authenticate(r) {
	case BearerCredential, SessionCredential:
		return true
	case CSRFFailed:
		apierror.Write(w, http.StatusForbidden, csrfError, "")
		return false
	}
	if !p.Configured() {
		apierror.Write(w, http.StatusUnauthorized, "unauthorized", "Auth must be configured")
		return false
	}
	apierror.Write(w, http.StatusUnauthorized, "unauthorized", "")
	return false
}

// WriteCSRFError writes the 403 of a failed origin check, for the
// dashboard's middleware.
func WriteCSRFError(w http.ResponseWriter) {
	apierror.Write(w, http.StatusForbidden, csrfError, "")
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header (scheme case-insensitive), or "".
func bearerToken(r *http.Request) string {
	const prefix = "bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return ""
	}
	return h[len(prefix):]
}

func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}
