package auth

import (
	"net/http"
	"strings"
)

// CSP is the Content-Security-Policy of every HTML response except the
// dashboard's pages, which send a stricter one (docs/dashboard.md).
// It loads nothing from another origin: telemetry, when an administrator
// opts in, goes from the dashboard, whose own policy names telemetry_url.
const CSP = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"

// SecurityHeaders sets the headers every response carries (X-Frame-Options,
// X-Content-Type-Options, Referrer-Policy) on w now, and returns a writer
// that adds CSP when the response turns out to be HTML and the handler set
// no Content-Security-Policy of its own (the dashboard sets a stricter one).
// Handlers must write through the returned writer.
func SecurityHeaders(w http.ResponseWriter) http.ResponseWriter {
	h := w.Header()
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	return &cspWriter{ResponseWriter: w}
}

// cspWriter adds the CSP header when the status is written, because only
// then is the Content-Type final.
type cspWriter struct {
	http.ResponseWriter
	wroteHeader bool
}

func (w *cspWriter) WriteHeader(status int) {
	if w.wroteHeader {
		w.ResponseWriter.WriteHeader(status) // let net/http log the superfluous call
		return
	}
	// 1xx responses (103 Early Hints) are not the final header; 101 is.
	if status >= 200 || status == http.StatusSwitchingProtocols {
		w.wroteHeader = true
		h := w.Header()
		if _, own := h["Content-Security-Policy"]; !own && strings.Contains(strings.ToLower(h.Get("Content-Type")), "text/html") {
			h.Set("Content-Security-Policy", CSP)
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *cspWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		// net/http would sniff the Content-Type after we could add the CSP;
		// sniff first, as it would, so HTML written without one is covered.
		if _, set := w.Header()["Content-Type"]; !set && len(p) > 0 {
			w.Header().Set("Content-Type", http.DetectContentType(p))
		}
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// FlushError lets http.ResponseController flush without the header being
// committed behind our back.
func (w *cspWriter) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush implements http.Flusher for code that type-asserts.
func (w *cspWriter) Flush() { _ = w.FlushError() }

// Unwrap gives http.ResponseController the underlying writer (Hijack,
// deadlines, full duplex).
func (w *cspWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
