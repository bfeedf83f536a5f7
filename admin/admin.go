// Package admin is Echelon's dashboard: server-rendered pages
// (html/template), charts drawn as SVG on the server, embedded static
// files and a little plain JavaScript for hover values and live refresh.
//
// Every number on a page comes from the JSON API: the dashboard calls the
// API's handlers in process, through the same routes, access control and
// CSRF check as any client, with the credentials of the request it is
// answering. Writes are plain HTML forms that post to page routes and are
// turned into the API's JSON writes, then redirect (post/redirect/get).
// Nothing here runs a storage query of its own.
package admin

import (
	"html/template"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/echelon-analytics/caddy-echelon/auth"
)

// Config is what the module gives the dashboard.
type Config struct {
	// Prefix is where the dashboard and the API live: "/_echelon" puts the
	// dashboard at /_echelon/ and the API at /_echelon/api/…; "" gives the
	// dashboard a host of its own (dashboard at /, API at /api/…, and
	// robots.txt, sitemap.xml and llms.txt answered too).
	Prefix string

	// API serves the API routes under Prefix with their access control;
	// nil means the mux the dashboard is registered on.
	API http.Handler

	// Policy decides access: bearer secret, login, public mode, sessions.
	Policy *auth.Policy
	// PasswordHash is the login's pbkdf2 hash (Policy.Username's).
	PasswordHash string
	// Logins limits failed logins per client.
	Logins *auth.LoginLimiter
	// ClientIP is the client address as the module resolves it (trusted
	// proxies, Cloudflare).
	ClientIP func(*http.Request) netip.Addr

	// Location is the display time zone. Default UTC.
	Location *time.Location
	// LiveStatsMinutes is the live bar's window. Default 10.
	LiveStatsMinutes int
	// TelemetryURL is the Echelon instance the dashboard reports its own
	// usage to, once an admin opts in; "" turns telemetry off entirely.
	TelemetryURL string

	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Dashboard serves the admin pages.
type Dashboard struct {
	cfg       Config
	pages     map[string]*template.Template
	static    map[string]staticFile
	api       http.Handler
	csp       string
	lastPrune atomic.Int64 // Unix seconds of the last session prune
}

// New prepares the dashboard: templates parsed, static files hashed.
func New(cfg Config) (*Dashboard, error) {
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.LiveStatsMinutes <= 0 {
		cfg.LiveStatsMinutes = 10
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logins == nil {
		cfg.Logins = auth.NewLoginLimiter(cfg.Now)
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = socketAddr
	}
	cfg.TelemetryURL = strings.TrimSuffix(cfg.TelemetryURL, "/")
	d := &Dashboard{cfg: cfg, api: cfg.API}
	var err error
	if d.static, err = loadStatic(); err != nil {
		return nil, err
	}
	if d.pages, err = d.parseTemplates(); err != nil {
		return nil, err
	}
	d.csp = contentSecurityPolicy(cfg.TelemetryURL)
	return d, nil
}

func socketAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr()
}

// contentSecurityPolicy is stricter than the API's: scripts, styles and
// images from this origin only, no inline code or style attributes. With
// telemetry, the telemetry host may receive beacons and the proof of work
// may compile its WebAssembly.
func contentSecurityPolicy(telemetry string) string {
	connect, img, script := "'self'", "'self'", "'self'"
	if telemetry != "" {
		origin := telemetryOrigin(telemetry)
		connect += " " + origin
		img += " " + origin
		script += " 'wasm-unsafe-eval'"
	}
	return "default-src 'none'; script-src " + script + "; style-src 'self'; img-src " + img +
		"; connect-src " + connect + "; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
}

// Register adds the dashboard's routes to mux (the bare prefix's redirect
// to <prefix>/ is the mux owner's). Writes are POST; every route is under
// the prefix, and robots.txt, sitemap.xml and llms.txt are added only
// when the dashboard has the host to itself (Prefix "").
func (d *Dashboard) Register(mux *http.ServeMux) {
	if d.api == nil {
		d.api = mux
	}
	p := d.cfg.Prefix
	page := func(pattern string, h pageHandler) { mux.Handle(pattern, d.guard(h)) }
	open := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, d.headers(h)) }

	page("GET "+p+"/{$}", d.dashboard)
	page("GET "+p+"/sites", d.sites)
	page("GET "+p+"/realtime", d.realtime)
	page("GET "+p+"/visitors", d.visitors)
	page("GET "+p+"/visitors/{id}", d.visitor)
	page("GET "+p+"/pageviews", d.pageviews)
	page("GET "+p+"/events", d.events)
	page("GET "+p+"/bots", d.bots)
	page("GET "+p+"/bots/excluded", d.excluded)
	page("GET "+p+"/bots/{id}", d.botVisitor)
	page("POST "+p+"/bots/exclude", d.exclude)
	page("POST "+p+"/bots/include", d.include)
	page("GET "+p+"/experiments", d.experiments)
	page("POST "+p+"/experiments", d.createExperiment)
	page("GET "+p+"/experiments/{id}", d.experiment)
	page("POST "+p+"/experiments/{id}/status", d.experimentStatus)
	page("GET "+p+"/campaigns", d.campaigns)
	page("POST "+p+"/campaigns", d.createCampaign)
	page("GET "+p+"/campaigns/{id}", d.campaign)
	page("POST "+p+"/campaigns/{id}/status", d.campaignStatus)
	page("POST "+p+"/campaigns/{id}/delete", d.deleteCampaign)
	page("GET "+p+"/perf", d.perf)
	page("GET "+p+"/settings", d.settings)
	page("POST "+p+"/settings/consent", d.saveConsent)
	page("POST "+p+"/settings/debug", d.setDebug)
	page("POST "+p+"/settings/telemetry", d.setTelemetry)
	page("POST "+p+"/logout", d.logout)

	open("GET "+p+"/login", d.loginPage)
	open("POST "+p+"/login", d.login)
	open("GET "+p+"/theme", d.setTheme)
	open("GET "+p+"/static/{file}", d.serveStatic)
	if p == "" {
		open("GET /robots.txt", d.robots)
		open("GET /sitemap.xml", d.sitemap)
		open("GET /llms.txt", d.llms)
	}
}

// NotFound answers a path under the prefix that is no page.
func (d *Dashboard) NotFound() http.Handler {
	return d.headers(func(w http.ResponseWriter, r *http.Request) {
		d.fail(w, r, nil, http.StatusNotFound, "There is no page "+r.URL.Path+".")
	})
}

// headers wraps a handler with the security headers and the dashboard's
// Content-Security-Policy.
func (d *Dashboard) headers(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w = auth.SecurityHeaders(w)
		w.Header().Set("Content-Security-Policy", d.csp)
		h(w, r)
	})
}

// pageHandler answers a page once access is granted; cred says how.
type pageHandler func(w http.ResponseWriter, r *http.Request, cred auth.Credential)

// guard is the admin middleware (docs/dashboard.md, Access), after sending the site
// select's "All sites" to its page: public mode lets every
// read through and refuses writes; with no credential configured every
// page leads to the login page's explanation; a bearer token or a live
// session lets the request through, a session's write only with a
// same-origin Origin or Referer; anyone else goes to the login page.
func (d *Dashboard) guard(h pageHandler) http.Handler {
	return d.headers(func(w http.ResponseWriter, r *http.Request) {
		d.pruneSessions()
		if r.Method == http.MethodGet && r.URL.Query().Get("site_id") == allSites {
			http.Redirect(w, r, d.cfg.Prefix+"/sites", http.StatusSeeOther)
			return
		}
		pol := d.cfg.Policy
		if pol.PublicMode {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				d.fail(w, r, nil, http.StatusForbidden, "This dashboard is public and read-only.")
				return
			}
			h(w, r, auth.NoCredential)
			return
		}
		if !pol.Configured() {
			http.Redirect(w, r, d.cfg.Prefix+"/login?error=auth_not_configured", http.StatusSeeOther)
			return
		}
		switch cred := pol.Authenticate(r); cred {
		case auth.BearerCredential, auth.SessionCredential:
			h(w, r, cred)
		case auth.CSRFFailed:
			auth.WriteCSRFError(w)
		default:
			http.Redirect(w, r, d.cfg.Prefix+"/login", http.StatusSeeOther)
		}
	})
}

// pruneSessions drops expired sessions once per auth.SessionIdle, on the
// first request after it is due, so no goroutine is needed.
func (d *Dashboard) pruneSessions() {
	s := d.cfg.Policy.Sessions
	if s == nil {
		return
	}
	now := d.cfg.Now().Unix()
	last := d.lastPrune.Load()
	if now-last < int64(auth.SessionIdle/time.Second) || !d.lastPrune.CompareAndSwap(last, now) {
		return
	}
	s.Prune()
}

// secure reports whether cookies may carry Secure: only over TLS, so that
// a dashboard on plain http://localhost works.
func secure(r *http.Request) bool { return r.TLS != nil }

// cookiePath is where the dashboard's own cookies apply.
func (d *Dashboard) cookiePath() string {
	if d.cfg.Prefix == "" {
		return "/"
	}
	return d.cfg.Prefix
}
