package echelon

import (
	"fmt"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/echelon-analytics/caddy-echelon/auth"
	"github.com/echelon-analytics/caddy-echelon/handlers"
	"github.com/echelon-analytics/caddy-echelon/pow"
	"github.com/echelon-analytics/caddy-echelon/scoring"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// settings is the Handler's configuration after the Caddyfile/JSON value,
// the ECHELON_* environment and the defaults were applied, in that order.
type settings struct {
	dbPath                          string
	secret, username, passwordHash  string
	retentionDays, botRetentionDays int
	maxSites, maxValues             int
	rateLimitMax                    int
	rateLimitWindow                 time.Duration
	viewFlush, eventFlush           time.Duration
	challengeWindow                 time.Duration
	powDifficulty                   int
	shutdownTimeout                 time.Duration
	trustProxy, cookieConsent       bool
	debug                           bool
	telemetry                       *bool
	botUAPatterns                   []string
	liveStatsMinutes                int
	displayTimezone                 *time.Location
	anonymizeSites                  map[string]bool
	inject                          string
	// adminPrefix is admin_path without a trailing slash ("" for "/");
	// adminOff is `admin_path off`.
	adminPrefix  string
	adminOff     bool
	telemetryURL string
	handlers     handlers.Config
	rules        scoring.Rules
	feedSources  []scoring.FeedSource
	feedRefresh  time.Duration
	geoipDB      string
}

// defaultPoWDifficulty is the proof-of-work difficulty in leading zero bits,
// chosen from solve times measured in headless Chromium (see
// docs/performance.md, Proof of work).
const defaultPoWDifficulty = 14

// lookupEnv is the real environment; tests pass a map instead.
func lookupEnv(name string) (string, bool) { return os.LookupEnv(name) }

// resolver applies value › environment › default to one option at a time
// and keeps the first error, which names the option.
type resolver struct {
	env func(string) (string, bool)
	err error
}

func (r *resolver) fail(option, env, format string, args ...any) {
	if r.err != nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if env != "" {
		r.err = fmt.Errorf("echelon: %s (from %s): %s", option, env, msg)
		return
	}
	r.err = fmt.Errorf("echelon: %s: %s", option, msg)
}

func (r *resolver) str(option, env string, v string, def string) string {
	if strings.Contains(v, "{") {
		// Global placeholders such as {env.ECHELON_SECRET}, as in every
		// Caddy module; unknown ones stay as written.
		v = caddy.NewReplacer().ReplaceKnown(v, "")
	}
	if v != "" {
		return v
	}
	if e, ok := r.env(env); ok && e != "" {
		return e
	}
	return def
}

// integer resolves an int option and checks lo <= value <= hi.
func (r *resolver) integer(option, env string, v *int, def, lo, hi int) int {
	n, from := def, ""
	if v != nil {
		n = *v
	} else if e, ok := r.env(env); ok && strings.TrimSpace(e) != "" {
		parsed, err := strconv.Atoi(strings.TrimSpace(e))
		if err != nil {
			r.fail(option, env, "%q is not an integer", e)
			return def
		}
		n, from = parsed, env
	}
	if n < lo || n > hi {
		r.fail(option, from, "%d is outside %d..%d", n, lo, hi)
	}
	return n
}

// duration resolves a duration option; the environment variable counts in
// envUnit (milliseconds for the *_MS variables).
func (r *resolver) duration(option, env string, v *caddy.Duration, def, envUnit time.Duration) time.Duration {
	d, from := def, ""
	if v != nil {
		d = time.Duration(*v)
	} else if e, ok := r.env(env); ok && strings.TrimSpace(e) != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(e), 10, 64)
		if err != nil {
			r.fail(option, env, "%q is not a whole number", e)
			return def
		}
		d, from = time.Duration(n)*envUnit, env
	}
	if d <= 0 {
		r.fail(option, from, "must be positive, got %s", d)
	}
	return d
}

func (r *resolver) boolean(option, env string, v *bool, def bool) bool {
	if v != nil {
		return *v
	}
	if b := r.optBool(option, env, nil); b != nil {
		return *b
	}
	return def
}

// optBool is a tri-state option: nil when neither value nor env is set.
func (r *resolver) optBool(option, env string, v *bool) *bool {
	if v != nil {
		return v
	}
	e, ok := r.env(env)
	if !ok || strings.TrimSpace(e) == "" {
		return nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(e))
	if err != nil {
		r.fail(option, env, "%q is not true or false", e)
		return nil
	}
	return &b
}

// list resolves a list option; the environment variable is comma-separated
// and an empty value means an empty list.
func (r *resolver) list(env string, v *[]string, def []string) []string {
	if v != nil {
		return *v
	}
	if e, ok := r.env(env); ok {
		return splitList(e)
	}
	return def
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func lowerSet(items []string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, s := range items {
		m[strings.ToLower(s)] = true
	}
	return m
}

// resolve turns the Handler's fields into settings, validating each.
func (h *Handler) resolve(env func(string) (string, bool)) (settings, error) {
	r := &resolver{env: env}
	var s settings
	s.dbPath = r.str("db_path", "ECHELON_DB_PATH", h.DBPath, "./echelon-data")
	s.secret = r.str("secret", "ECHELON_SECRET", h.Secret, "")
	s.username = r.str("username", "ECHELON_USERNAME", h.Username, "")
	s.passwordHash = r.str("password_hash", "ECHELON_PASSWORD_HASH", h.PasswordHash, "")
	if s.passwordHash != "" {
		if err := auth.ParsePasswordHash(s.passwordHash); err != nil {
			r.fail("password_hash", "", "%v", err)
		}
	}
	if s.username != "" && s.passwordHash == "" {
		r.fail("username", "", "needs password_hash (make one with `caddy echelon hash-password`)")
	}
	s.retentionDays = r.integer("retention_days", "ECHELON_RETENTION_DAYS", h.RetentionDays, 90, 1, 36500)
	s.botRetentionDays = r.integer("bot_retention_days", "ECHELON_BOT_RETENTION_DAYS", h.BotRetentionDays, s.retentionDays, 1, 36500)
	s.maxSites = r.integer("max_sites", "ECHELON_MAX_SITES", h.MaxSites, storage.DefaultMaxSites, 1, 1_000_000)
	s.maxValues = r.integer("max_values", "ECHELON_MAX_VALUES", h.MaxValues, storage.DefaultMaxValues, 10, 1_000_000)
	s.rateLimitMax = r.integer("rate_limit_max", "ECHELON_RATE_LIMIT_MAX", h.RateLimitMax, 100, 0, 1_000_000)
	s.rateLimitWindow = r.duration("rate_limit_window", "ECHELON_RATE_LIMIT_WINDOW_MS", h.RateLimitWindow, time.Minute, time.Millisecond)
	s.viewFlush = r.duration("view_flush", "ECHELON_VIEW_FLUSH_MS", h.ViewFlush, 15*time.Second, time.Millisecond)
	s.eventFlush = r.duration("event_flush", "ECHELON_EVENT_FLUSH_MS", h.EventFlush, 10*time.Second, time.Millisecond)
	s.challengeWindow = r.duration("challenge_window", "ECHELON_CHALLENGE_WINDOW_MINUTES", h.ChallengeWindow, 10*time.Minute, time.Minute)
	s.powDifficulty = r.integer("pow_difficulty", "ECHELON_POW_DIFFICULTY", h.PoWDifficulty, defaultPoWDifficulty, 1, pow.DefaultMaxDifficulty)
	if s.challengeWindow < time.Minute || s.challengeWindow > pow.MaxWindow*time.Minute {
		r.fail("challenge_window", "", "%s is outside 1m..%dm", s.challengeWindow, pow.MaxWindow)
	}
	s.shutdownTimeout = r.duration("shutdown_timeout", "ECHELON_SHUTDOWN_TIMEOUT_MS", h.ShutdownTimeout, 10*time.Second, time.Millisecond)
	s.trustProxy = r.boolean("trust_proxy", "ECHELON_TRUST_PROXY", h.TrustProxy, false)
	s.cookieConsent = r.boolean("cookie_consent", "ECHELON_COOKIE_CONSENT", h.CookieConsent, false)
	s.debug = r.boolean("debug", "ECHELON_DEBUG", h.Debug, false)
	s.telemetry = r.optBool("telemetry", "ECHELON_TELEMETRY", h.Telemetry)
	s.botUAPatterns = r.list("ECHELON_BOT_UA_PATTERNS", h.BotUAPatterns, scoring.DefaultBotUAPatterns())
	s.liveStatsMinutes = r.integer("live_stats_minutes", "ECHELON_LIVE_STATS_MINUTES", h.LiveStatsMinutes, 10, 1, 1440)
	tz := r.str("display_timezone", "ECHELON_DISPLAY_TIMEZONE", h.DisplayTimezone, "UTC")
	loc, err := time.LoadLocation(tz)
	if err != nil {
		r.fail("display_timezone", "", "unknown time zone %q", tz)
	}
	s.displayTimezone = loc
	s.anonymizeSites = lowerSet(r.list("ECHELON_ANONYMIZE_SITES", h.AnonymizeSites, nil))
	s.inject = h.Inject
	if h.Inject != "" && !storage.ValidSiteID(h.Inject) {
		r.fail("inject", "", "%q is not a site id ([A-Za-z0-9._-]{1,64})", h.Inject)
	}

	adminPath := r.str("admin_path", "ECHELON_ADMIN_PATH", h.AdminPath, defaultAdminPath)
	prefix, off, err := parseAdminPath(adminPath)
	if err != nil {
		r.fail("admin_path", "", "%v", err)
	}
	s.adminPrefix, s.adminOff = prefix, off
	s.telemetryURL = r.str("telemetry_url", "ECHELON_TELEMETRY_URL", h.TelemetryURL, "")
	if s.telemetryURL != "" {
		if u, err := url.Parse(s.telemetryURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			r.fail("telemetry_url", "", "%q is not an http(s) URL", s.telemetryURL)
		}
	}

	hc := &s.handlers
	hc.BasePath = h.BasePath
	hc.AllowedOrigins = r.origins(r.list("ECHELON_ALLOWED_ORIGINS", h.AllowedOrigins, nil))
	hc.IgnoredSites = lowerSet(r.list("ECHELON_IGNORED_SITES", h.IgnoredSites, nil))
	hc.AllowedSites = lowerSet(r.list("ECHELON_ALLOWED_SITES", h.AllowedSites, nil))
	hc.BehindCloudflare = r.boolean("behind_cloudflare", "ECHELON_BEHIND_CLOUDFLARE", h.BehindCloudflare, false)
	hc.TrustGeoHeaders = r.boolean("trust_geo_headers", "ECHELON_TRUST_GEO_HEADERS", h.TrustGeoHeaders, false)
	hc.DiscardThreshold = r.integer("bot_discard_threshold", "ECHELON_BOT_DISCARD_THRESHOLD", h.BotDiscardThreshold, 0, 0, 100)
	hc.PublicMode = r.boolean("public_mode", "ECHELON_PUBLIC_MODE", h.PublicMode, false)
	hc.CookieConsent = s.cookieConsent
	hc.AnonymizeSites = s.anonymizeSites

	s.rules.SuspectPoints = r.integer("suspect_points", "ECHELON_SUSPECT_POINTS", h.SuspectPoints, 30, -100, 100)
	s.rules.PoWPoints = map[string]int{
		"missing":  r.integer("pow_missing_points", "ECHELON_POW_MISSING_POINTS", h.PoWMissingPoints, 50, 0, 100),
		"invalid":  r.integer("pow_invalid_points", "ECHELON_POW_INVALID_POINTS", h.PoWInvalidPoints, 50, 0, 100),
		"expired":  r.integer("pow_expired_points", "ECHELON_POW_EXPIRED_POINTS", h.PoWExpiredPoints, 15, 0, 100),
		"replayed": r.integer("pow_replayed_points", "ECHELON_POW_REPLAYED_POINTS", h.PoWReplayedPoints, 50, 0, 100),
	}
	s.rules.SuspectCountries = r.countries("suspect_countries", r.list("ECHELON_SUSPECT_COUNTRIES", h.SuspectCountries, []string{"CN"}))
	ssc := ""
	if h.SiteSuspectCountries != nil {
		ssc = *h.SiteSuspectCountries
	} else if e, ok := env("ECHELON_SITE_SUSPECT_COUNTRIES"); ok {
		ssc = e
	}
	s.rules.SiteSuspectCountries = r.siteCountries(ssc)
	s.feedSources = r.feeds(h)
	s.feedRefresh = r.duration("feed_refresh", "ECHELON_FEED_REFRESH_MS", h.FeedRefresh, scoring.DefaultFeedInterval, time.Millisecond)
	if s.feedRefresh < time.Minute {
		r.fail("feed_refresh", "", "%s is below 1m", s.feedRefresh)
	}
	s.geoipDB = r.str("geoip_db", "ECHELON_GEOIP_DB", h.GeoIPDB, "")
	return s, r.err
}

// defaultAdminPath is where the dashboard and the API live unless
// admin_path says otherwise: a path no common web app uses.
const defaultAdminPath = "/_echelon"

// parseAdminPath checks an admin_path value and returns its route prefix:
// "" for "/" (a host of Echelon's own), the path itself otherwise; off is
// true for "off". "" means the default.
func parseAdminPath(v string) (prefix string, off bool, err error) {
	switch v {
	case "":
		return defaultAdminPath, false, nil
	case "off":
		return "", true, nil
	case "/":
		return "", false, nil
	}
	if !strings.HasPrefix(v, "/") || strings.HasSuffix(v, "/") || strings.Contains(v, "//") ||
		strings.ContainsAny(v, "{}?#% \t") || path.Clean(v) != v {
		return "", false, fmt.Errorf("%q must be off, / or a clean path such as /_echelon (no trailing slash, no {, }, ?, #, %% or spaces)", v)
	}
	return v, false, nil
}

// countries validates ISO 3166 alpha-2 codes and upper-cases them.
func (r *resolver) countries(option string, codes []string) map[string]bool {
	m := make(map[string]bool, len(codes))
	for _, c := range codes {
		c = strings.ToUpper(strings.TrimSpace(c))
		if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
			r.fail(option, "", "%q is not a two-letter country code", c)
			continue
		}
		m[c] = true
	}
	return m
}

// siteCountries parses "site:CC,CC;site:CC" (docs/configuration.md): entries
// with an empty site or no countries are skipped, bad codes are errors.
func (r *resolver) siteCountries(spec string) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, entry := range strings.Split(spec, ";") {
		site, codes, ok := strings.Cut(entry, ":")
		site = strings.ToLower(strings.TrimSpace(site))
		list := splitList(codes)
		if !ok || site == "" || len(list) == 0 {
			continue
		}
		out[site] = r.countries("site_suspect_countries", list)
	}
	return out
}

// origins validates allow-listed hostnames and lower-cases them.
func (r *resolver) origins(hosts []string) []string {
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" || strings.ContainsAny(h, "/:@ ") {
			r.fail("allowed_origins", "", "%q is not a hostname (no scheme, port or path)", h)
			continue
		}
		out = append(out, h)
	}
	return out
}

// feeds collects the threat feed sources: http(s) URLs or local paths.
func (r *resolver) feeds(h *Handler) []scoring.FeedSource {
	var out []scoring.FeedSource
	for _, f := range []struct {
		option, env string
		v           *[]string
		kind        scoring.FeedKind
	}{
		{"crawler_feeds", "ECHELON_CRAWLER_FEEDS", h.CrawlerFeeds, scoring.FeedCrawlerUA},
		{"ai_bot_feeds", "ECHELON_AI_BOT_FEEDS", h.AIBotFeeds, scoring.FeedAIBots},
		{"datacenter_feeds", "ECHELON_DATACENTER_FEEDS", h.DatacenterFeeds, scoring.FeedDatacenter},
	} {
		for _, loc := range r.list(f.env, f.v, nil) {
			if strings.Contains(loc, "://") && !strings.HasPrefix(loc, "http://") && !strings.HasPrefix(loc, "https://") {
				r.fail(f.option, "", "%q is neither an http(s) URL nor a file path", loc)
				continue
			}
			out = append(out, scoring.FeedSource{Kind: f.kind, Location: loc})
		}
	}
	return out
}
