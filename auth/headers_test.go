package auth

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/echelon-analytics/caddy-echelon/internal/apierror"
)

func TestSecurityHeaders(t *testing.T) {
	tests := []struct {
		name    string
		handler func(w http.ResponseWriter)
		csp     bool
	}{
		{"html", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("<p>hi</p>"))
		}, true},
		{"html on implicit 200", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "Text/HTML")
			_, _ = w.Write([]byte("x"))
		}, true},
		{"html sniffed", func(w http.ResponseWriter) {
			_, _ = w.Write([]byte("<!DOCTYPE html><html></html>"))
		}, true},
		{"html error page", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusNotFound)
		}, true},
		{"html flushed before write", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			_ = http.NewResponseController(w).Flush()
		}, true},
		{"json", func(w http.ResponseWriter) {
			apierror.Write(w, http.StatusUnauthorized, "unauthorized", "")
		}, false},
		{"plain text sniffed", func(w http.ResponseWriter) {
			_, _ = w.Write([]byte("User-agent: *\n"))
		}, false},
		{"html type set after header written", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			w.Header().Set("Content-Type", "text/html")
		}, false},
		{"no body", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusNoContent)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.handler(SecurityHeaders(rec))
			h := rec.Result().Header // the header as sent, not as mutated later
			for k, want := range map[string]string{
				"X-Frame-Options":        "DENY",
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "strict-origin-when-cross-origin",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			got := h.Get("Content-Security-Policy")
			switch {
			case tt.csp && got != CSP:
				t.Errorf("Content-Security-Policy = %q, want %q", got, CSP)
			case !tt.csp && got != "":
				t.Errorf("Content-Security-Policy = %q on a non-HTML response", got)
			}
		})
	}
}

func TestSecurityHeaders_KeepsHandlersOwnCSP(t *testing.T) {
	const own = "default-src 'none'; script-src 'self'"
	rec := httptest.NewRecorder()
	w := SecurityHeaders(rec)
	w.Header().Set("Content-Security-Policy", own)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte("<p>page</p>"))
	if got := rec.Result().Header.Values("Content-Security-Policy"); len(got) != 1 || got[0] != own {
		t.Errorf("Content-Security-Policy = %q, want only the handler's %q", got, own)
	}
}

func TestSecurityHeaders_CSPText(t *testing.T) {
	// The exact policy; a typo here breaks the pages that rely on it.
	const want = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
	if CSP != want {
		t.Errorf("CSP = %q", CSP)
	}
}

func TestSecurityHeaders_UnwrapReachesUnderlyingWriter(t *testing.T) {
	rec := httptest.NewRecorder()
	w := SecurityHeaders(rec)
	u, ok := w.(interface{ Unwrap() http.ResponseWriter })
	if !ok || u.Unwrap() != rec {
		t.Fatal("wrapper does not Unwrap to the original writer")
	}
	if _, ok := w.(http.Flusher); !ok {
		t.Error("wrapper is not an http.Flusher")
	}
}
