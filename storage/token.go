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

var errBadToken = errors.New("bad string token")

func appendToken(dst []byte, s string) []byte {
	if i, ok := commonIndex[s]; ok {
		return binary.AppendUvarint(dst, i<<2|tokCommon)
	}
	if isUUID(s) {
		dst = binary.AppendUvarint(dst, tokUUID)
		for i := 0; i < len(s); {
			if s[i] == '-' {
				i++
				continue
			}
			dst = append(dst, unhex(s[i])<<4|unhex(s[i+1]))
			i += 2
		}
		return dst
	}
	if isLowerHex(s) {
		dst = binary.AppendUvarint(dst, uint64(len(s)/2)<<2|tokHex)
		return appendUnhex(dst, s)
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
	if isLowerHex(s) {
		dst = binary.AppendUvarint(dst, uint64(len(s)/2)<<1|1)
		return appendUnhex(dst, s)
	}
	dst = binary.AppendUvarint(dst, uint64(len(s))<<1)
	return append(dst, s...)
}

func isLowerHex(s string) bool {
	if len(s) == 0 || len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHexDigit(s[i]) {
			return false
		}
	}
	return true
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if s[i] != '-' {
				return false
			}
		} else if !isHexDigit(s[i]) {
			return false
		}
	}
	return true
}

func isHexDigit(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

func appendUnhex(dst []byte, s string) []byte {
	for i := 0; i+1 < len(s); i += 2 {
		dst = append(dst, unhex(s[i])<<4|unhex(s[i+1]))
	}
	return dst
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
