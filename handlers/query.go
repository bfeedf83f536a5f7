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
	qSolver
	qWebdriver
	qCount
)

// beaconKeys are the beacon's parameter names (docs/tracker.md, The beacon).
var beaconKeys = [qCount]string{"p", "s", "ck", "ref", "pwa", "uc", "us", "um", "uct", "ut", "sid", "_v", "sw", "sh", "tok", "pv", "wd"}

// beaconParams holds the raw (unescaped, not yet decoded) b.gif parameters.
type beaconParams [qCount]string

// rawParams holds the b.gif parameters as they appear in the query string,
// with a bit per parameter whose value still has escapes ('%' or '+'):
// the base64 ones are decoded straight from there (decodeB64Raw), without
// an unescaped copy.
type rawParams struct {
	v       [qCount]string
	escaped uint32
}

// scanQuery fills the known parameters from a raw query string, unescaped.
// It replaces url.ParseQuery: no map. Like url.Values.Get the first
// occurrence wins, and like url.ParseQuery a pair with a bad escape or a
// ';' is dropped.
func scanQuery(raw string) beaconParams {
	rp := scanRaw(raw)
	var bp beaconParams
	for i := range bp {
		bp[i] = rp.get(i)
	}
	return bp
}

// scanRaw is scanQuery without unescaping the values; it allocates only
// for an escaped key.
func scanRaw(raw string) rawParams {
	var rp rawParams
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
			if !validEscapes(val) {
				continue
			}
			rp.escaped |= 1 << i
		}
		seen |= 1 << i
		rp.v[i] = val
	}
	return rp
}

// get returns parameter i unescaped. Its escapes were checked by scanRaw,
// so unescaping cannot fail.
func (rp *rawParams) get(i int) string {
	if rp.escaped&(1<<i) == 0 {
		return rp.v[i]
	}
	v, _ := url.QueryUnescape(rp.v[i])
	return v
}

// b64 decodes base64 parameter i (decodeB64Raw).
func (rp *rawParams) b64(i int) (string, bool) {
	return decodeB64Raw(rp.v[i], rp.escaped&(1<<i) != 0)
}

// validEscapes reports whether every '%' in s starts a %XX escape, the
// condition for url.QueryUnescape to succeed.
func validEscapes(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		if i+2 >= len(s) {
			return false
		}
		if _, ok := unhex(s[i+1]); !ok {
			return false
		}
		if _, ok := unhex(s[i+2]); !ok {
			return false
		}
		i += 2
	}
	return true
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

// keyIndex is the index of key in beaconKeys, -1 if it is none of them.
// Every key is at most 3 bytes, so a key packed into an integer finds its
// index by integer compares: comparing the strings took half of scanRaw.
func keyIndex(key string) int {
	if len(key) == 0 || len(key) > 3 {
		return -1
	}
	c := packKey(key)
	for i, k := range beaconKeyCodes {
		if k == c {
			return i
		}
	}
	return -1
}

// beaconKeyCodes are the beaconKeys packed by packKey.
var beaconKeyCodes = func() (c [qCount]uint32) {
	for i, k := range beaconKeys {
		c[i] = packKey(k)
	}
	return c
}()

// packKey packs a key of 1 to 3 bytes and its length into an integer,
// distinct for distinct keys.
func packKey(k string) uint32 {
	c := uint32(len(k)) << 24
	for i := 0; i < len(k); i++ {
		c |= uint32(k[i]) << (8 * i)
	}
	return c
}
