package echelon

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/echelon-analytics/caddy-echelon/internal/geotest"
)

// geoNetworks places loopback sources in countries: on Linux every
// 127.0.0.x is a distinct local address a client can bind.
var geoNetworks = map[string]string{
	"127.0.0.2/32":   "FI",
	"127.0.0.3/32":   "BR",
	"203.0.113.0/24": "JP",
}

func writeGeoDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "country.mmdb")
	if err := geotest.Write(path, geoNetworks, geotest.GeoLite2); err != nil {
		t.Fatal(err)
	}
	return path
}

// beaconFrom sends a pageview beacon from the local address src.
func beaconFrom(t *testing.T, src, site string, extra http.Header) {
	t.Helper()
	beaconFromQuery(t, src, beaconQuery("/", site, nil), extra)
}

func beaconFromQuery(t *testing.T, src, query string, extra http.Header) {
	t.Helper()
	if status := requestFrom(t, src, "GET", "/b.gif?"+query, "", extra); status != http.StatusOK {
		t.Fatalf("beacon from %s: status %d", src, status)
	}
}

func postFrom(t *testing.T, src, path, body string, extra http.Header) int {
	t.Helper()
	return requestFrom(t, src, "POST", path, body, extra)
}

// requestFrom sends a request with browser headers from the local address
// src (any 127.0.0.x on Linux) and returns the status.
func requestFrom(t *testing.T, src, method, path, body string, extra http.Header) int {
	t.Helper()
	client := sourceClient(src)
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest(method, baseURL+path, strings.NewReader(body))
	for k, v := range browserHeaders() {
		req.Header[k] = v
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s from %s: %v", method, path, src, err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func storedCountries(t *testing.T, dir, site string) []string {
	t.Helper()
	var out []string
	for _, v := range storedViews(t, dir, site) {
		out = append(out, v.CountryCode)
	}
	return out
}

// Beacons from addresses the database maps land in their country through
// real Caddy; an unmapped address has none; a trusted header still wins.
func TestGeoIP_BeaconsLandInTheDatabasesCountry(t *testing.T) {
	db := writeGeoDB(t)
	t.Run("socket peer", func(t *testing.T) {
		_, dir := startCaddy(t, classicPoW("geoip_db "+db+"\ntrust_geo_headers"))
		beaconFrom(t, "127.0.0.2", "geo1", nil)
		beaconFrom(t, "127.0.0.3", "geo1", nil)
		beaconFrom(t, "127.0.0.1", "geo1", nil)
		beaconFrom(t, "127.0.0.2", "geo1", http.Header{"X-Country-Code": {"SE"}})
		got := fmt.Sprint(storedCountries(t, dir, "geo1"))
		if want := "[FI BR  SE]"; got != want {
			t.Errorf("countries %s, want %s", got, want)
		}
	})
	t.Run("forwarded address from a trusted proxy", func(t *testing.T) {
		_, dir := startCaddyTrusting(t, "127.0.0.1/32", classicPoW("geoip_db "+db+"\ntrust_proxy"))
		beaconFrom(t, "127.0.0.1", "geo2", http.Header{"X-Forwarded-For": {"203.0.113.40"}})
		beaconFrom(t, "127.0.0.1", "geo2", http.Header{"X-Forwarded-For": {"127.0.0.3"}})
		// Not a trusted proxy: its X-Forwarded-For is ignored, the peer counts.
		beaconFrom(t, "127.0.0.2", "geo2", http.Header{"X-Forwarded-For": {"203.0.113.40"}})
		got := fmt.Sprint(storedCountries(t, dir, "geo2"))
		if want := "[JP BR FI]"; got != want {
			t.Errorf("countries %s, want %s", got, want)
		}
	})
	t.Run("without a database", func(t *testing.T) {
		_, dir := startCaddy(t, classicPoW(""))
		beaconFrom(t, "127.0.0.2", "geo3", nil)
		if got := storedCountries(t, dir, "geo3"); len(got) != 1 || got[0] != "" {
			t.Errorf("countries %q without geoip_db, want one view without a country", got)
		}
	})
}

// The watcher of the country database file stops when its configuration
// is unloaded.
func TestGeoIP_WatcherStopsOnCleanup(t *testing.T) {
	db := writeGeoDB(t)
	startCaddy(t, "geoip_db "+db)
	if n := watchers(); n != 1 {
		t.Fatalf("%d watcher goroutines running with geoip_db, want 1", n)
	}
	unload(t)
	if n := watchers(); n != 0 {
		t.Errorf("%d watcher goroutines left after unload", n)
	}
}

func watchers() int {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	return bytes.Count(buf, []byte("geoip.(*DB).Watch.func"))
}

// A geoip_db that is missing or not a database fails the load (what
// `caddy validate` runs) with a message naming the option and the file.
func TestGeoIP_BadFileFailsTheLoad(t *testing.T) {
	startCaddy(t, "")
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.mmdb")
	notDB, _ := filepath.Abs("go.mod")
	caddytest.AssertLoadError(t, siteConfig(dir, "geoip_db "+missing), "caddyfile", "echelon: geoip_db: stat "+missing+": no such file or directory")
	caddytest.AssertLoadError(t, siteConfig(dir, "geoip_db "+notDB), "caddyfile", "is not a MaxMind-format database")
}
