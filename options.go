package echelon

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/echelon-analytics/caddy-echelon/pow"
	"github.com/echelon-analytics/caddy-echelon/scoring"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// option is one row of the option table: the single place where an option's
// name, environment variable, default and bounds are written down. The
// Caddyfile parser (caddyfile.go), the resolution of value › environment ›
// default (config.go) and the check of docs/configuration.md (docs_test.go)
// all read this table.
type option struct {
	// name is both the Caddyfile subdirective and the JSON field.
	name string
	// env is the ECHELON_* variable read when the option is not set; ""
	// when the option has none.
	env string
	// oldEnv is an older name of env, still read when env is not set; its
	// value is a bare number of oldEnvUnit (the *_MS variables count
	// milliseconds, ECHELON_CHALLENGE_WINDOW_MINUTES minutes).
	oldEnv     string
	oldEnvUnit time.Duration
	// def is the default: a string, int, time.Duration, bool or []string;
	// nil when unset means "none". defFrom names another option whose value
	// is the default instead.
	def     any
	defFrom string
	// docDefault is how docs/configuration.md words a default that is not
	// a plain value ("none", "open", "all", ...); "" derives it from def.
	docDefault string
	// lo and hi bound an integer option (both inclusive). For a duration
	// they are nanoseconds: lo 0 means only "positive", hi 0 no upper bound.
	lo, hi int64
	// field points at the Handler field the option fills. Its type is the
	// option's kind: *string (text), **int (integer), **caddy.Duration
	// (duration), **bool (flag), **[]string (list) or **string (text that
	// may be set to the empty string, with "site:CC,CC" entries).
	field func(h *Handler) any
}

// defaultPoWDifficulty is the proof-of-work difficulty in leading zero bits,
// chosen from solve times measured in headless Chromium (see
// docs/performance.md, Proof of work).
const defaultPoWDifficulty = 14

// defaultAdminPath is where the dashboard and the API live unless
// admin_path says otherwise: a path no common web app uses.
const defaultAdminPath = "/_echelon"

// options is the option table, in the order of docs/configuration.md.
var options = []option{
	{name: "db_path", env: "ECHELON_DB_PATH", def: "./echelon-data", field: func(h *Handler) any { return &h.DBPath }},
	{name: "secret", env: "ECHELON_SECRET", field: func(h *Handler) any { return &h.Secret }},
	{name: "username", env: "ECHELON_USERNAME", field: func(h *Handler) any { return &h.Username }},
	{name: "password_hash", env: "ECHELON_PASSWORD_HASH", field: func(h *Handler) any { return &h.PasswordHash }},
	{name: "retention_days", env: "ECHELON_RETENTION_DAYS", def: 90, lo: 1, hi: 36500, field: func(h *Handler) any { return &h.RetentionDays }},
	{name: "bot_retention_days", env: "ECHELON_BOT_RETENTION_DAYS", defFrom: "retention_days", lo: 1, hi: 36500, field: func(h *Handler) any { return &h.BotRetentionDays }},
	{name: "suspect_countries", env: "ECHELON_SUSPECT_COUNTRIES", def: []string{"CN"}, field: func(h *Handler) any { return &h.SuspectCountries }},
	{name: "suspect_points", env: "ECHELON_SUSPECT_POINTS", def: 30, lo: -100, hi: 100, field: func(h *Handler) any { return &h.SuspectPoints }},
	{name: "site_suspect_countries", env: "ECHELON_SITE_SUSPECT_COUNTRIES", field: func(h *Handler) any { return &h.SiteSuspectCountries }},
	{name: "bot_discard_threshold", env: "ECHELON_BOT_DISCARD_THRESHOLD", def: 0, lo: 0, hi: 100, field: func(h *Handler) any { return &h.BotDiscardThreshold }},
	{name: "bot_ua_patterns", env: "ECHELON_BOT_UA_PATTERNS", def: scoring.DefaultBotUAPatterns(),
		docDefault: fmt.Sprintf("built-in list of %d", len(scoring.DefaultBotUAPatterns())), field: func(h *Handler) any { return &h.BotUAPatterns }},
	{name: "allowed_origins", env: "ECHELON_ALLOWED_ORIGINS", docDefault: "open", field: func(h *Handler) any { return &h.AllowedOrigins }},
	{name: "allowed_sites", env: "ECHELON_ALLOWED_SITES", docDefault: "all", field: func(h *Handler) any { return &h.AllowedSites }},
	{name: "ignored_sites", env: "ECHELON_IGNORED_SITES", field: func(h *Handler) any { return &h.IgnoredSites }},
	{name: "max_sites", env: "ECHELON_MAX_SITES", def: storage.DefaultMaxSites, lo: 1, hi: 1_000_000, field: func(h *Handler) any { return &h.MaxSites }},
	{name: "max_values", env: "ECHELON_MAX_VALUES", def: storage.DefaultMaxValues, lo: 10, hi: 1_000_000, field: func(h *Handler) any { return &h.MaxValues }},
	{name: "max_bot_rows", env: "ECHELON_MAX_BOT_ROWS", def: storage.DefaultBotRowBudget, lo: 0, hi: 10_000_000, field: func(h *Handler) any { return &h.MaxBotRows }},
	{name: "rate_limit_max", env: "ECHELON_RATE_LIMIT_MAX", def: 100, lo: 0, hi: 1_000_000, field: func(h *Handler) any { return &h.RateLimitMax }},
	{name: "rate_limit_window", env: "ECHELON_RATE_LIMIT_WINDOW", oldEnv: "ECHELON_RATE_LIMIT_WINDOW_MS", oldEnvUnit: time.Millisecond,
		def: time.Minute, field: func(h *Handler) any { return &h.RateLimitWindow }},
	{name: "view_flush", env: "ECHELON_VIEW_FLUSH", oldEnv: "ECHELON_VIEW_FLUSH_MS", oldEnvUnit: time.Millisecond,
		def: 15 * time.Second, field: func(h *Handler) any { return &h.ViewFlush }},
	{name: "event_flush", env: "ECHELON_EVENT_FLUSH", oldEnv: "ECHELON_EVENT_FLUSH_MS", oldEnvUnit: time.Millisecond,
		def: 10 * time.Second, field: func(h *Handler) any { return &h.EventFlush }},
	{name: "shutdown_timeout", env: "ECHELON_SHUTDOWN_TIMEOUT", oldEnv: "ECHELON_SHUTDOWN_TIMEOUT_MS", oldEnvUnit: time.Millisecond,
		def: 10 * time.Second, field: func(h *Handler) any { return &h.ShutdownTimeout }},
	{name: "trust_proxy", env: "ECHELON_TRUST_PROXY", def: false, field: func(h *Handler) any { return &h.TrustProxy }},
	{name: "behind_cloudflare", env: "ECHELON_BEHIND_CLOUDFLARE", def: false, field: func(h *Handler) any { return &h.BehindCloudflare }},
	{name: "trust_geo_headers", env: "ECHELON_TRUST_GEO_HEADERS", def: false, field: func(h *Handler) any { return &h.TrustGeoHeaders }},
	{name: "geoip_db", env: "ECHELON_GEOIP_DB", field: func(h *Handler) any { return &h.GeoIPDB }},
	{name: "cookie_consent", env: "ECHELON_COOKIE_CONSENT", def: false, field: func(h *Handler) any { return &h.CookieConsent }},
	{name: "challenge_window", env: "ECHELON_CHALLENGE_WINDOW", oldEnv: "ECHELON_CHALLENGE_WINDOW_MINUTES", oldEnvUnit: time.Minute,
		def: 10 * time.Minute, lo: int64(time.Minute), hi: int64(pow.MaxWindow * time.Minute), field: func(h *Handler) any { return &h.ChallengeWindow }},
	{name: "pow_difficulty", env: "ECHELON_POW_DIFFICULTY", def: defaultPoWDifficulty, lo: 1, hi: pow.DefaultMaxDifficulty, field: func(h *Handler) any { return &h.PoWDifficulty }},
	{name: "pow_missing_points", env: "ECHELON_POW_MISSING_POINTS", def: 50, lo: 0, hi: 100, field: func(h *Handler) any { return &h.PoWMissingPoints }},
	{name: "pow_invalid_points", env: "ECHELON_POW_INVALID_POINTS", def: 50, lo: 0, hi: 100, field: func(h *Handler) any { return &h.PoWInvalidPoints }},
	{name: "pow_expired_points", env: "ECHELON_POW_EXPIRED_POINTS", def: 15, lo: 0, hi: 100, field: func(h *Handler) any { return &h.PoWExpiredPoints }},
	{name: "pow_replayed_points", env: "ECHELON_POW_REPLAYED_POINTS", def: 50, lo: 0, hi: 100, field: func(h *Handler) any { return &h.PoWReplayedPoints }},
	{name: "live_stats_minutes", env: "ECHELON_LIVE_STATS_MINUTES", def: 10, lo: 1, hi: 1440, field: func(h *Handler) any { return &h.LiveStatsMinutes }},
	{name: "display_timezone", env: "ECHELON_DISPLAY_TIMEZONE", def: "UTC", field: func(h *Handler) any { return &h.DisplayTimezone }},
	{name: "public_mode", env: "ECHELON_PUBLIC_MODE", def: false, field: func(h *Handler) any { return &h.PublicMode }},
	{name: "anonymize_sites", env: "ECHELON_ANONYMIZE_SITES", field: func(h *Handler) any { return &h.AnonymizeSites }},
	{name: "telemetry", env: "ECHELON_TELEMETRY", docDefault: "undecided", field: func(h *Handler) any { return &h.Telemetry }},
	{name: "telemetry_url", env: "ECHELON_TELEMETRY_URL", field: func(h *Handler) any { return &h.TelemetryURL }},
	{name: "debug", env: "ECHELON_DEBUG", def: false, field: func(h *Handler) any { return &h.Debug }},
	{name: "base_path", docDefault: "empty", field: func(h *Handler) any { return &h.BasePath }},
	{name: "admin_path", env: "ECHELON_ADMIN_PATH", def: defaultAdminPath, field: func(h *Handler) any { return &h.AdminPath }},
	{name: "inject", field: func(h *Handler) any { return &h.Inject }},
	{name: "crawler_feeds", env: "ECHELON_CRAWLER_FEEDS", field: func(h *Handler) any { return &h.CrawlerFeeds }},
	{name: "ai_bot_feeds", env: "ECHELON_AI_BOT_FEEDS", field: func(h *Handler) any { return &h.AIBotFeeds }},
	{name: "datacenter_feeds", env: "ECHELON_DATACENTER_FEEDS", field: func(h *Handler) any { return &h.DatacenterFeeds }},
	{name: "feed_refresh", env: "ECHELON_FEED_REFRESH", oldEnv: "ECHELON_FEED_REFRESH_MS", oldEnvUnit: time.Millisecond,
		def: scoring.DefaultFeedInterval, lo: int64(time.Minute), field: func(h *Handler) any { return &h.FeedRefresh }},
}

// findOption is the table row of name, nil for a name the table lacks.
func findOption(name string) *option {
	for i := range options {
		if options[i].name == name {
			return &options[i]
		}
	}
	return nil
}

// optionNamed is the table row of name. Asking for a name the table lacks
// is a programming error that every test of resolve meets, so it panics.
func optionNamed(name string) *option {
	if o := findOption(name); o != nil {
		return o
	}
	panic("echelon: no option " + name)
}

// set fills the option's Handler field from the arguments of its
// Caddyfile subdirective.
func (o *option) set(h *Handler, args []string) error {
	switch p := o.field(h).(type) {
	case *string:
		if len(args) != 1 {
			return errArgs("exactly one value")
		}
		*p = args[0]
	case **int:
		if len(args) != 1 {
			return errArgs("exactly one integer")
		}
		n, err := strconv.Atoi(args[0])
		if err != nil {
			return errArgs("an integer, got " + strconv.Quote(args[0]))
		}
		*p = &n
	case **caddy.Duration:
		if len(args) != 1 {
			return errArgs("exactly one duration")
		}
		d, err := caddy.ParseDuration(args[0])
		if err != nil {
			return errArgs("a duration such as 15s, got " + strconv.Quote(args[0]))
		}
		cd := caddy.Duration(d)
		*p = &cd
	case **bool:
		// A bare flag means true.
		b := true
		switch len(args) {
		case 0:
		case 1:
			var err error
			if b, err = strconv.ParseBool(args[0]); err != nil {
				return errArgs("true or false, got " + strconv.Quote(args[0]))
			}
		default:
			return errArgs("at most one value (true or false)")
		}
		*p = &b
	case **[]string:
		// Space- or comma-separated values; repeating the subdirective
		// appends, and a bare subdirective means an explicitly empty list.
		if *p == nil {
			*p = &[]string{}
		}
		for _, a := range args {
			**p = append(**p, splitList(a)...)
		}
	case **string:
		// "site:CC,CC" entries as separate arguments or one
		// "site:CC;site:CC" string; repeating the subdirective appends.
		if len(args) == 0 {
			return errArgs("site:CC,CC entries")
		}
		v := strings.Join(args, ";")
		if *p != nil && **p != "" {
			v = **p + ";" + v
		}
		*p = &v
	default:
		panic(fmt.Sprintf("echelon: option %s has a field of type %T", o.name, p))
	}
	return nil
}

type errArgs string

func (e errArgs) Error() string { return "expected " + string(e) }

// documentedDefault is the default as the option table of
// docs/configuration.md shows it.
func (o *option) documentedDefault() string {
	switch {
	case o.docDefault != "":
		return o.docDefault
	case o.defFrom != "":
		return "`" + o.defFrom + "`"
	}
	switch d := o.def.(type) {
	case nil:
		return "none"
	case string:
		if d == "" {
			return "none"
		}
		return "`" + d + "`"
	case time.Duration:
		return "`" + shortDuration(d) + "`"
	case []string:
		return "`" + strings.Join(d, ",") + "`"
	default:
		return fmt.Sprintf("`%v`", d)
	}
}

// documentedBounds is the bounds cell of an integer or duration option in
// docs/configuration.md; "" for the other kinds, whose cell is prose.
func (o *option) documentedBounds() string {
	switch o.field(new(Handler)).(type) {
	case **int:
		return thousands(o.lo) + "–" + thousands(o.hi)
	case **caddy.Duration:
		switch {
		case o.lo > 0 && o.hi > 0:
			return shortDuration(time.Duration(o.lo)) + "–" + shortDuration(time.Duration(o.hi))
		case o.lo > 0:
			return "≥ " + shortDuration(time.Duration(o.lo))
		}
		return "> 0"
	}
	return ""
}

// shortDuration writes d as the Caddyfile would: 1m, not 1m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// thousands writes n with comma separators and a real minus sign, as the
// documentation does: −100, 1,000,000.
func thousands(n int64) string {
	sign := ""
	if n < 0 {
		sign, n = "−", -n
	}
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && len(s) > 5; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return sign + s
}
