package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A token is one string in a value: a uvarint header h, then a body.
// h&3 says the form, h>>2 is n:
//
//	0 raw     n bytes follow, the string itself
//	1 common  commonStrings[n], no body
//	2 hex     n bytes follow; the string is their lowercase hex (visitor ids)
//	3 uuid    n = 0, 16 bytes follow; the string is the canonical lowercase
//	          8-4-4-4-12 UUID (session ids)
//
// The encoder picks a packed form only when it reproduces the string
// exactly, so every string round-trips.
const (
	tokRaw = iota
	tokCommon
	tokHex
	tokUUID
)

// commonStrings are values that recur in almost every row. Append only:
// the index is stored, so changing or removing an entry needs a new codec
// version. The first 32 entries encode in one byte.
var commonStrings = [...]string{
	"desktop", "mobile", "tablet",
	"direct_or_unknown", "search", "social", "ai",
	"Chrome", "Safari", "Firefox", "Edge", "Opera", "Samsung Browser", "UC Browser",
	"Windows 10/11", "Linux", "ChromeOS", "Windows 8.1", "Windows 7",
	"/", "{}",
	"bounce", "session_end", "session_resume", "click", "outbound", "download",
	"scroll_depth", "hover", "form_focus", "form_blur", "form_submit",
	// two-byte entries from here on
	"web_vital", "custom", "ad_click", `{"source":"api_ingest"}`,
}

var commonIndex = func() map[string]uint64 {
	m := make(map[string]uint64, len(commonStrings))
	for i, s := range commonStrings {
		m[s] = uint64(i)
	}
	return m
}()

// commonSlots makes the common-string lookup one probe of a small table
// instead of hashing the whole string: most strings are not common. A slot
// holds the index of the only common string with that hash, noCommon, or
// manyCommon (then the map decides).
var commonSlots = func() (t [256]int16) {
	for i := range t {
		t[i] = noCommon
	}
	for i, s := range commonStrings {
		h := commonHash(s)
		if t[h] == noCommon {
			t[h] = int16(i)
		} else {
			t[h] = manyCommon
		}
	}
	return t
}()

const (
	noCommon   = -1
	manyCommon = -2
)

func commonHash(s string) uint8 {
	n := len(s)
	return uint8(n*37 + int(s[0])*7 + int(s[n/2])*3 + int(s[n-1]))
}

// lookupCommon returns the index of s in commonStrings; s is not empty.
func lookupCommon(s string) (uint64, bool) {
	switch i := commonSlots[commonHash(s)]; i {
	case noCommon:
		return 0, false
	case manyCommon:
		i, ok := commonIndex[s]
		return i, ok
	default:
		return uint64(i), commonStrings[i] == s
	}
}

var errBadToken = errors.New("bad string token")

// appendToken appends s, which is not empty, as a token. The packed forms
// decode while they check, and are cut off again when s turns out not to
// fit them.
func appendToken(dst []byte, s string) []byte {
	if i, ok := lookupCommon(s); ok {
		return binary.AppendUvarint(dst, i<<2|tokCommon)
	}
	n := len(dst)
	if len(s) == 36 {
		if out, ok := appendUUID(append(dst, tokUUID), s); ok {
			return out
		}
		dst = dst[:n]
	}
	if len(s)%2 == 0 {
		if out, ok := appendUnhex(binary.AppendUvarint(dst, uint64(len(s)/2)<<2|tokHex), s); ok {
			return out
		}
		dst = dst[:n]
	}
	dst = binary.AppendUvarint(dst, uint64(len(s))<<2|tokRaw)
	return append(dst, s...)
}

func (d *decoder) token() string {
	h := d.uvarint()
	if d.err != nil {
		return ""
	}
	n := h >> 2
	switch h & 3 {
	case tokRaw:
		return string(d.bytes(n))
	case tokCommon:
		if n >= uint64(len(commonStrings)) {
			d.fail(fmt.Errorf("%w: common index %d", errBadToken, n))
			return ""
		}
		return commonStrings[n]
	case tokHex:
		return hexString(d.bytes(n))
	default: // tokUUID
		if n != 0 {
			d.fail(errBadToken)
			return ""
		}
		b := d.bytes(16)
		if b == nil {
			return ""
		}
		return uuidString(b)
	}
}

// appendKeyToken is the token form used inside keys: a uvarint header h,
// then h>>1 bytes, which are the string itself when h&1 = 0 or its
// lowercase hex digits packed in pairs when h&1 = 1. It is prefix-free, so
// a key can hold more after it.
func appendKeyToken(dst []byte, s string) []byte {
	if len(s) > 0 && len(s)%2 == 0 {
		n := len(dst)
		if out, ok := appendUnhex(binary.AppendUvarint(dst, uint64(len(s)/2)<<1|1), s); ok {
			return out
		}
		dst = dst[:n]
	}
	dst = binary.AppendUvarint(dst, uint64(len(s))<<1)
	return append(dst, s...)
}

// hexValue maps a lowercase hex digit to its value and every other byte
// to 0xff.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := range len(hexDigits) {
		t[hexDigits[i]] = byte(i)
	}
	return t
}()

// appendUnhex appends the bytes that the lowercase hex digits of s (an
// even number of them) stand for. ok is false, with some bytes appended,
// when s has another byte.
func appendUnhex(dst []byte, s string) (out []byte, ok bool) {
	for i := 0; i+1 < len(s); i += 2 {
		hi, lo := hexValue[s[i]], hexValue[s[i+1]]
		if hi|lo > 0xf {
			return dst, false
		}
		dst = append(dst, hi<<4|lo)
	}
	return dst, true
}

// appendUUID is appendUnhex for a canonical lowercase UUID (36 bytes).
func appendUUID(dst []byte, s string) (out []byte, ok bool) {
	if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return dst, false
	}
	for _, part := range [...]string{s[:8], s[9:13], s[14:18], s[19:23], s[24:]} {
		if dst, ok = appendUnhex(dst, part); !ok {
			return dst, false
		}
	}
	return dst, true
}

const hexDigits = "0123456789abcdef"

func hexString(b []byte) string {
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = hexDigits[c>>4], hexDigits[c&15]
	}
	return string(out)
}

func uuidString(b []byte) string {
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexDigits[c>>4], hexDigits[c&15])
	}
	return string(out)
}
