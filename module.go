// Package echelon is the Caddy HTTP handler module of Echelon for Caddy:
// cookieless first-party analytics with proof-of-work bot defense.
package echelon

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/echelon-analytics/caddy-echelon/admin"
	"github.com/echelon-analytics/caddy-echelon/auth"
	"github.com/echelon-analytics/caddy-echelon/geoip"
	"github.com/echelon-analytics/caddy-echelon/handlers"
	"github.com/echelon-analytics/caddy-echelon/inject"
	"github.com/echelon-analytics/caddy-echelon/mcpserver"
	"github.com/echelon-analytics/caddy-echelon/scoring"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler is the `echelon` HTTP handler. It owns the Echelon routes under
// BasePath and passes every other request to the next handler untouched.
//
// Every option has an ECHELON_* environment variable that applies when the
// option is not set here (docs/configuration.md); pointer fields tell "not
// set" apart from a zero value.
type Handler struct {
	// DBPath is the Badger directory. Default ./echelon-data.
	DBPath string `json:"db_path,omitempty"`
	// Secret is the instance secret: API bearer token, PoW and anonymization
	// key. If unset, API bearer auth is off and a generated secret kept in
	// the data directory keys PoW and anonymization.
	Secret string `json:"secret,omitempty"`
	// Username and PasswordHash enable the admin login. The hash is
	// pbkdf2$<iterations>$<salt>$<hash> (`caddy echelon hash-password`).
	Username     string `json:"username,omitempty"`
	PasswordHash string `json:"password_hash,omitempty"`
	// RetentionDays keeps raw rows this many days. Default 90.
	RetentionDays *int `json:"retention_days,omitempty"`
	// BotRetentionDays keeps rows scoring 50 or more (and ingested rows) this
	// many days. Default: RetentionDays.
	BotRetentionDays *int `json:"bot_retention_days,omitempty"`
	// SuspectCountries are ISO codes that add SuspectPoints. Default [CN].
	SuspectCountries *[]string `json:"suspect_countries,omitempty"`
	// SuspectPoints is what a suspect country adds. Default 30.
	SuspectPoints *int `json:"suspect_points,omitempty"`
	// BotDiscardThreshold drops hits scoring at or above it before storage;
	// 0 stores everything (statistics count only scores 0–49). Default 0.
	BotDiscardThreshold *int `json:"bot_discard_threshold,omitempty"`
	// BotUAPatterns replaces the built-in known-bot User-Agent list; an
	// empty list disables the check.
	BotUAPatterns *[]string `json:"bot_ua_patterns,omitempty"`
	// AllowedOrigins are hostnames allowed to send beacons; empty = open.
	AllowedOrigins *[]string `json:"allowed_origins,omitempty"`
	// AllowedSites, when non-empty, are the only site ids stored.
	AllowedSites *[]string `json:"allowed_sites,omitempty"`
	// MaxSites caps the site ids that get their own statistics. A site is
	// registered by its first clean hit (score below 50), never by a
	// bot's, while fewer than MaxSites are registered; the hits of every
	// other site id are stored and counted under the site "(other)".
	// Default 1000.
	MaxSites *int `json:"max_sites,omitempty"`
	// MaxValues caps the distinct values each dimension (paths, referrer
	// origins, UTM values, event types, screen sizes, …) keeps per site and
	// day; later new values are counted under the value "(other)".
	// Default 5000.
	MaxValues *int `json:"max_values,omitempty"`
	// RateLimitMax is the per-IP request budget of the tracking paths per
	// RateLimitWindow; 0 disables the limiter. Default 100 per 60s.
	RateLimitMax    *int            `json:"rate_limit_max,omitempty"`
	RateLimitWindow *caddy.Duration `json:"rate_limit_window,omitempty"`
	// ViewFlush and EventFlush are the buffered writers' intervals.
	// Defaults 15s and 10s.
	ViewFlush  *caddy.Duration `json:"view_flush,omitempty"`
	EventFlush *caddy.Duration `json:"event_flush,omitempty"`
	// TrustProxy uses Caddy's client_ip (trusted_proxies) as the client
	// address instead of the socket peer.
	TrustProxy *bool `json:"trust_proxy,omitempty"`
	// BehindCloudflare honours CF-Connecting-IP, CF-IPCountry and the
	// Cloudflare bot headers, but only from a trusted proxy.
	BehindCloudflare *bool `json:"behind_cloudflare,omitempty"`
	// TrustGeoHeaders honours CloudFront-Viewer-Country and X-Country-Code.
	TrustGeoHeaders *bool `json:"trust_geo_headers,omitempty"`
	// CookieConsent shows the consent banner before data-cookie sets _ev.
	CookieConsent *bool `json:"cookie_consent,omitempty"`
	// IgnoredSites are site ids never stored (smoke-test always is).
	IgnoredSites *[]string `json:"ignored_sites,omitempty"`
	// SiteSuspectCountries is "site:CC,CC;site:CC".
	SiteSuspectCountries *string `json:"site_suspect_countries,omitempty"`
	// ChallengeWindow is how old a PoW challenge may be. Default 10m.
	ChallengeWindow *caddy.Duration `json:"challenge_window,omitempty"`
	// PoWDifficulty is the leading zero bits a proof-of-work hash needs.
	PoWDifficulty *int `json:"pow_difficulty,omitempty"`
	// PoWMissingPoints, PoWInvalidPoints, PoWExpiredPoints and
	// PoWReplayedPoints are the score points of a hit without a token,
	// with one that does not verify, with one that verifies but is older
	// than the challenge window, and with a pageview token seen before.
	// Defaults 50, 50, 15, 50 (see docs/bot-defense.md).
	PoWMissingPoints  *int `json:"pow_missing_points,omitempty"`
	PoWInvalidPoints  *int `json:"pow_invalid_points,omitempty"`
	PoWExpiredPoints  *int `json:"pow_expired_points,omitempty"`
	PoWReplayedPoints *int `json:"pow_replayed_points,omitempty"`
	// LiveStatsMinutes is the admin live bar's window. Default 10.
	LiveStatsMinutes *int `json:"live_stats_minutes,omitempty"`
	// DisplayTimezone is an IANA zone for admin pages. Default UTC.
	DisplayTimezone string `json:"display_timezone,omitempty"`
	// PublicMode opens the dashboard and API read-only to everyone.
	PublicMode *bool `json:"public_mode,omitempty"`
	// AnonymizeSites are site ids whose data is anonymized before storage:
	// every identifying field is replaced with a stand-in that changes each
	// UTC day, and their trackers scramble query and form values
	// (docs/privacy.md).
	AnonymizeSites *[]string `json:"anonymize_sites,omitempty"`
	// Telemetry forces the telemetry opt-in on or off; unset lets the admin
	// decide.
	Telemetry *bool `json:"telemetry,omitempty"`
	// Debug turns on debug logging of tracking decisions.
	Debug *bool `json:"debug,omitempty"`
	// ShutdownTimeout bounds the final flush on unload. Default 10s.
	ShutdownTimeout *caddy.Duration `json:"shutdown_timeout,omitempty"`
	// BasePath prefixes the tracking routes (ea.js, b.gif, e), e.g. "/_ea".
	// Default "".
	BasePath string `json:"base_path,omitempty"`
	// AdminPath is where the dashboard and the REST API live: the
	// dashboard at <admin_path>/, the API at <admin_path>/api/... "off"
	// serves neither on this site; "/" gives them a host of their own
	// (the API at /api/..., and robots.txt, sitemap.xml and llms.txt
	// are then Echelon's). Default "/_echelon" (env ECHELON_ADMIN_PATH).
	AdminPath string `json:"admin_path,omitempty"`
	// TelemetryURL is the Echelon instance the dashboard may report its
	// own usage to, once an administrator opts in. Nothing is ever sent,
	// and no opt-in is offered, while it is unset (the default; env
	// ECHELON_TELEMETRY_URL).
	TelemetryURL string `json:"telemetry_url,omitempty"`
	// Inject names the site id whose script tag is added to the HTML pages
	// of the next handler (docs/configuration.md, Injection).
	Inject string `json:"inject,omitempty"`

	// CrawlerFeeds, AIBotFeeds and DatacenterFeeds are threat feeds
	// (URLs or local files): crawler User-Agent regexes (crawler-user-agents
	// JSON), AI bot names (ai-robots-txt robots.json) and datacenter CIDRs
	// (AWS ip-ranges.json, GCP cloud.json or one CIDR per line). None by
	// default. The last good copy is cached in db_path/feeds.
	CrawlerFeeds    *[]string `json:"crawler_feeds,omitempty"`
	AIBotFeeds      *[]string `json:"ai_bot_feeds,omitempty"`
	DatacenterFeeds *[]string `json:"datacenter_feeds,omitempty"`
	// FeedRefresh is how often the threat feeds are fetched. Default 6h.
	FeedRefresh *caddy.Duration `json:"feed_refresh,omitempty"`

	// GeoIPDB is a MaxMind-format country database (.mmdb: GeoLite2-Country,
	// DB-IP Lite Country, IPinfo Lite) that gives each hit its country when
	// no trusted proxy header does. The file is memory-mapped and reloaded
	// within a minute of being replaced; a missing or unreadable file fails
	// provisioning. Default none (env ECHELON_GEOIP_DB); see docs/geoip.md.
	GeoIPDB string `json:"geoip_db,omitempty"`

	cfg       resolvedConfig
	logger    *zap.Logger
	shared    *shared
	poolKey   string
	track     *handlers.Tracking
	policy    *auth.Policy
	counters  *counters
	injector  *inject.Injector
	perf      *handlers.Perf
	settings  *handlers.Settings
	bots      *handlers.Bots
	manage    *handlers.Manage
	stats     *handlers.Stats
	campaigns *handlers.Campaigns
	ingest    *handlers.Ingest
	lists     *handlers.Lists
	geo       *geoip.DB

	// mux routes the dashboard and the API under admin_path; nil when
	// admin_path is off. notFound answers unknown dashboard paths.
	mux      *http.ServeMux
	notFound http.Handler
	// mcp serves the MCP tools at <admin_path>/api/mcp; each tool calls
	// the API through mux.
	mcp http.Handler
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.echelon",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision resolves the configuration and attaches to the shared store.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	cfg, err := h.resolve(lookupEnv)
	if err != nil {
		return err
	}
	h.cfg = cfg
	h.counters = newCounters(ctx.GetMetricsRegistry(), h.logger)
	if cfg.geoipDB != "" {
		if h.geo, err = h.openGeoIP(cfg.geoipDB); err != nil {
			return err
		}
	}

	h.poolKey = cfg.dbPath
	sh, err := acquire(cfg, h.logger, h.counters)
	if err != nil {
		return err
	}
	h.shared = sh
	sh.join(h, cfg)

	var bots *scoring.UAMatcher
	if len(cfg.botUAPatterns) > 0 {
		bots = scoring.NewUAMatcher(cfg.botUAPatterns)
	}
	verifier, err := sh.verifier(cfg, h.logger)
	if err != nil {
		return err
	}
	feeds, err := sh.threatFeeds(cfg, h.logger)
	if err != nil {
		return err
	}
	h.track = &handlers.Tracking{
		Config:  &cfg.handlers,
		Sink:    sh.writer,
		Salts:   sh.store,
		Rules:   &cfg.rules,
		Bots:    bots,
		Limiter: sh.limiter(cfg.rateLimitMax, cfg.rateLimitWindow),
		PoW:     verifier,
		Scripts: sh.scripts,
		UTM:     sh.store,
		Now:     time.Now,

		Burst:    sh.burst,
		BotIPs:   sh.botIPs,
		Feeds:    feeds,
		Prints:   sh.prints,
		Excluded: sh.store,
		Drops:    h.counters,
		Quality:  sh.store,
		Settings: sh.store,
	}
	if h.geo != nil {
		h.track.Geo = h.geo
	}
	h.track.Observe = debugObserver{counters: h.counters, logger: h.logger, locked: cfg.debug, on: &sh.debug}
	h.perf = &handlers.Perf{Store: sh.store, Now: time.Now}
	h.settings = &handlers.Settings{Store: sh.store, Telemetry: cfg.telemetry, DebugLocked: cfg.debug, Debug: &sh.debug, Now: time.Now}
	if cfg.inject != "" {
		if h.injector, err = inject.New(cfg.handlers.BasePath, cfg.inject); err != nil {
			return err
		}
	}
	h.bots = &handlers.Bots{Store: sh.store, Now: time.Now}
	h.manage = &handlers.Manage{Store: sh.store, Now: time.Now, PublicMode: cfg.handlers.PublicMode}
	h.stats = &handlers.Stats{
		Store: sh.store,
		Pending: func() (int, int) {
			st := sh.writer.Stats()
			return st.PendingViews, st.PendingEvents
		},
		PublicMode: cfg.handlers.PublicMode,
		Now:        time.Now,
	}
	h.campaigns = &handlers.Campaigns{Store: sh.store, Now: time.Now}
	h.lists = &handlers.Lists{Store: sh.store}
	h.ingest = &handlers.Ingest{Store: sh.store, Now: time.Now, Window: time.Duration(cfg.botRetentionDays) * 24 * time.Hour}
	if len(cfg.anonymizeSites) > 0 {
		anon, err := sh.anonymizer(cfg)
		if err != nil {
			return err
		}
		h.track.Anon, h.ingest.Anon, h.ingest.Anonymize = anon, anon, cfg.anonymizeSites
	}
	h.policy = &auth.Policy{
		Secret:     cfg.secret,
		Username:   cfg.username,
		PublicMode: cfg.handlers.PublicMode,
		Sessions:   sh.sessions,
	}
	if cfg.secret == "" && cfg.username == "" && !cfg.handlers.PublicMode && !cfg.adminOff {
		h.logger.Warn("no secret and no username configured: the dashboard and the API answer 401 until one is set")
	}
	if !cfg.adminOff {
		h.mcp = mcpserver.Handler(mcpserver.Local{
			API:    http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }),
			Prefix: cfg.adminPrefix,
		}, cfg.handlers.PublicMode)
		h.mux = h.newMux()
		dash, err := admin.New(admin.Config{
			Prefix:           cfg.adminPrefix,
			Policy:           h.policy,
			PasswordHash:     cfg.passwordHash,
			Logins:           sh.logins,
			ClientIP:         func(r *http.Request) netip.Addr { return h.peer(r).Addr },
			Location:         cfg.displayTimezone,
			LiveStatsMinutes: cfg.liveStatsMinutes,
			TelemetryURL:     cfg.telemetryURL,
		})
		if err != nil {
			return fmt.Errorf("echelon: dashboard: %w", err)
		}
		dash.Register(h.mux)
		h.notFound = dash.NotFound()
	}
	return nil
}

// Validate rejects configurations Provision could not catch alone.
func (h *Handler) Validate() error {
	if h.BasePath != "" && (!strings.HasPrefix(h.BasePath, "/") || strings.HasSuffix(h.BasePath, "/")) {
		return fmt.Errorf("base_path: %q must start with / and not end with /", h.BasePath)
	}
	if _, _, err := parseAdminPath(h.AdminPath); err != nil {
		return fmt.Errorf("admin_path: %v", err)
	}
	return nil
}

// Cleanup releases this instance's hold on the shared store; the last
// holder flushes the buffers and closes Badger.
func (h *Handler) Cleanup() error {
	_ = h.geo.Close()
	if h.shared == nil {
		return nil
	}
	h.shared.leave(h)
	_, err := pool.Delete(h.poolKey)
	return err
}

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

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
