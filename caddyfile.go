package echelon

import (
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("echelon", parseCaddyfile)
	// As late as Echelon can run and still see every request in the common
	// site shapes: after encode and templates (so injected pages are
	// compressed), before invoke, handle, route, respond and every handler
	// that answers. Rewrites (try_files, rewrite, uri) run earlier; Echelon
	// matches its paths on the request as it arrived too (see originalURL in module.go).
	httpcaddyfile.RegisterDirectiveOrder("echelon", httpcaddyfile.Before, "invoke")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	var e Handler
	err := e.UnmarshalCaddyfile(h.Dispenser)
	return &e, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens:
//
//	echelon {
//		db_path   <dir>
//		secret    <secret>
//		base_path </prefix>
//		inject    <site>
//		...       (one subdirective per option; see docs/configuration.md)
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		opt := d.Val()
		args := d.RemainingArgs()
		set, ok := subdirectives[opt]
		if !ok {
			return d.Errf("echelon: unknown subdirective %q", opt)
		}
		if err := set(h, args); err != nil {
			return d.Errf("echelon: %s: %v", opt, err)
		}
	}
	return nil
}

type setter func(h *Handler, args []string) error

// subdirectives maps each Caddyfile subdirective to the field it sets.
var subdirectives = map[string]setter{
	"db_path":                str(func(h *Handler) *string { return &h.DBPath }),
	"secret":                 str(func(h *Handler) *string { return &h.Secret }),
	"username":               str(func(h *Handler) *string { return &h.Username }),
	"password_hash":          str(func(h *Handler) *string { return &h.PasswordHash }),
	"display_timezone":       str(func(h *Handler) *string { return &h.DisplayTimezone }),
	"base_path":              str(func(h *Handler) *string { return &h.BasePath }),
	"admin_path":             str(func(h *Handler) *string { return &h.AdminPath }),
	"telemetry_url":          str(func(h *Handler) *string { return &h.TelemetryURL }),
	"inject":                 str(func(h *Handler) *string { return &h.Inject }),
	"geoip_db":               str(func(h *Handler) *string { return &h.GeoIPDB }),
	"retention_days":         integer(func(h *Handler) **int { return &h.RetentionDays }),
	"bot_retention_days":     integer(func(h *Handler) **int { return &h.BotRetentionDays }),
	"suspect_points":         integer(func(h *Handler) **int { return &h.SuspectPoints }),
	"bot_discard_threshold":  integer(func(h *Handler) **int { return &h.BotDiscardThreshold }),
	"rate_limit_max":         integer(func(h *Handler) **int { return &h.RateLimitMax }),
	"max_sites":              integer(func(h *Handler) **int { return &h.MaxSites }),
	"max_values":             integer(func(h *Handler) **int { return &h.MaxValues }),
	"live_stats_minutes":     integer(func(h *Handler) **int { return &h.LiveStatsMinutes }),
	"pow_difficulty":         integer(func(h *Handler) **int { return &h.PoWDifficulty }),
	"pow_missing_points":     integer(func(h *Handler) **int { return &h.PoWMissingPoints }),
	"pow_invalid_points":     integer(func(h *Handler) **int { return &h.PoWInvalidPoints }),
	"pow_expired_points":     integer(func(h *Handler) **int { return &h.PoWExpiredPoints }),
	"pow_replayed_points":    integer(func(h *Handler) **int { return &h.PoWReplayedPoints }),
	"rate_limit_window":      duration(func(h *Handler) **caddy.Duration { return &h.RateLimitWindow }),
	"view_flush":             duration(func(h *Handler) **caddy.Duration { return &h.ViewFlush }),
	"event_flush":            duration(func(h *Handler) **caddy.Duration { return &h.EventFlush }),
	"challenge_window":       duration(func(h *Handler) **caddy.Duration { return &h.ChallengeWindow }),
	"shutdown_timeout":       duration(func(h *Handler) **caddy.Duration { return &h.ShutdownTimeout }),
	"trust_proxy":            boolean(func(h *Handler) **bool { return &h.TrustProxy }),
	"behind_cloudflare":      boolean(func(h *Handler) **bool { return &h.BehindCloudflare }),
	"trust_geo_headers":      boolean(func(h *Handler) **bool { return &h.TrustGeoHeaders }),
	"cookie_consent":         boolean(func(h *Handler) **bool { return &h.CookieConsent }),
	"public_mode":            boolean(func(h *Handler) **bool { return &h.PublicMode }),
	"telemetry":              boolean(func(h *Handler) **bool { return &h.Telemetry }),
	"debug":                  boolean(func(h *Handler) **bool { return &h.Debug }),
	"suspect_countries":      list(func(h *Handler) **[]string { return &h.SuspectCountries }),
	"bot_ua_patterns":        list(func(h *Handler) **[]string { return &h.BotUAPatterns }),
	"allowed_origins":        list(func(h *Handler) **[]string { return &h.AllowedOrigins }),
	"allowed_sites":          list(func(h *Handler) **[]string { return &h.AllowedSites }),
	"ignored_sites":          list(func(h *Handler) **[]string { return &h.IgnoredSites }),
	"anonymize_sites":        list(func(h *Handler) **[]string { return &h.AnonymizeSites }),
	"site_suspect_countries": siteCountries,
	"crawler_feeds":          list(func(h *Handler) **[]string { return &h.CrawlerFeeds }),
	"ai_bot_feeds":           list(func(h *Handler) **[]string { return &h.AIBotFeeds }),
	"datacenter_feeds":       list(func(h *Handler) **[]string { return &h.DatacenterFeeds }),
	"feed_refresh":           duration(func(h *Handler) **caddy.Duration { return &h.FeedRefresh }),
}

func str(field func(*Handler) *string) setter {
	return func(h *Handler, args []string) error {
		if len(args) != 1 {
			return errArgs("exactly one value")
		}
		*field(h) = args[0]
		return nil
	}
}

func integer(field func(*Handler) **int) setter {
	return func(h *Handler, args []string) error {
		if len(args) != 1 {
			return errArgs("exactly one integer")
		}
		n, err := strconv.Atoi(args[0])
		if err != nil {
			return errArgs("an integer, got " + strconv.Quote(args[0]))
		}
		*field(h) = &n
		return nil
	}
}

func duration(field func(*Handler) **caddy.Duration) setter {
	return func(h *Handler, args []string) error {
		if len(args) != 1 {
			return errArgs("exactly one duration")
		}
		d, err := caddy.ParseDuration(args[0])
		if err != nil {
			return errArgs("a duration such as 15s, got " + strconv.Quote(args[0]))
		}
		cd := caddy.Duration(d)
		*field(h) = &cd
		return nil
	}
}

// boolean accepts a bare flag (true) or an explicit true/false.
func boolean(field func(*Handler) **bool) setter {
	return func(h *Handler, args []string) error {
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
		*field(h) = &b
		return nil
	}
}

// list takes space- or comma-separated values; repeating the subdirective
// appends, and a bare subdirective means an explicitly empty list.
func list(field func(*Handler) **[]string) setter {
	return func(h *Handler, args []string) error {
		p := field(h)
		if *p == nil {
			*p = &[]string{}
		}
		for _, a := range args {
			**p = append(**p, splitList(a)...)
		}
		return nil
	}
}

// siteCountries takes "site:CC,CC" entries as separate arguments or one
// "site:CC;site:CC" string.
func siteCountries(h *Handler, args []string) error {
	if len(args) == 0 {
		return errArgs("site:CC,CC entries")
	}
	v := strings.Join(args, ";")
	if h.SiteSuspectCountries != nil && *h.SiteSuspectCountries != "" {
		v = *h.SiteSuspectCountries + ";" + v
	}
	h.SiteSuspectCountries = &v
	return nil
}

type errArgs string

func (e errArgs) Error() string { return "expected " + string(e) }

// Interface guard
var _ caddyfile.Unmarshaler = (*Handler)(nil)
