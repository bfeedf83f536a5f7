package pow

import (
	"encoding/binary"
	"encoding/hex"
	"math/bits"
	"strconv"
)

// Params are the constants that make one generation's hash unique: the
// initial state (the "magic", which doubles as the key) and five rotation
// amounts replacing SipRound's 13, 16, 21, 17, 32.
type Params struct {
	M [4]uint64
	R [5]uint8 // each in 7..53
}

// ParamsFromSeed derives Params from a module seed: M[k] is the
// little-endian uint64 at seed[8k:8k+8]; R[k-1] = 7 + seed[31+k] mod 47 for
// k = 1..5. Bytes 37..63 are unused.
func ParamsFromSeed(seed [64]byte) Params {
	var p Params
	for k := range p.M {
		p.M[k] = binary.LittleEndian.Uint64(seed[8*k:])
	}
	for k := range p.R {
		p.R[k] = 7 + seed[32+k]%47
	}
	return p
}

// Hex is p as the tracker's JavaScript solver reads it, 72 lowercase hex
// digits: M[0..3] as 16 digits each (most significant first), then the
// rotations packed 6 bits each, R[0] lowest, as 8 digits. The constants
// are no secret: the module carries them as plain immediates.
func (p *Params) Hex() string {
	var b [36]byte
	for k, m := range p.M {
		binary.BigEndian.PutUint64(b[8*k:], m)
	}
	var r uint32
	for k, v := range p.R {
		r |= uint32(v&63) << (6 * k)
	}
	binary.BigEndian.PutUint32(b[32:], r)
	return hex.EncodeToString(b[:])
}

// round is SipRound with the rotations taken from p; v0's rotate by 32 stays.
func round(v0, v1, v2, v3 uint64, r *[5]uint8) (uint64, uint64, uint64, uint64) {
	v0 += v1
	v1 = bits.RotateLeft64(v1, int(r[0])) ^ v0
	v0 = bits.RotateLeft64(v0, 32)
	v2 += v3
	v3 = bits.RotateLeft64(v3, int(r[1])) ^ v2
	v0 += v3
	v3 = bits.RotateLeft64(v3, int(r[2])) ^ v0
	v2 += v1
	v1 = bits.RotateLeft64(v1, int(r[3])) ^ v2
	v2 = bits.RotateLeft64(v2, int(r[4]))
	return v0, v1, v2, v3
}

// Hash is the Go implementation of the module's hash: SipHash-2-4's
// shape, state initialised to p.M with no key, 128-bit output
// LE(v0^v1) ‖ LE(v2^v3). It does not allocate.
func Hash(p *Params, in []byte) [16]byte {
	v0, v1, v2, v3 := p.M[0], p.M[1], p.M[2], p.M[3]
	r := &p.R
	n := len(in)
	i := 0
	for ; i+8 <= n; i += 8 {
		m := binary.LittleEndian.Uint64(in[i:])
		v3 ^= m
		v0, v1, v2, v3 = round(v0, v1, v2, v3, r)
		v0, v1, v2, v3 = round(v0, v1, v2, v3, r)
		v0 ^= m
	}
	// The final block carries the length's low byte on top and the 0..7
	// remaining bytes below; it is processed even when n is a multiple of 8.
	m := uint64(n&0xff) << 56
	for j := i; j < n; j++ {
		m |= uint64(in[j]) << (8 * uint(j-i))
	}
	v3 ^= m
	v0, v1, v2, v3 = round(v0, v1, v2, v3, r)
	v0, v1, v2, v3 = round(v0, v1, v2, v3, r)
	v0 ^= m
	v2 ^= 0xff
	for range 4 {
		v0, v1, v2, v3 = round(v0, v1, v2, v3, r)
	}
	var out [16]byte
	binary.LittleEndian.PutUint64(out[0:], v0^v1)
	binary.LittleEndian.PutUint64(out[8:], v2^v3)
	return out
}

// LeadingZeroBits counts the zero bits at the start of h read in memory
// order: byte 0's most significant bit first. This is the order the token's
// hex shows, so "0007…" has at least 13 leading zero bits.
func LeadingZeroBits(h [16]byte) int {
	hi := binary.BigEndian.Uint64(h[0:])
	if hi != 0 {
		return bits.LeadingZeros64(hi)
	}
	return 64 + bits.LeadingZeros64(binary.BigEndian.Uint64(h[8:]))
}

// Solve is the native twin of the module's search export: it tries nonces
// start, start+1, … (decimal text appended to prefix) and returns the first
// whose hash has at least bitsWanted leading zero bits. ok is false only if
// the whole uint32 range after start was exhausted. Servers use it in tests
// and self-checks; the work is the same as the browser's.
func Solve(p *Params, prefix []byte, bitsWanted int, start uint32) (nonce uint32, h [16]byte, ok bool) {
	buf := make([]byte, len(prefix), len(prefix)+maxNonceDigits)
	copy(buf, prefix)
	for n := uint64(start); n <= maxNonce; n++ {
		in := strconv.AppendUint(buf, n, 10)
		h = Hash(p, in)
		if LeadingZeroBits(h) >= bitsWanted {
			return uint32(n), h, true
		}
	}
	return 0, h, false
}
