package pow

import (
	"encoding/hex"
	"strconv"
)

// Token format: "<bucket>.<nonce>.<hash>"
//
//	bucket  decimal minute number floor(unix ms / 60000), no leading zeros
//	nonce   decimal uint32, no leading zeros ("0" for zero) — the exact text
//	        the module appended to the prefix
//	hash    32 lowercase hex digits: the 16 output bytes in memory order
//
// hash = H_epoch(challenge ":" sid ":" site ":" nonce), where challenge is the
// bucket's challenge and epoch = BucketEpoch(bucket). Example (secret
// "example-secret", sid 123e4567-e89b-42d3-a456-426614174000, site my-site,
// 12 bits; see ExampleVerifier): "28928160.7511.00027b8ca3b2e2edc4afae6a5c6becf0".

const (
	maxBucketDigits = 12 // minute numbers stay below 10^12 until the year 3.8 million
	maxNonceDigits  = 10
	maxNonce        = 1<<32 - 1
	maxTokenLen     = maxBucketDigits + 1 + maxNonceDigits + 1 + 32

	// maxInputLen bounds challenge:sid:site:nonce; longer inputs are refused
	// before hashing (the module's memory layout allows 2048).
	maxInputLen = 256
)

type token struct {
	bucket int64
	nonce  string // canonical decimal text, a substring of the token
	hash   [16]byte
}

// parseToken accepts exactly the canonical form above. It does not allocate.
func parseToken(s string) (token, bool) {
	var t token
	if len(s) > maxTokenLen {
		return t, false
	}
	dot1 := indexDot(s, 0)
	if dot1 < 0 {
		return t, false
	}
	dot2 := indexDot(s, dot1+1)
	if dot2 < 0 {
		return t, false
	}
	bucketText, nonceText, hashText := s[:dot1], s[dot1+1:dot2], s[dot2+1:]

	bucket, ok := parseDecimal(bucketText, maxBucketDigits)
	if !ok {
		return t, false
	}
	nonce, ok := parseDecimal(nonceText, maxNonceDigits)
	if !ok || nonce > maxNonce {
		return t, false
	}
	if !decodeLowerHex(t.hash[:], hashText) {
		return t, false
	}
	t.bucket = int64(bucket)
	t.nonce = nonceText
	return t, true
}

func indexDot(s string, from int) int {
	for i := from; i < len(s); i++ {
		if s[i] == '.' {
			return i
		}
	}
	return -1
}

// parseDecimal accepts 1..maxDigits ASCII digits without leading zeros.
func parseDecimal(s string, maxDigits int) (uint64, bool) {
	if len(s) == 0 || len(s) > maxDigits || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// decodeLowerHex fills dst from exactly 2×len(dst) lowercase hex digits;
// uppercase is refused so every hash has one spelling.
func decodeLowerHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := lowerHexDigit(s[2*i])
		lo, ok2 := lowerHexDigit(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func lowerHexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// FormatToken builds a token from its parts.
func FormatToken(bucket int64, nonce uint32, hash [16]byte) string {
	b := make([]byte, 0, maxTokenLen)
	b = strconv.AppendInt(b, bucket, 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(nonce), 10)
	b = append(b, '.')
	b = hex.AppendEncode(b, hash[:])
	return string(b)
}

// hashInput writes challenge ":" sid ":" site ":" nonce into buf and returns
// its length, or -1 if it does not fit.
func hashInput(buf *[maxInputLen]byte, challenge []byte, sid, site, nonce string) int {
	if len(challenge)+len(sid)+len(site)+len(nonce)+3 > len(buf) {
		return -1
	}
	n := copy(buf[:], challenge)
	for _, part := range [...]string{sid, site} {
		buf[n] = ':'
		n++
		n += copy(buf[n:], part)
	}
	buf[n] = ':'
	n++
	n += copy(buf[n:], nonce)
	return n
}
