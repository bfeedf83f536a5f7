package handlers

import (
	"net/url"
	"testing"
)

// FuzzScanQuery checks the hand-written scanner against the standard
// library: for every key the beacon reads, it returns what
// url.ParseQuery(raw).Get(key) returns.
func FuzzScanQuery(f *testing.F) {
	f.Add("p=L2E&s=shop&_v=1200&sw=1&sh=2&sid=x&tok=1.2.3")
	f.Add("s=a&s=b&p=%2Fx+y&%5Fv=spa")
	f.Add("p=%zz&p=ok&s;=x&ref=a%2")
	f.Add("&&=&p&p=1")
	f.Fuzz(func(t *testing.T, raw string) {
		want, _ := url.ParseQuery(raw)
		got := scanQuery(raw)
		for i, k := range beaconKeys {
			if got[i] != want.Get(k) {
				t.Fatalf("%q: key %q scanned %q, ParseQuery %q", raw, k, got[i], want.Get(k))
			}
		}
	})
}
