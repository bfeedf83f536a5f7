package geoip_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/geoip"
	"github.com/echelon-analytics/caddy-echelon/internal/geotest"
)

var networks = map[string]string{
	"127.0.0.2/32":    "FI",
	"127.0.0.3/32":    "br",
	"127.0.0.4/32":    "XX", // unknown marker: no country
	"203.0.113.0/24":  "JP",
	"2001:db8::/32":   "DE",
	"198.51.100.0/24": "1A", // not letters: rejected
}

func writeDB(t *testing.T, shape geotest.Shape, nets map[string]string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "country.mmdb")
	if err := geotest.Write(path, nets, shape); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCountry_BothRecordShapes(t *testing.T) {
	cases := []struct{ ip, want string }{
		{"127.0.0.2", "FI"},
		{"127.0.0.3", "BR"},
		{"::ffff:127.0.0.2", "FI"},
		{"127.0.0.4", ""},
		{"127.0.0.1", ""},
		{"203.0.113.77", "JP"},
		{"2001:db8::1", "DE"},
		{"fe80::1%eth0", ""},
		{"198.51.100.1", ""},
		{"192.0.2.1", ""},
	}
	for name, shape := range map[string]geotest.Shape{"geolite2": geotest.GeoLite2, "ipinfo": geotest.IPinfo} {
		db, err := geoip.Open(writeDB(t, shape, networks))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			for range 2 { // the second lookup comes from the record cache
				if got := db.Country(netip.MustParseAddr(c.ip)); got != c.want {
					t.Errorf("%s: Country(%s) = %q, want %q", name, c.ip, got, c.want)
				}
			}
		}
		if got := db.Country(netip.Addr{}); got != "" {
			t.Errorf("%s: the zero address maps to %q", name, got)
		}
	}
	var nilDB *geoip.DB
	if got := nilDB.Country(netip.MustParseAddr("127.0.0.2")); got != "" {
		t.Errorf("a nil database answered %q", got)
	}
}

func TestOpen_BadFilesSayWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.mmdb")
	empty := filepath.Join(dir, "empty.mmdb")
	_ = os.WriteFile(garbage, []byte("this is not a database"), 0o644)
	_ = os.WriteFile(empty, nil, 0o644)
	for path, want := range map[string]string{
		filepath.Join(dir, "missing.mmdb"): "no such file",
		garbage:                            "not a MaxMind-format database",
		empty:                              "not a MaxMind-format database",
		dir:                                "is a directory",
	} {
		_, err := geoip.Open(path)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%s) = %v, want an error saying %q", filepath.Base(path), err, want)
		}
	}
}

func TestRefresh_ReloadsAChangedFileAndKeepsTheOldOnABadOne(t *testing.T) {
	path := writeDB(t, geotest.GeoLite2, map[string]string{"127.0.0.2/32": "FI"})
	db, err := geoip.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr("127.0.0.2")
	if ok, err := db.Refresh(); ok || err != nil {
		t.Fatalf("unchanged file: Refresh = %v, %v", ok, err)
	}
	if err := geotest.Write(path, map[string]string{"127.0.0.0/24": "NO"}, geotest.GeoLite2); err != nil {
		t.Fatal(err)
	}
	// Same size is possible; a new mtime is what tells the change.
	_ = os.Chtimes(path, time.Now().Add(time.Minute), time.Now().Add(time.Minute))
	if ok, err := db.Refresh(); !ok || err != nil {
		t.Fatalf("changed file: Refresh = %v, %v", ok, err)
	}
	if got := db.Country(a); got != "NO" {
		t.Errorf("after reload Country = %q, want NO", got)
	}
	tmp := path + ".new"
	_ = os.WriteFile(tmp, []byte("broken download"), 0o644)
	_ = os.Rename(tmp, path)
	if ok, err := db.Refresh(); ok || err == nil {
		t.Fatalf("broken file: Refresh = %v, %v; want an error", ok, err)
	}
	if got := db.Country(a); got != "NO" {
		t.Errorf("after a failed reload Country = %q, want the old database's NO", got)
	}
}

func TestWatch_PicksUpTheNewFileAndStopsOnClose(t *testing.T) {
	path := writeDB(t, geotest.GeoLite2, map[string]string{"127.0.0.2/32": "FI"})
	db, err := geoip.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	reloaded := make(chan struct{}, 1)
	db.Watch(5*time.Millisecond, func() { reloaded <- struct{}{} }, func(err error) { t.Errorf("reload failed: %v", err) })
	if err := geotest.Write(path, map[string]string{"127.0.0.2/32": "SE", "10.0.0.0/8": "SE"}, geotest.GeoLite2); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reloaded:
	case <-time.After(5 * time.Second):
		t.Fatal("no reload within 5s")
	}
	if got := db.Country(netip.MustParseAddr("127.0.0.2")); got != "SE" {
		t.Errorf("Country = %q after the watched reload, want SE", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := geotest.Write(path, map[string]string{"127.0.0.2/32": "DK"}, geotest.GeoLite2); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if got := db.Country(netip.MustParseAddr("127.0.0.2")); got != "SE" {
		t.Errorf("Country = %q: the watcher reloaded after Close", got)
	}
}

// BenchmarkCountry is the beacon path's lookup: a tree walk and a cached
// record, no allocation.
func BenchmarkCountry(b *testing.B) {
	// 65,536 IPv4 /24 networks and as many IPv6 /48s: a lookup walks 24
	// (IPv4, below the cached IPv4 root) or 48 levels, at least as deep as
	// in a real country database, whose networks are mostly wider.
	nets := map[string]string{}
	codes := []string{"FI", "SE", "DE", "FR", "US", "BR", "JP", "IN"}
	for i := range 1 << 16 {
		nets[netip.AddrFrom4([4]byte{byte(1 + i>>12), byte(i >> 4), byte(i << 4), 0}).String()+"/24"] = codes[i%len(codes)]
		nets[fmt.Sprintf("2001:db8:%x::/48", i)] = codes[(i+1)%len(codes)]
	}
	path := filepath.Join(b.TempDir(), "bench.mmdb")
	if err := geotest.Write(path, nets, geotest.GeoLite2); err != nil {
		b.Fatal(err)
	}
	db, err := geoip.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	for _, family := range []string{"ipv4", "ipv6"} {
		addrs := make([]netip.Addr, 1024)
		for i := range addrs {
			if family == "ipv4" {
				addrs[i] = netip.AddrFrom4([4]byte{byte(1 + i%16), byte(i * 7), byte(i << 4), 1})
			} else {
				addrs[i] = netip.MustParseAddr(fmt.Sprintf("2001:db8:%x::1", i*61))
			}
		}
		b.Run(family, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if db.Country(addrs[i%len(addrs)]) == "" {
					b.Fatal("miss")
				}
			}
		})
	}
}

// A broken replacement is reported once, not on every check, and the
// next good file is loaded.
func TestWatch_ReportsABrokenFileOnce(t *testing.T) {
	path := writeDB(t, geotest.GeoLite2, map[string]string{"127.0.0.2/32": "FI"})
	db, err := geoip.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	failures, reloads := make(chan error, 100), make(chan struct{}, 1)
	_ = os.WriteFile(path+".tmp", []byte("half a download"), 0o644)
	_ = os.Rename(path+".tmp", path)
	db.Watch(2*time.Millisecond, func() { reloads <- struct{}{} }, func(err error) { failures <- err })
	select {
	case err := <-failures:
		if !strings.Contains(err.Error(), "not a MaxMind-format database") {
			t.Errorf("failure %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no failure reported within 5s")
	}
	time.Sleep(50 * time.Millisecond) // about 25 more checks of the same broken file
	if n := len(failures); n != 0 {
		t.Errorf("%d more reports of the same failure", n)
	}
	if got := db.Country(netip.MustParseAddr("127.0.0.2")); got != "FI" {
		t.Errorf("Country = %q while the file is broken, want the loaded copy's FI", got)
	}
	if err := geotest.Write(path, map[string]string{"127.0.0.2/32": "EE"}, geotest.GeoLite2); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reloads:
	case <-time.After(5 * time.Second):
		t.Fatal("the good file was not loaded within 5s")
	}
	if got := db.Country(netip.MustParseAddr("127.0.0.2")); got != "EE" {
		t.Errorf("Country = %q after the fix, want EE", got)
	}
}
