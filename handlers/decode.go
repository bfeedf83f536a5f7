package handlers

import (
	"bytes"
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// decodeB64 decodes a beacon parameter: the tracker URL-encodes
// every value, but older snippets did not, so a '+' that a query parser turned
// into a space is put back. Standard and URL-safe alphabets, padded or not,
// are accepted. The result is valid UTF-8: invalid bytes become U+FFFD.
func decodeB64(s string) (string, bool) {
	return decodeB64Raw(s, false)
}

// decodeB64Raw is decodeB64 of a query value that may still be
// URL-escaped: %XX escapes are undone into a stack buffer first, and a
// '+' stays a '+' (a query's '+' is a space, which decodeB64 would turn
// back into '+'). One allocation: the result, for values up to 512
// bytes: the stack buffers are zeroed on every call, and at 1 KB each that
// was a tenth of the parse; longer values (rare) take heap buffers.
func decodeB64Raw(s string, escaped bool) (string, bool) {
	if s == "" {
		return "", false
	}
	var unesc [512]byte
	src := unesc[:0]
	if escaped || strings.IndexByte(s, ' ') >= 0 {
		if len(s) > len(unesc) {
			src = make([]byte, 0, len(s))
		}
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c == '%' && escaped && i+2 < len(s) {
				hi, ok1 := unhex(s[i+1])
				lo, ok2 := unhex(s[i+2])
				if ok1 && ok2 {
					c = hi<<4 | lo
					i += 2
				}
			}
			if c == ' ' {
				c = '+'
			}
			src = append(src, c)
		}
	} else if len(s) > len(unesc) {
		src = []byte(s)
	} else {
		src = append(src, s...)
	}
	for len(src) > 0 && src[len(src)-1] == '=' {
		src = src[:len(src)-1]
	}
	enc := base64.RawStdEncoding
	if bytes.IndexByte(src, '-') >= 0 || bytes.IndexByte(src, '_') >= 0 {
		enc = base64.RawURLEncoding
	}
	var stack [512]byte
	buf := stack[:]
	if n := enc.DecodedLen(len(src)); n > len(buf) {
		buf = make([]byte, n)
	}
	n, err := enc.Decode(buf, src)
	if err != nil {
		return "", false
	}
	return validUTF8(string(buf[:n])), true
}

// validUTF8 replaces invalid byte sequences so stored text is never garbled
// further downstream.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// percentDecodeLenient decodes %XX escapes and leaves malformed ones as they
// are, where the browser's decodeURIComponent would throw.
func percentDecodeLenient(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b.WriteByte(hi<<4 | lo)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return validUTF8(b.String())
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// truncateRunes cuts s to at most n characters without splitting one. A
// cut string is a copy, so what a record keeps never holds the memory of
// the longer text it was cut from.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i, count := 0, 0
	for i < len(s) && count < n {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		count++
	}
	if i == len(s) {
		return s
	}
	return strings.Clone(s[:i])
}

// hasControl reports whether s holds a C0 control character or DEL, which no
// real path or referrer carries (a NUL byte is the usual probe).
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}
