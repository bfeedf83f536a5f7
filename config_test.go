package echelon

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/echelon-analytics/caddy-echelon/scoring"
)

// TestCaddyfile_EverySubdirectiveToJSON adapts a block using every
// subdirective and compares the handler's JSON.
func TestCaddyfile_EverySubdirectiveToJSON(t *testing.T) {
	in := `echelon {
		db_path /var/lib/echelon
		secret s3cret
		username admin
		password_hash pbkdf2$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
		retention_days 30
		bot_retention_days 7
		suspect_countries CN RU
		suspect_points 25
		bot_discard_threshold 60
		bot_ua_patterns curl,wget MyBot
		allowed_origins shop.example www.shop.example
		allowed_sites shop
		max_sites 50
		max_values 800
		max_bot_rows 500
		rate_limit_max 200
		rate_limit_window 2m
		view_flush 5s
		event_flush 3s
		trust_proxy
		behind_cloudflare true
		trust_geo_headers false
		cookie_consent
		ignored_sites staging test
		site_suspect_countries shop:BR,IN blog:VN
		challenge_window 20m
		live_stats_minutes 15
		pow_difficulty 12
		pow_missing_points 10
		pow_invalid_points 20
		pow_expired_points 5
		pow_replayed_points 30
		display_timezone Europe/Helsinki
		public_mode
		anonymize_sites demo
		telemetry false
		debug
		shutdown_timeout 30s
		base_path /_ea
		admin_path /stats
		telemetry_url https://telemetry.example
		inject shop
		crawler_feeds https://example.com/crawler.json
		ai_bot_feeds /etc/echelon/robots.json
		datacenter_feeds https://ip-ranges.amazonaws.com/ip-ranges.json /etc/echelon/gcp.json
		feed_refresh 3h
		geoip_db /var/lib/GeoLite2-Country.mmdb
	}`
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(in)); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(h)
	want := `{"db_path":"/var/lib/echelon","secret":"s3cret","username":"admin",` +
		`"password_hash":"pbkdf2$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",` +
		`"retention_days":30,"bot_retention_days":7,"suspect_countries":["CN","RU"],"suspect_points":25,` +
		`"bot_discard_threshold":60,"bot_ua_patterns":["curl","wget","MyBot"],` +
		`"allowed_origins":["shop.example","www.shop.example"],"allowed_sites":["shop"],"max_sites":50,"max_values":800,"max_bot_rows":500,"rate_limit_max":200,` +
		`"rate_limit_window":120000000000,"view_flush":5000000000,"event_flush":3000000000,"trust_proxy":true,` +
		`"behind_cloudflare":true,"trust_geo_headers":false,"cookie_consent":true,"ignored_sites":["staging","test"],` +
		`"site_suspect_countries":"shop:BR,IN;blog:VN","challenge_window":1200000000000,"pow_difficulty":12,"pow_missing_points":10,"pow_invalid_points":20,"pow_expired_points":5,"pow_replayed_points":30,"live_stats_minutes":15,` +
		`"display_timezone":"Europe/Helsinki","public_mode":true,"anonymize_sites":["demo"],"telemetry":false,` +
		`"debug":true,"shutdown_timeout":30000000000,"base_path":"/_ea","admin_path":"/stats","telemetry_url":"https://telemetry.example","inject":"shop",` +
		`"crawler_feeds":["https://example.com/crawler.json"],"ai_bot_feeds":["/etc/echelon/robots.json"],` +
		`"datacenter_feeds":["https://ip-ranges.amazonaws.com/ip-ranges.json","/etc/echelon/gcp.json"],"feed_refresh":10800000000000,"geoip_db":"/var/lib/GeoLite2-Country.mmdb"}`
	if string(got) != want {
		t.Errorf("JSON\n got %s\nwant %s", got, want)
	}
	// Every subdirective of the table is exercised above.
	for _, o := range options {
		name := o.name
		if !strings.Contains(in, "\t"+name+" ") && !strings.Contains(in, "\t"+name+"\n") {
			t.Errorf("subdirective %s is not covered by this test", name)
		}
	}
	s, err := h.resolve(noEnv)
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	if s.rateLimitWindow != 2*time.Minute || !s.trustProxy || !s.handlers.BehindCloudflare || s.handlers.TrustGeoHeaders ||
		!s.rules.SiteSuspectCountries["shop"]["IN"] || !s.rules.SiteSuspectCountries["blog"]["VN"] || s.displayTimezone.String() != "Europe/Helsinki" ||
		len(s.feedSources) != 4 || s.geoipDB != "/var/lib/GeoLite2-Country.mmdb" || s.feedSources[3].Kind != scoring.FeedDatacenter || s.feedRefresh != 3*time.Hour || s.maxSites != 50 || s.maxValues != 800 {
		t.Errorf("resolved %+v", s)
	}
}

// TestCaddyfile_DirectiveOrderedBeforeHandle needs no global order: echelon
// runs after encode and templates and before every directive that routes or
// answers (invoke, handle, route, respond, reverse_proxy, file_server).
func TestCaddyfile_DirectiveOrderedBeforeHandle(t *testing.T) {
	cfg := `:8080 {
		file_server
		respond /hi "hi"
		reverse_proxy /app/* localhost:3000
		handle /x/* {
			respond "x"
		}
		echelon {
			db_path /tmp/x
		}
		templates
		encode
	}`
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	at := func(handler string) int {
		i := strings.Index(s, `"handler":"`+handler+`"`)
		if i < 0 {
			t.Fatalf("no %s handler in %s", handler, s)
		}
		return i
	}
	e := at("echelon")
	for _, before := range []string{"encode", "templates"} {
		if at(before) > e {
			t.Errorf("%s must come before echelon: %s", before, s)
		}
	}
	for _, after := range []string{"subroute", "static_response", "reverse_proxy", "file_server"} {
		if at(after) < e {
			t.Errorf("echelon must come before %s: %s", after, s)
		}
	}
}

// TestResolve_GlobalPlaceholders: {env.X} in a string option is read from
// the environment, as in Caddy's own modules, never kept as literal text.
func TestResolve_GlobalPlaceholders(t *testing.T) {
	t.Setenv("ECHELON_TEST_SECRET", "from-placeholder")
	s, err := (&Handler{Secret: "{env.ECHELON_TEST_SECRET}", DBPath: "/data/{unknown.x}"}).resolve(noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if s.secret != "from-placeholder" || s.dbPath != "/data/{unknown.x}" {
		t.Errorf("secret %q, db_path %q", s.secret, s.dbPath)
	}
}

func noEnv(string) (string, bool) { return "", false }

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestResolve_DefaultsEnvAndValuePrecedence(t *testing.T) {
	s, err := (&Handler{}).resolve(noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if s.dbPath != "./echelon-data" || s.retentionDays != 90 || s.rateLimitMax != 100 || s.rateLimitWindow != time.Minute ||
		s.viewFlush != 15*time.Second || s.eventFlush != 10*time.Second || s.challengeWindow != 10*time.Minute ||
		s.handlers.DiscardThreshold != 0 || s.rules.SuspectPoints != 30 || !s.rules.SuspectCountries["CN"] ||
		len(s.botUAPatterns) < 40 || s.liveStatsMinutes != 10 || s.displayTimezone != time.UTC || s.telemetry != nil || s.maxSites != 1000 || s.maxValues != 5000 || s.geoipDB != "" {
		t.Errorf("defaults: %+v", s)
	}

	env := envOf(map[string]string{
		"ECHELON_DB_PATH":                  "/env/db",
		"ECHELON_RETENTION_DAYS":           "45",
		"ECHELON_MAX_SITES":                "7",
		"ECHELON_RATE_LIMIT_MAX":           "0",
		"ECHELON_RATE_LIMIT_WINDOW_MS":     "1500",
		"ECHELON_VIEW_FLUSH_MS":            "250",
		"ECHELON_CHALLENGE_WINDOW_MINUTES": "3",
		"ECHELON_SUSPECT_COUNTRIES":        "",
		"ECHELON_BOT_UA_PATTERNS":          "",
		"ECHELON_TRUST_PROXY":              "true",
		"ECHELON_TELEMETRY":                "false",
		"ECHELON_ALLOWED_ORIGINS":          "A.example, b.example",
		"ECHELON_SITE_SUSPECT_COUNTRIES":   "shop:br; :XX ;blog:",
		"ECHELON_SECRET":                   "from-env",
		"ECHELON_GEOIP_DB":                 "/env/country.mmdb",
	})
	s, err = (&Handler{}).resolve(env)
	if err != nil {
		t.Fatal(err)
	}
	if s.dbPath != "/env/db" || s.retentionDays != 45 || s.maxSites != 7 || s.rateLimitMax != 0 || s.rateLimitWindow != 1500*time.Millisecond ||
		s.viewFlush != 250*time.Millisecond || s.challengeWindow != 3*time.Minute || len(s.rules.SuspectCountries) != 0 ||
		len(s.botUAPatterns) != 0 || !s.trustProxy || s.telemetry == nil || *s.telemetry || s.secret != "from-env" || s.geoipDB != "/env/country.mmdb" ||
		strings.Join(s.handlers.AllowedOrigins, ",") != "a.example,b.example" ||
		len(s.rules.SiteSuspectCountries) != 1 || !s.rules.SiteSuspectCountries["shop"]["BR"] {
		t.Errorf("env: %+v", s)
	}

	ten, f := 10, false
	s, err = (&Handler{DBPath: "/cfg/db", RetentionDays: &ten, TrustProxy: &f, SuspectCountries: &[]string{"RU"}}).resolve(env)
	if err != nil {
		t.Fatal(err)
	}
	if s.dbPath != "/cfg/db" || s.retentionDays != 10 || s.trustProxy || !s.rules.SuspectCountries["RU"] || s.rules.SuspectCountries["CN"] {
		t.Errorf("config value must win over env: %+v", s)
	}
}

// TestResolve_InvalidValuesNameTheOption covers each validated option, from
// the config and from the environment.
func TestResolve_InvalidValuesNameTheOption(t *testing.T) {
	neg, big, zero := -1, 101, 0
	cases := []struct {
		name string
		h    Handler
		env  map[string]string
		want string
	}{
		{"retention_days 0", Handler{RetentionDays: &zero}, nil, "retention_days"},
		{"bot_retention_days negative", Handler{BotRetentionDays: &neg}, nil, "bot_retention_days"},
		{"bot_discard_threshold 101", Handler{BotDiscardThreshold: &big}, nil, "bot_discard_threshold"},
		{"rate_limit_max negative", Handler{RateLimitMax: &neg}, nil, "rate_limit_max"},
		{"suspect_points 101", Handler{SuspectPoints: &big}, nil, "suspect_points"},
		{"live_stats_minutes 0", Handler{LiveStatsMinutes: &zero}, nil, "live_stats_minutes"},
		{"max_sites 0", Handler{MaxSites: &zero}, nil, "max_sites"},
		{"env max_sites", Handler{}, map[string]string{"ECHELON_MAX_SITES": "many"}, "max_sites (from ECHELON_MAX_SITES)"},
		{"max_values 5", Handler{MaxValues: ptr(5)}, nil, "max_values"},
		{"max_bot_rows negative", Handler{MaxBotRows: &neg}, nil, "max_bot_rows"},
		{"suspect country", Handler{SuspectCountries: &[]string{"China"}}, nil, "suspect_countries"},
		{"site suspect country", Handler{SiteSuspectCountries: ptr("shop:BRA")}, nil, "site_suspect_countries"},
		{"timezone", Handler{DisplayTimezone: "Mars/Olympus"}, nil, "display_timezone"},
		{"origin with scheme", Handler{AllowedOrigins: &[]string{"https://a.example"}}, nil, "allowed_origins"},
		{"password hash", Handler{PasswordHash: "md5$abc"}, nil, "password_hash"},
		{"username without hash", Handler{Username: "admin"}, nil, "username"},
		{"inject site id", Handler{Inject: "bad site"}, nil, "inject"},
		{"env retention not a number", Handler{}, map[string]string{"ECHELON_RETENTION_DAYS": "ninety"}, "retention_days (from ECHELON_RETENTION_DAYS)"},
		{"env window not ms", Handler{}, map[string]string{"ECHELON_RATE_LIMIT_WINDOW_MS": "1m"}, "rate_limit_window (from ECHELON_RATE_LIMIT_WINDOW_MS)"},
		{"env flush zero", Handler{}, map[string]string{"ECHELON_VIEW_FLUSH_MS": "0"}, "view_flush (from ECHELON_VIEW_FLUSH_MS)"},
		{"env bool", Handler{}, map[string]string{"ECHELON_PUBLIC_MODE": "yes please"}, "public_mode (from ECHELON_PUBLIC_MODE)"},
		{"env threshold", Handler{}, map[string]string{"ECHELON_BOT_DISCARD_THRESHOLD": "500"}, "bot_discard_threshold (from ECHELON_BOT_DISCARD_THRESHOLD)"},
		{"feed scheme", Handler{CrawlerFeeds: &[]string{"ftp://example.com/x.json"}}, nil, "crawler_feeds"},
		{"env feed scheme", Handler{}, map[string]string{"ECHELON_DATACENTER_FEEDS": "gopher://x"}, "datacenter_feeds"},
		{"feed refresh too short", Handler{}, map[string]string{"ECHELON_FEED_REFRESH_MS": "1000"}, "feed_refresh"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.h.resolve(envOf(c.env))
			if err == nil || !strings.Contains(err.Error(), "echelon: "+c.want) {
				t.Fatalf("error %v, want one naming %q", err, c.want)
			}
		})
	}
}

// TestCaddyfile_ParseErrorsNameTheSubdirective covers what fails at adapt
// time already.
func TestCaddyfile_ParseErrorsNameTheSubdirective(t *testing.T) {
	cases := map[string]string{
		"retention_days ninety":    "retention_days",
		"view_flush soon":          "view_flush",
		"trust_proxy maybe":        "trust_proxy",
		"db_path":                  "db_path",
		"secret a b":               "secret",
		"site_suspect_countries":   "site_suspect_countries",
		"no_such_option 1":         "no_such_option",
		"rate_limit_max 1 2":       "rate_limit_max",
		"shutdown_timeout 5 years": "shutdown_timeout",
	}
	for line, want := range cases {
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("echelon {\n" + line + "\n}"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one naming %s", line, err, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestLoad_InvalidValueFailsWithOptionName loads a bad config into the real
// Caddy: the load (what `caddy validate` runs) fails naming the option.
func TestLoad_InvalidValueFailsWithOptionName(t *testing.T) {
	startCaddy(t, "")
	dir := t.TempDir()
	caddytest.AssertLoadError(t, siteConfig(dir, "bot_discard_threshold 250"), "caddyfile", "echelon: bot_discard_threshold: 250 is outside 0..100")
	caddytest.AssertLoadError(t, siteConfig(dir, "base_path _ea/"), "caddyfile", "base_path")
}

// TestResolve_DurationVariablesTakeCaddySyntaxAndOlderNamesStillWork: the
// current variables read 2s or 3m; the older *_MS and *_MINUTES names count
// bare numbers and apply only while the current name is unset.
func TestResolve_DurationVariablesTakeCaddySyntaxAndOlderNamesStillWork(t *testing.T) {
	s, err := (&Handler{}).resolve(envOf(map[string]string{
		"ECHELON_VIEW_FLUSH":               "2s",
		"ECHELON_VIEW_FLUSH_MS":            "9000",
		"ECHELON_EVENT_FLUSH_MS":           "1500",
		"ECHELON_CHALLENGE_WINDOW":         "5m",
		"ECHELON_CHALLENGE_WINDOW_MINUTES": "7",
		"ECHELON_FEED_REFRESH":             "1d",
		"ECHELON_SHUTDOWN_TIMEOUT_MS":      "2500",
		"ECHELON_RATE_LIMIT_WINDOW":        "90s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if s.viewFlush != 2*time.Second || s.eventFlush != 1500*time.Millisecond || s.challengeWindow != 5*time.Minute ||
		s.feedRefresh != 24*time.Hour || s.shutdownTimeout != 2500*time.Millisecond || s.rateLimitWindow != 90*time.Second {
		t.Errorf("view %s event %s challenge %s feeds %s shutdown %s window %s",
			s.viewFlush, s.eventFlush, s.challengeWindow, s.feedRefresh, s.shutdownTimeout, s.rateLimitWindow)
	}
	s, err = (&Handler{}).resolve(envOf(map[string]string{"ECHELON_CHALLENGE_WINDOW_MINUTES": "3"}))
	if err != nil || s.challengeWindow != 3*time.Minute {
		t.Errorf("older minutes variable: %s, %v", s.challengeWindow, err)
	}
	for env, want := range map[string]string{
		"ECHELON_VIEW_FLUSH":               "view_flush (from ECHELON_VIEW_FLUSH): \"2000\" is not a duration",
		"ECHELON_CHALLENGE_WINDOW":         "challenge_window (from ECHELON_CHALLENGE_WINDOW): 2h is outside 1m..1h",
		"ECHELON_CHALLENGE_WINDOW_MINUTES": "challenge_window (from ECHELON_CHALLENGE_WINDOW_MINUTES): \"2h\" is not a whole number",
	} {
		v := map[string]string{"ECHELON_VIEW_FLUSH": "2000", "ECHELON_CHALLENGE_WINDOW": "2h", "ECHELON_CHALLENGE_WINDOW_MINUTES": "2h"}[env]
		_, err := (&Handler{}).resolve(envOf(map[string]string{env: v}))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=%s: error %v, want %q", env, v, err, want)
		}
	}
}
