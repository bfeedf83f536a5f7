package echelon

import (
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

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Every
// subdirective is optional and sets the JSON field of the same name; one not
// set falls back to its ECHELON_* environment variable, then to its default
// (docs/configuration.md has the table):
//
//	echelon {
//		db_path                <dir>
//		secret                 <secret>
//		username               <name>
//		password_hash          <pbkdf2$iterations$salt$hash>
//		retention_days         <days>
//		bot_retention_days     <days>
//		suspect_countries      <CC...>
//		suspect_points         <points>
//		site_suspect_countries <site:CC,CC...>
//		bot_discard_threshold  <score>
//		bot_ua_patterns        [<pattern...>]
//		allowed_origins        <host...>
//		allowed_sites          <site...>
//		ignored_sites          <site...>
//		max_sites              <n>
//		max_values             <n>
//		max_bot_rows           <n>
//		rate_limit_max         <requests>
//		rate_limit_window      <duration>
//		view_flush             <duration>
//		event_flush            <duration>
//		shutdown_timeout       <duration>
//		trust_proxy            [true|false]
//		behind_cloudflare      [true|false]
//		trust_geo_headers      [true|false]
//		geoip_db               <file.mmdb>
//		cookie_consent         [true|false]
//		challenge_window       <duration>
//		pow_difficulty         <bits>
//		pow_missing_points     <points>
//		pow_invalid_points     <points>
//		pow_expired_points     <points>
//		pow_replayed_points    <points>
//		live_stats_minutes     <minutes>
//		display_timezone       <IANA zone>
//		public_mode            [true|false]
//		anonymize_sites        <site...>
//		telemetry              [true|false]
//		telemetry_url          <http(s) URL>
//		debug                  [true|false]
//		base_path              </prefix>
//		admin_path             off|/|</prefix>
//		inject                 <site>
//		crawler_feeds          <URL or file...>
//		ai_bot_feeds           <URL or file...>
//		datacenter_feeds       <URL or file...>
//		feed_refresh           <duration>
//	}
//
// Durations take Caddy's syntax (15s, 2m, 6h). A flag alone means true. A
// list takes several arguments, commas, or both; repeating it appends, and a
// list subdirective with no argument sets an empty list.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		name := d.Val()
		args := d.RemainingArgs()
		o := findOption(name)
		if o == nil {
			return d.Errf("echelon: unknown subdirective %q", name)
		}
		if err := o.set(h, args); err != nil {
			return d.Errf("echelon: %s: %v", name, err)
		}
	}
	return nil
}

// Interface guard
var _ caddyfile.Unmarshaler = (*Handler)(nil)
