package echelon

import (
	"errors"
	"io"
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/echelon-analytics/caddy-echelon/handlers"
)

// statusRecorder notes the status a request was answered with, for the
// request stats. Unwrap keeps http.ResponseController (flush, hijack,
// deadlines) working through it.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 && code >= 200 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// ReadFrom keeps the underlying writer's io.ReaderFrom (sendfile for
// file_server behind echelon) reachable.
func (s *statusRecorder) ReadFrom(r io.Reader) (int64, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	if rf, ok := s.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(s.ResponseWriter, r)
}

// Flush serves code that type-asserts http.Flusher.
func (s *statusRecorder) Flush() { _ = http.NewResponseController(s.ResponseWriter).Flush() }

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// statusOf is the answered status, or, when the next handler failed
// before answering, the status of its error (500 unless it says).
func (s *statusRecorder) statusOf(err error) int {
	if err != nil && s.status == 0 {
		var he caddyhttp.HandlerError
		if errors.As(err, &he) && he.StatusCode != 0 {
			return he.StatusCode
		}
		return http.StatusInternalServerError
	}
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}

// manage wraps a method of the management handlers (experiments, sites)
// with api(): access control and security headers first.
func manage(serve func(*handlers.Manage, http.ResponseWriter, *http.Request)) func(h *Handler, w http.ResponseWriter, r *http.Request) {
	return func(h *Handler, w http.ResponseWriter, r *http.Request) {
		api(func(w http.ResponseWriter, r *http.Request) { serve(h.manage, w, r) })(h, w, r)
	}
}
