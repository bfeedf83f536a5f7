package geoip_test

import (
	"net/netip"
	"testing"

	"github.com/echelon-analytics/caddy-echelon/geoip"
	"github.com/echelon-analytics/caddy-echelon/internal/geotest"
)

// FuzzCountry: whatever the database holds and whatever address is asked,
// a lookup returns a code or nothing, never a panic, and a code is always
// two upper-case letters.
func FuzzCountry(f *testing.F) {
	good, err := geotest.Bytes(networks, geotest.GeoLite2)
	if err != nil {
		f.Fatal(err)
	}
	ipinfo, err := geotest.Bytes(networks, geotest.IPinfo)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, []byte{127, 0, 0, 2})
	f.Add(ipinfo, []byte{127, 0, 0, 3})
	f.Add(good[:len(good)/2], []byte{203, 0, 113, 9})
	f.Add(good, netip.MustParseAddr("2001:db8::1").AsSlice())
	f.Add([]byte("\xab\xcd\xefMaxMind.com"), []byte{1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, file, ip []byte) {
		a, _ := netip.AddrFromSlice(ip)
		c, err := geoip.LookupBytes(file, a)
		if err == nil && c != "" && (len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z') {
			t.Fatalf("Country = %q", c)
		}
	})
}
