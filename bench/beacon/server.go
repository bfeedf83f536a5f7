package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/echelon-analytics/caddy-echelon/internal/geotest"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// serverOptions are the knobs of the Caddy config under test.
type serverOptions struct {
	dir        string // temp dir: Badger data and Caddy storage
	viewFlush  time.Duration
	rateLimit  int // per client IP per minute
	plainAddr  string
	beaconAddr string
	adminAddr  string
	geoipDB    string // country database file; "" for none
}

// plainBody is the plain route's answer: 43 bytes like Echelon's pixel.
// JSON strings cannot carry the GIF's non-UTF-8 bytes, so it is ASCII.
const plainBody = "GIF89a-plain-route-body-of-forty-three-byte"

// caddyConfig is one Caddy config with two HTTP servers that differ only in
// their single route: `plain` answers with static_response, `beacon` with
// the echelon handler. Both trust loopback as a proxy, so X-Forwarded-For
// becomes the client IP; the admin endpoint serves /metrics.
func caddyConfig(o serverOptions) ([]byte, error) {
	server := func(addr string, handler map[string]any) map[string]any {
		return map[string]any{
			"listen":          []string{addr},
			"automatic_https": map[string]any{"disable": true},
			"trusted_proxies": map[string]any{"source": "static", "ranges": []string{"127.0.0.0/8"}},
			"routes":          []any{map[string]any{"handle": []any{handler}}},
		}
	}
	echelon := map[string]any{
		"handler":           "echelon",
		"db_path":           dbPath(o.dir),
		"secret":            "bench-secret-not-for-production-use",
		"view_flush":        o.viewFlush.String(),
		"trust_proxy":       true,
		"rate_limit_max":    o.rateLimit,
		"rate_limit_window": "1m",
		// The load carries no proof of work (a token is single-use, and
		// the same requests go to both routes): with the default +50 every
		// view would be a bot's, which skips most of the counters. +15
		// keeps them clean, so the full write path is measured.
		"pow_missing_points": 15,
	}
	if o.geoipDB != "" {
		echelon["geoip_db"] = o.geoipDB
	}
	cfg := map[string]any{
		"admin":   map[string]any{"listen": o.adminAddr, "config": map[string]any{"persist": false}},
		"logging": map[string]any{"logs": map[string]any{"default": map[string]any{"level": "ERROR"}}},
		"storage": map[string]any{"module": "file_system", "root": filepath.Join(o.dir, "caddy")},
		"apps": map[string]any{"http": map[string]any{
			"grace_period": "2s",
			"servers": map[string]any{
				"plain": server(o.plainAddr, map[string]any{
					"handler":     "static_response",
					"status_code": 200,
					"headers": map[string][]string{
						"Content-Type":  {"image/gif"},
						"Cache-Control": {"no-store"},
					},
					"body": plainBody,
				}),
				"beacon": server(o.beaconAddr, echelon),
			},
		}},
	}
	return json.Marshal(cfg)
}

func dbPath(dir string) string { return filepath.Join(dir, "db") }

// writeGeoDB writes a country database in which every load-generator
// address (10.x.y.z) falls into one of 4096 /20 networks spread over
// eight countries, deep enough in the tree to cost what a real country
// database's lookup costs.
func writeGeoDB(dir string) (string, error) {
	codes := []string{"FI", "SE", "DE", "FR", "US", "BR", "JP", "IN"}
	nets := make(map[string]string, 4096)
	for i := range 4096 {
		nets[fmt.Sprintf("10.%d.%d.0/20", i>>4, (i&15)<<4)] = codes[i%len(codes)]
	}
	path := filepath.Join(dir, "country.mmdb")
	return path, geotest.Write(path, nets, geotest.GeoLite2)
}

// countStored stops Caddy, which makes the echelon pool flush its buffers
// and close Badger, then opens the data directory again and counts the
// views stored for the bench site.
func countStored(dir string) (int64, error) {
	if err := caddy.Stop(); err != nil {
		return 0, fmt.Errorf("stop caddy: %w", err)
	}
	st, err := storage.Open(storage.Options{Dir: dbPath(dir)})
	if err != nil {
		return 0, err
	}
	defer st.Close()
	var n int64
	err = st.Views(siteID, time.Unix(0, 0), time.Now().Add(time.Hour), func(*storage.View) bool {
		n++
		return true
	})
	return n, err
}
