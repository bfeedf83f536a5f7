package echelon

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/echelon-analytics/caddy-echelon/handlers"
)

// ServeHTTP times every request for /api/stats/vitals, routes Echelon's
// paths and passes everything else on.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	start := time.Now()
	sw := statusWriters.Get().(*statusWriter)
	sw.ResponseWriter, sw.status = w, 0
	err := h.route(sw, r, next)
	status := sw.statusOf(err)
	sw.ResponseWriter = nil
	statusWriters.Put(sw)
	end := time.Now()
	h.shared.stats.Record(r.URL.Path, status, end.Sub(start), end)
	return err
}

func (h *Handler) route(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	path := r.URL.Path
	if rest, ok := strings.CutPrefix(path, h.cfg.handlers.BasePath); ok && h.serveTracking(w, r, rest) {
		return nil
	}
	if h.ownsAdmin(path) {
		h.serveAdmin(w, r)
		return nil
	}
	if orig := originalURL(r); orig != nil && orig.Path != path && h.owns(orig.Path) {
		return h.route(w, asArrived(r, orig), next)
	}
	return h.serveNext(w, r, next)
}

// originalURL is the URL the request arrived with, before any rewrite
// (try_files, rewrite, uri, handle_path) that ran ahead of Echelon; nil when
// Caddy did not record it.
func originalURL(r *http.Request) *url.URL {
	orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request)
	if !ok {
		return nil
	}
	return orig.URL
}

// asArrived is r with its original URL restored, so that a rewrite cannot
// hide Echelon's own paths: an SPA's `try_files {path} /index.html` would
// otherwise answer /ea.js and /b.gif with the app's index page.
func asArrived(r *http.Request, orig *url.URL) *http.Request {
	r = r.Clone(r.Context())
	u := *orig
	r.URL = &u
	r.RequestURI = u.RequestURI()
	return r
}

// statusWriter remembers the status of a response for the request stats.
// Flush, Hijack and the rest reach the real writer through Unwrap
// (http.ResponseController). Pooled: the beacon path allocates nothing
// for it.
type statusWriter struct {
	caddyhttp.ResponseWriterWrapper
	status int
}

var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// statusOf is the answered status, or, when the next handler failed
// before answering, the status of its error (500 unless it says).
func (w *statusWriter) statusOf(err error) int {
	if err != nil && w.status == 0 {
		var he caddyhttp.HandlerError
		if errors.As(err, &he) && he.StatusCode != 0 {
			return he.StatusCode
		}
		return http.StatusInternalServerError
	}
	return cmp.Or(w.status, http.StatusOK)
}

// serveNext passes a request Echelon does not own to the next handler,
// adding the script tag to HTML pages when `inject` is configured. finish is
// not deferred: when the next handler fails or aborts, a held tail is
// dropped and Caddy's error handling goes out instead.
func (h *Handler) serveNext(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if h.injector == nil {
		return next.ServeHTTP(w, r)
	}
	ww, finish := h.injector.Wrap(w, r)
	if err := next.ServeHTTP(ww, r); err != nil {
		return err
	}
	return finish()
}

// peer resolves the client address: CF-Connecting-IP from a trusted proxy
// with behind_cloudflare, else Caddy's client_ip with trust_proxy, else the
// socket peer (docs/configuration.md).
func (h *Handler) peer(r *http.Request) handlers.Peer {
	trusted, _ := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey).(bool)
	if h.cfg.handlers.BehindCloudflare && trusted {
		if cf := r.Header.Get("Cf-Connecting-Ip"); cf != "" {
			if p := handlers.NewPeer(strings.TrimSpace(cf), trusted); p.Addr.IsValid() {
				return p
			}
		}
	}
	ip := socketIP(r.RemoteAddr)
	if h.cfg.trustProxy {
		if v, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && v != "" {
			ip = v
		}
	}
	return handlers.NewPeer(ip, trusted)
}
