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

// FuzzDecodeB64Raw checks the escaped-base64 fast path against unescaping
// the query value first and decoding the result, which is what it replaces.
func FuzzDecodeB64Raw(f *testing.F) {
	f.Add("L2Jsb2cvcG9zdD9xPTE%3D")
	f.Add("aHR0cHM6Ly93d3cuZ29vZ2xlLmNvbS8%3D")
	f.Add("a+b%2Bc%2F%3D%3D")
	f.Add("L2E%zz")
	f.Add("LWZvby1fYmFy")
	f.Fuzz(func(t *testing.T, raw string) {
		if !validEscapes(raw) {
			return // scanRaw drops such a pair
		}
		unesc, err := url.QueryUnescape(raw)
		if err != nil {
			t.Fatalf("%q passed validEscapes but QueryUnescape fails: %v", raw, err)
		}
		want, wantOK := decodeB64(unesc)
		got, ok := decodeB64Raw(raw, needsUnescape(raw))
		if got != want || ok != wantOK {
			t.Fatalf("%q: fast path %q %v, unescape+decode %q %v", raw, got, ok, want, wantOK)
		}
	})
}
