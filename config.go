package echelon

import (
	"fmt"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/echelon-analytics/caddy-echelon/auth"
	"github.com/echelon-analytics/caddy-echelon/handlers"
	"github.com/echelon-analytics/caddy-echelon/scoring"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// resolvedConfig is the Handler's configuration after the Caddyfile/JSON value,
// the ECHELON_* environment and the defaults were applied, in that order.
type resolvedConfig struct {
	dbPath                          string
	secret, username, passwordHash  string
	retentionDays, botRetentionDays int
	maxSites, maxValues, maxBotRows int
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

// lookupEnv is the real environment; tests pass a map instead.
func lookupEnv(name string) (string, bool) { return os.LookupEnv(name) }

// resolver applies value › environment › default to one option of the
// table at a time and keeps the first error, which names the option.
type resolver struct {
	h   *Handler
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

// lookup reads an option's variable; a variable without a name is never set.
func (r *resolver) lookup(name string) (string, bool) {
	if name == "" {
		return "", false
	}
	return r.env(name)
}

// text resolves a string option. A *string field is unset while empty and
// takes Caddy's global placeholders; a **string field is unset while nil,
// and its variable applies even when empty.
func (r *resolver) text(name string) string {
	o := optionNamed(name)
	def, _ := o.def.(string)
	switch p := o.field(r.h).(type) {
	case *string:
		v := *p
		if strings.Contains(v, "{") {
			// Global placeholders such as {env.ECHELON_SECRET}, as in every
			// Caddy module; unknown ones stay as written.
			v = caddy.NewReplacer().ReplaceKnown(v, "")
		}
		if v != "" {
			return v
		}
		if e, ok := r.lookup(o.env); ok && e != "" {
			return e
		}
	case **string:
		if *p != nil {
			return **p
		}
		if e, ok := r.lookup(o.env); ok {
			return e
		}
	}
	return def
}

// number resolves an integer option and checks its bounds.
func (r *resolver) number(name string) int {
	o := optionNamed(name)
	var n int
	from := ""
	if p := *o.field(r.h).(**int); p != nil {
		n = *p
	} else if e, ok := r.lookup(o.env); ok && strings.TrimSpace(e) != "" {
		parsed, err := strconv.Atoi(strings.TrimSpace(e))
		if err != nil {
			r.fail(name, o.env, "%q is not an integer", e)
			return 0
		}
		n, from = parsed, o.env
	} else if o.defFrom != "" {
		n = r.number(o.defFrom)
	} else {
		n = o.def.(int)
	}
	if int64(n) < o.lo || int64(n) > o.hi {
		r.fail(name, from, "%d is outside %d..%d", n, o.lo, o.hi)
	}
	return n
}

// duration resolves a duration option and checks its bounds. Its variable
// takes Caddy's duration syntax (15s, 2m, 6h); the older variable counts
// a bare number of the option's oldEnvUnit.
func (r *resolver) duration(name string) time.Duration {
	o := optionNamed(name)
	d, from := o.def.(time.Duration), ""
	if p := *o.field(r.h).(**caddy.Duration); p != nil {
		d = time.Duration(*p)
	} else if e, ok := r.lookup(o.env); ok && strings.TrimSpace(e) != "" {
		parsed, err := caddy.ParseDuration(strings.TrimSpace(e))
		if err != nil {
			r.fail(name, o.env, "%q is not a duration such as 15s", e)
			return d
		}
		d, from = parsed, o.env
	} else if e, ok := r.lookup(o.oldEnv); ok && strings.TrimSpace(e) != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(e), 10, 64)
		if err != nil {
			r.fail(name, o.oldEnv, "%q is not a whole number", e)
			return d
		}
		d, from = time.Duration(n)*o.oldEnvUnit, o.oldEnv
	}
	switch {
	case d <= 0:
		r.fail(name, from, "must be positive, got %s", d)
	case o.hi > 0 && (d < time.Duration(o.lo) || d > time.Duration(o.hi)):
		r.fail(name, from, "%s is outside %s..%s", shortDuration(d), shortDuration(time.Duration(o.lo)), shortDuration(time.Duration(o.hi)))
	case d < time.Duration(o.lo):
		r.fail(name, from, "%s is below %s", shortDuration(d), shortDuration(time.Duration(o.lo)))
	}
	return d
}

// flag resolves a boolean option.
func (r *resolver) flag(name string) bool {
	if b := r.optionalFlag(name); b != nil {
		return *b
	}
	def, _ := optionNamed(name).def.(bool)
	return def
}

// optionalFlag resolves a tri-state option: nil when neither the value nor
// the variable is set.
func (r *resolver) optionalFlag(name string) *bool {
	o := optionNamed(name)
	if p := *o.field(r.h).(**bool); p != nil {
		return p
	}
	e, ok := r.lookup(o.env)
	if !ok || strings.TrimSpace(e) == "" {
		return nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(e))
	if err != nil {
		r.fail(name, o.env, "%q is not true or false", e)
		return nil
	}
	return &b
}

// list resolves a list option; the variable is comma-separated and an
// empty value means an empty list.
func (r *resolver) list(name string) []string {
	o := optionNamed(name)
	if p := *o.field(r.h).(**[]string); p != nil {
		return *p
	}
	if e, ok := r.lookup(o.env); ok {
		return splitList(e)
	}
	def, _ := o.def.([]string)
	return slices.Clone(def)
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

// resolve turns the Handler's fields into a resolvedConfig, validating each.
func (h *Handler) resolve(env func(string) (string, bool)) (resolvedConfig, error) {
	r := &resolver{h: h, env: env}
	var s resolvedConfig
	s.dbPath = r.text("db_path")
	s.secret = r.text("secret")
	s.username = r.text("username")
	s.passwordHash = r.text("password_hash")
	if s.passwordHash != "" {
		if err := auth.ParsePasswordHash(s.passwordHash); err != nil {
			r.fail("password_hash", "", "%v", err)
		}
	}
	if s.username != "" && s.passwordHash == "" {
		r.fail("username", "", "needs password_hash (make one with `caddy echelon hash-password`)")
	}
	s.retentionDays = r.number("retention_days")
	s.botRetentionDays = r.number("bot_retention_days")
	s.maxSites = r.number("max_sites")
	s.maxValues = r.number("max_values")
	s.maxBotRows = r.number("max_bot_rows")
	s.rateLimitMax = r.number("rate_limit_max")
	s.rateLimitWindow = r.duration("rate_limit_window")
	s.viewFlush = r.duration("view_flush")
	s.eventFlush = r.duration("event_flush")
	s.challengeWindow = r.duration("challenge_window")
	s.powDifficulty = r.number("pow_difficulty")
	s.shutdownTimeout = r.duration("shutdown_timeout")
	s.trustProxy = r.flag("trust_proxy")
	s.cookieConsent = r.flag("cookie_consent")
	s.debug = r.flag("debug")
	s.telemetry = r.optionalFlag("telemetry")
	s.botUAPatterns = r.list("bot_ua_patterns")
	s.liveStatsMinutes = r.number("live_stats_minutes")
	tz := r.text("display_timezone")
	loc, err := time.LoadLocation(tz)
	if err != nil {
		r.fail("display_timezone", "", "unknown time zone %q", tz)
	}
	s.displayTimezone = loc
	s.anonymizeSites = lowerSet(r.list("anonymize_sites"))
	// inject and base_path are read as written: they take no placeholders.
	s.inject = h.Inject
	if h.Inject != "" && !storage.ValidSiteID(h.Inject) {
		r.fail("inject", "", "%q is not a site id ([A-Za-z0-9._-]{1,64})", h.Inject)
	}

	prefix, off, err := parseAdminPath(r.text("admin_path"))
	if err != nil {
		r.fail("admin_path", "", "%v", err)
	}
	s.adminPrefix, s.adminOff = prefix, off
	s.telemetryURL = r.text("telemetry_url")
	if s.telemetryURL != "" {
		if u, err := url.Parse(s.telemetryURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			r.fail("telemetry_url", "", "%q is not an http(s) URL", s.telemetryURL)
		}
	}

	hc := &s.handlers
	hc.BasePath = h.BasePath
	hc.AllowedOrigins = r.origins(r.list("allowed_origins"))
	hc.IgnoredSites = lowerSet(r.list("ignored_sites"))
	hc.AllowedSites = lowerSet(r.list("allowed_sites"))
	hc.BehindCloudflare = r.flag("behind_cloudflare")
	hc.TrustGeoHeaders = r.flag("trust_geo_headers")
	hc.DiscardThreshold = r.number("bot_discard_threshold")
	hc.PublicMode = r.flag("public_mode")
	hc.CookieConsent = s.cookieConsent
	hc.AnonymizeSites = s.anonymizeSites

	s.rules.SuspectPoints = r.number("suspect_points")
	s.rules.PoWPoints = map[scoring.PoWResult]int{
		scoring.PoWMissing:  r.number("pow_missing_points"),
		scoring.PoWInvalid:  r.number("pow_invalid_points"),
		scoring.PoWExpired:  r.number("pow_expired_points"),
		scoring.PoWReplayed: r.number("pow_replayed_points"),
	}
	s.rules.SuspectCountries = r.countries("suspect_countries", r.list("suspect_countries"))
	s.rules.SiteSuspectCountries = r.siteCountries(r.text("site_suspect_countries"))
	s.feedSources = r.feeds()
	s.feedRefresh = r.duration("feed_refresh")
	s.geoipDB = r.text("geoip_db")
	return s, r.err
}

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
func (r *resolver) feeds() []scoring.FeedSource {
	var out []scoring.FeedSource
	for _, f := range []struct {
		option string
		kind   scoring.FeedKind
	}{
		{"crawler_feeds", scoring.FeedCrawlerUA},
		{"ai_bot_feeds", scoring.FeedAIBots},
		{"datacenter_feeds", scoring.FeedDatacenter},
	} {
		for _, loc := range r.list(f.option) {
			if strings.Contains(loc, "://") && !strings.HasPrefix(loc, "http://") && !strings.HasPrefix(loc, "https://") {
				r.fail(f.option, "", "%q is neither an http(s) URL nor a file path", loc)
				continue
			}
			out = append(out, scoring.FeedSource{Kind: f.kind, Location: loc})
		}
	}
	return out
}
