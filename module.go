// Package echelon is the Caddy HTTP handler module of Echelon for Caddy:
// cookieless first-party analytics with proof-of-work bot defense.
package echelon

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
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

// Handler is the `echelon` HTTP handler: cookieless first-party analytics
// with proof-of-work bot defense. It answers the tracking routes (ea.js,
// b.gif, e) under BasePath and the dashboard and REST API under AdminPath,
// and passes every other request to the next handler untouched.
//
// Each exported field is a JSON field and a Caddyfile subdirective of the same
// name. An option not set here falls back to its ECHELON_* environment
// variable, read when the configuration loads, and then to its default;
// pointer fields tell "not set" apart from a zero value. Durations take
// Caddy's syntax (15s, 2m, 6h) in the Caddyfile and in their variables, and
// list variables are comma-separated. docs/configuration.md has the same
// reference as a table.
type Handler struct {
	// DBPath is the Badger data directory. Every `echelon` block that names
	// the same directory shares one store, kept open across `caddy reload`.
	// Default: ./echelon-data. Environment variable: ECHELON_DB_PATH.
	DBPath string `json:"db_path,omitempty"`

	// Secret is the instance secret: the API bearer token and the key of
	// proof of work and anonymization. While it is unset, bearer auth is
	// off and a secret generated once and kept in DBPath keys proof of work.
	// Default: none. Environment variable: ECHELON_SECRET.
	Secret string `json:"secret,omitempty"`

	// Username is the dashboard login name; it needs PasswordHash.
	// Default: none (no login). Environment variable: ECHELON_USERNAME.
	Username string `json:"username,omitempty"`

	// PasswordHash is the login's password hash,
	// pbkdf2$<iterations>$<salt>$<hash>, made by `caddy echelon
	// hash-password`. Default: none. Environment variable:
	// ECHELON_PASSWORD_HASH.
	PasswordHash string `json:"password_hash,omitempty"`

	// RetentionDays is how many days raw rows scoring 0–49 are kept (1 to
	// 36500); a reload that shortens it purges at once. Default: 90.
	// Environment variable: ECHELON_RETENTION_DAYS.
	RetentionDays *int `json:"retention_days,omitempty"`

	// BotRetentionDays is how many days rows scoring 50 or more, and
	// ingested rows, are kept (1 to 36500); it is also how far back
	// /api/ingest accepts events. Default: RetentionDays. Environment
	// variable: ECHELON_BOT_RETENTION_DAYS.
	BotRetentionDays *int `json:"bot_retention_days,omitempty"`

	// SuspectCountries are the two-letter country codes that add
	// SuspectPoints to a hit's score. Default: [CN]. Environment variable:
	// ECHELON_SUSPECT_COUNTRIES.
	SuspectCountries *[]string `json:"suspect_countries,omitempty"`

	// SuspectPoints is what a suspect country adds to a hit's score (−100
	// to 100). Default: 30. Environment variable: ECHELON_SUSPECT_POINTS.
	SuspectPoints *int `json:"suspect_points,omitempty"`

	// BotDiscardThreshold drops hits scoring at or above it before storage
	// (0 to 100); 0 stores everything, and statistics count only scores
	// 0–49. Default: 0. Environment variable: ECHELON_BOT_DISCARD_THRESHOLD.
	BotDiscardThreshold *int `json:"bot_discard_threshold,omitempty"`

	// BotUAPatterns are the known-bot User-Agent substrings (any case); they
	// replace the built-in list, and an empty list turns the check off.
	// Default: the built-in list (docs/bot-defense.md). Environment
	// variable: ECHELON_BOT_UA_PATTERNS.
	BotUAPatterns *[]string `json:"bot_ua_patterns,omitempty"`

	// AllowedOrigins are the hostnames (no scheme, port or path) whose
	// pages may send beacons and load ea.js. Default: none, which lets
	// every origin send. Environment variable: ECHELON_ALLOWED_ORIGINS.
	AllowedOrigins *[]string `json:"allowed_origins,omitempty"`

	// AllowedSites, when not empty, are the only site ids stored (any
	// case). Default: none, which stores every site. Environment variable:
	// ECHELON_ALLOWED_SITES.
	AllowedSites *[]string `json:"allowed_sites,omitempty"`

	// MaxSites caps the site ids that get statistics of their own (1 to
	// 1,000,000). A site is registered by its first clean hit (score below
	// 50), never by a bot's; every other site id's hits are stored and
	// counted under the site "(other)". Default: 1000. Environment
	// variable: ECHELON_MAX_SITES.
	MaxSites *int `json:"max_sites,omitempty"`

	// MaxValues caps the distinct values each dimension (paths, referrer
	// origins, UTM values, event types, screen sizes, ...) keeps per site
	// and UTC day (10 to 1,000,000); later new values count under the value
	// "(other)". Default: 5000. Environment variable: ECHELON_MAX_VALUES.
	MaxValues *int `json:"max_values,omitempty"`

	// MaxBotRows caps the bot rows (score 50 or more) stored per site, UTC
	// day and kind, views or events (0 to 10,000,000); later bot hits of
	// that day are counted in traffic quality and
	// echelon_bot_rows_over_budget_total but not stored, so a flood cannot
	// fill the disk. 0 stores no bot rows at all. Clean rows are never
	// capped. Default: 20000. Environment variable: ECHELON_MAX_BOT_ROWS.
	MaxBotRows *int `json:"max_bot_rows,omitempty"`

	// RateLimitMax is the number of tracking requests a client IP (an IPv6
	// client per /64) may make per RateLimitWindow (0 to 1,000,000); 0
	// turns the limiter off. Default: 100. Environment variable:
	// ECHELON_RATE_LIMIT_MAX.
	RateLimitMax *int `json:"rate_limit_max,omitempty"`

	// RateLimitWindow is the rate limiter's window. Default: 1m.
	// Environment variable: ECHELON_RATE_LIMIT_WINDOW (older name
	// ECHELON_RATE_LIMIT_WINDOW_MS, in milliseconds).
	RateLimitWindow *caddy.Duration `json:"rate_limit_window,omitempty"`

	// ViewFlush is how often buffered pageviews are written to the store.
	// Default: 15s. Environment variable: ECHELON_VIEW_FLUSH (older name
	// ECHELON_VIEW_FLUSH_MS, in milliseconds).
	ViewFlush *caddy.Duration `json:"view_flush,omitempty"`

	// EventFlush is how often buffered events are written to the store.
	// Default: 10s. Environment variable: ECHELON_EVENT_FLUSH (older name
	// ECHELON_EVENT_FLUSH_MS, in milliseconds).
	EventFlush *caddy.Duration `json:"event_flush,omitempty"`

	// TrustProxy takes the client IP from Caddy's client_ip (set
	// trusted_proxies in the server options) instead of the socket peer.
	// Default: false. Environment variable: ECHELON_TRUST_PROXY.
	TrustProxy *bool `json:"trust_proxy,omitempty"`

	// BehindCloudflare honours CF-Connecting-IP, CF-IPCountry and
	// Cloudflare's bot headers, only from a peer in trusted_proxies.
	// Default: false. Environment variable: ECHELON_BEHIND_CLOUDFLARE.
	BehindCloudflare *bool `json:"behind_cloudflare,omitempty"`

	// TrustGeoHeaders honours the CloudFront-Viewer-Country and
	// X-Country-Code headers. Default: false. Environment variable:
	// ECHELON_TRUST_GEO_HEADERS.
	TrustGeoHeaders *bool `json:"trust_geo_headers,omitempty"`

	// CookieConsent makes pages whose script tag has data-cookie show a
	// consent banner and send the cookie only after Accept
	// (docs/tracker.md). Default: false. Environment variable:
	// ECHELON_COOKIE_CONSENT.
	CookieConsent *bool `json:"cookie_consent,omitempty"`

	// IgnoredSites are site ids never stored (any case); smoke-test never
	// is. Default: none. Environment variable: ECHELON_IGNORED_SITES.
	IgnoredSites *[]string `json:"ignored_sites,omitempty"`

	// SiteSuspectCountries adds per-site suspect countries to the global
	// list, as "site:CC,CC;site:CC"; each scores SuspectPoints. Entries
	// with no site or no country are skipped. Default: none. Environment
	// variable: ECHELON_SITE_SUSPECT_COUNTRIES.
	SiteSuspectCountries *string `json:"site_suspect_countries,omitempty"`

	// ChallengeWindow is how old a proof-of-work challenge may be (1m to
	// 1h). Default: 10m. Environment variable: ECHELON_CHALLENGE_WINDOW
	// (older name ECHELON_CHALLENGE_WINDOW_MINUTES, in minutes).
	ChallengeWindow *caddy.Duration `json:"challenge_window,omitempty"`

	// PoWDifficulty is the number of leading zero bits a proof-of-work hash
	// needs (1 to 20; docs/bot-defense.md). Default: 14. Environment
	// variable: ECHELON_POW_DIFFICULTY.
	PoWDifficulty *int `json:"pow_difficulty,omitempty"`

	// PoWMissingPoints is the score a beacon or event batch without a
	// proof-of-work token gets (0 to 100). Default: 50. Environment
	// variable: ECHELON_POW_MISSING_POINTS.
	PoWMissingPoints *int `json:"pow_missing_points,omitempty"`

	// PoWInvalidPoints is the score of a token that does not verify: wrong
	// hash, site or session, too little work, a made-up bucket (0 to 100).
	// Default: 50. Environment variable: ECHELON_POW_INVALID_POINTS.
	PoWInvalidPoints *int `json:"pow_invalid_points,omitempty"`

	// PoWExpiredPoints is the score of a token that verifies but is older
	// than ChallengeWindow (0 to 100). Default: 15. Environment variable:
	// ECHELON_POW_EXPIRED_POINTS.
	PoWExpiredPoints *int `json:"pow_expired_points,omitempty"`

	// PoWReplayedPoints is the score of a pageview token used a second time
	// (0 to 100). Default: 50. Environment variable:
	// ECHELON_POW_REPLAYED_POINTS.
	PoWReplayedPoints *int `json:"pow_replayed_points,omitempty"`

	// LiveStatsMinutes is the window of the dashboard's live bar in minutes
	// (1 to 1440; at most 180 are counted). Default: 10. Environment
	// variable: ECHELON_LIVE_STATS_MINUTES.
	LiveStatsMinutes *int `json:"live_stats_minutes,omitempty"`

	// DisplayTimezone is the IANA time zone of the times the dashboard
	// shows. Default: UTC. Environment variable: ECHELON_DISPLAY_TIMEZONE.
	DisplayTimezone string `json:"display_timezone,omitempty"`

	// PublicMode opens the dashboard and the API read-only to everyone
	// (docs/privacy.md). Default: false. Environment variable:
	// ECHELON_PUBLIC_MODE.
	PublicMode *bool `json:"public_mode,omitempty"`

	// AnonymizeSites are site ids whose identifying fields are replaced
	// with stand-ins that change each UTC day before storage, and whose
	// trackers scramble query and form values (docs/privacy.md). Default:
	// none. Environment variable: ECHELON_ANONYMIZE_SITES.
	AnonymizeSites *[]string `json:"anonymize_sites,omitempty"`

	// Telemetry forces the dashboard's telemetry opt-in on or off and locks
	// /api/telemetry. Default: unset, which lets an administrator decide.
	// Environment variable: ECHELON_TELEMETRY.
	Telemetry *bool `json:"telemetry,omitempty"`

	// Debug turns on debug logging of tracking outcomes; while it is off,
	// POST /api/debug can switch it on at run time. Default: false.
	// Environment variable: ECHELON_DEBUG.
	Debug *bool `json:"debug,omitempty"`

	// ShutdownTimeout bounds the whole unload of a DBPath: cancelling
	// maintenance, the final flush and closing Badger (docs/operations.md).
	// Default: 10s. Environment variable: ECHELON_SHUTDOWN_TIMEOUT (older
	// name ECHELON_SHUTDOWN_TIMEOUT_MS, in milliseconds).
	ShutdownTimeout *caddy.Duration `json:"shutdown_timeout,omitempty"`

	// BasePath prefixes the tracking routes: "/_ea" serves /_ea/ea.js,
	// /_ea/b.gif and /_ea/e. It starts with / and does not end with one.
	// Default: empty. It has no environment variable.
	BasePath string `json:"base_path,omitempty"`

	// AdminPath is where the dashboard (<admin_path>/) and the REST API
	// (<admin_path>/api/...) live. "off" serves neither on this site; "/"
	// gives them a host of their own, where robots.txt, sitemap.xml and
	// llms.txt are then Echelon's too. Default: /_echelon. Environment
	// variable: ECHELON_ADMIN_PATH.
	AdminPath string `json:"admin_path,omitempty"`

	// TelemetryURL is the Echelon instance the dashboard may report its own
	// usage to, once an administrator opts in; while it is unset nothing is
	// ever sent and no opt-in is offered (docs/dashboard.md). Default: none.
	// Environment variable: ECHELON_TELEMETRY_URL.
	TelemetryURL string `json:"telemetry_url,omitempty"`

	// Inject names the site id whose script tag is added to the HTML pages
	// of the next handler, streamed, before </head> (docs/configuration.md,
	// Injection). Default: none (no injection). It has no environment
	// variable.
	Inject string `json:"inject,omitempty"`

	// CrawlerFeeds are threat feeds of crawler User-Agent regexes in the
	// crawler-user-agents JSON format: http(s) URLs or local files. The
	// last good copy is cached in DBPath/feeds. Default: none. Environment
	// variable: ECHELON_CRAWLER_FEEDS.
	CrawlerFeeds *[]string `json:"crawler_feeds,omitempty"`

	// AIBotFeeds are threat feeds of AI bot names in the ai-robots-txt
	// robots.json format: http(s) URLs or local files. Default: none.
	// Environment variable: ECHELON_AI_BOT_FEEDS.
	AIBotFeeds *[]string `json:"ai_bot_feeds,omitempty"`

	// DatacenterFeeds are threat feeds of datacenter CIDRs (AWS
	// ip-ranges.json, GCP cloud.json, or one CIDR per line): http(s) URLs
	// or local files. Default: none. Environment variable:
	// ECHELON_DATACENTER_FEEDS.
	DatacenterFeeds *[]string `json:"datacenter_feeds,omitempty"`

	// FeedRefresh is how often the threat feeds are fetched (1m or more).
	// Default: 6h. Environment variable: ECHELON_FEED_REFRESH (older name
	// ECHELON_FEED_REFRESH_MS, in milliseconds).
	FeedRefresh *caddy.Duration `json:"feed_refresh,omitempty"`

	// GeoIPDB is a MaxMind-format country database (.mmdb: GeoLite2-Country,
	// DB-IP Lite Country, IPinfo Lite) that gives each hit its country when
	// no trusted proxy header does. The file is memory-mapped and reloaded
	// within a minute of being replaced; a missing or unreadable file fails
	// provisioning (docs/geoip.md). Default: none. Environment variable:
	// ECHELON_GEOIP_DB.
	GeoIPDB string `json:"geoip_db,omitempty"`

	cfg       resolvedConfig
	logger    *zap.Logger
	shared    *shared
	poolKey   string
	track     *handlers.Tracking
	stopFeed  func() // unregisters track's held beacons from the writer
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
	h.track.HoldBeacons = handlers.DefaultHoldBeacons
	h.stopFeed = sh.writer.Feed(h.track.ProcessHeld)
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
	if h.stopFeed != nil {
		h.track.StopHolding()
		h.stopFeed()
	}
	h.shared.leave(h)
	_, err := pool.Delete(h.poolKey)
	return err
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
