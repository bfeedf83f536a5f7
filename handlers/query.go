package handlers

import (
	"net/url"
	"strings"
)

// Indexes of the b.gif parameters in beaconParams.
const (
	qPath = iota
	qSite
	qCookie
	qRef
	qPWA
	qUTMCampaign
	qUTMSource
	qUTMMedium
	qUTMContent
	qUTMTerm
	qSession
	qInteraction
	qScreenW
	qScreenH
	qToken
	qCount
)

// beaconKeys are the parameter names of tracker-protocol.md §4.1.
var beaconKeys = [qCount]string{"p", "s", "ck", "ref", "pwa", "uc", "us", "um", "uct", "ut", "sid", "_v", "sw", "sh", "tok"}

// beaconParams holds the raw (unescaped, not yet decoded) b.gif parameters.
type beaconParams [qCount]string

// scanQuery fills the known parameters from a raw query string. It replaces
// url.ParseQuery on the hot path: no map, and an allocation only for values
// that need unescaping. Like url.Values.Get the first occurrence wins, and
// like url.ParseQuery a pair with a bad escape or a ';' is
// dropped.
func scanQuery(raw string) beaconParams {
	var bp beaconParams
	var seen uint32
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if strings.Contains(pair, ";") {
			continue
		}
		key, val, _ := strings.Cut(pair, "=")
		if needsUnescape(key) {
			k, err := url.QueryUnescape(key)
			if err != nil {
				continue
			}
			key = k
		}
		i := keyIndex(key)
		if i < 0 || seen&(1<<i) != 0 {
			continue
		}
		if needsUnescape(val) {
			v, err := url.QueryUnescape(val)
			if err != nil {
				continue
			}
			val = v
		}
		seen |= 1 << i
		bp[i] = val
	}
	return bp
}

// needsUnescape reports whether s has a '%' escape or a '+' (space). A
// byte loop: strings.ContainsAny builds a set on every call, which showed
// in the beacon profile.
func needsUnescape(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' || s[i] == '+' {
			return true
		}
	}
	return false
}

func keyIndex(key string) int {
	for i, k := range beaconKeys {
		if k == key {
			return i
		}
	}
	return -1
}
