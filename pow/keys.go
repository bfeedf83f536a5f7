package pow

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Time units. A challenge lives for one bucket (a minute); a module for one
// epoch (6 hours, aligned to the Unix epoch so every node agrees).
const (
	BucketSeconds   = 60
	EpochSeconds    = 21600
	bucketsPerEpoch = EpochSeconds / BucketSeconds
)

// Labels of the derivations; changing one invalidates every token and module.
const (
	moduleLabel    = "echelon-pow-module/"
	seedInfo       = "echelon-pow-seed/v1"
	challengeLabel = "echelon-pow-challenge"
)

// Bucket is the minute number floor(unix ms / 60000).
func Bucket(t time.Time) int64 { return floorDiv(t.UnixMilli(), 1000*BucketSeconds) }

// Epoch is the module period floor(unix s / 21600).
func Epoch(t time.Time) int64 { return floorDiv(t.Unix(), EpochSeconds) }

// BucketEpoch is the epoch a bucket falls in: floor(bucket × 60 / 21600).
func BucketEpoch(bucket int64) int64 { return floorDiv(bucket, bucketsPerEpoch) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// SeedForEpoch derives the 64-byte module seed of an epoch:
//
//	prk  = HMAC-SHA256(secret, "echelon-pow-module/" + decimal epoch)
//	seed = HKDF-Expand-SHA256(prk, info "echelon-pow-seed/v1", 64 bytes)
//
// HKDF-Expand (RFC 5869) stretches the 32-byte HMAC to the 64 bytes
// ParamsFromSeed takes; only bytes 0..36 are used today.
func SeedForEpoch(secret []byte, epoch int64) [64]byte {
	prk := hmacSHA256(secret, []byte(moduleLabel+strconv.FormatInt(epoch, 10)))
	okm, err := hkdf.Expand(sha256.New, prk[:], seedInfo, 64)
	if err != nil {
		panic("pow: hkdf: " + err.Error()) // only for lengths > 255×32
	}
	var seed [64]byte
	copy(seed[:], okm)
	return seed
}

// ParamsForEpoch is ParamsFromSeed(SeedForEpoch(secret, epoch)).
func ParamsForEpoch(secret []byte, epoch int64) Params {
	return ParamsFromSeed(SeedForEpoch(secret, epoch))
}

// ChallengeKey derives the key of the per-minute challenges:
// HMAC-SHA256(secret, "echelon-pow-challenge").
func ChallengeKey(secret []byte) [32]byte {
	return hmacSHA256(secret, []byte(challengeLabel))
}

// Challenge is the challenge of a minute bucket: lowercase
// hex of the first 16 bytes of HMAC-SHA256(key, decimal bucket).
func Challenge(key []byte, bucket int64) string {
	c := challengeHex(key, bucket)
	return string(c[:])
}

func challengeHex(key []byte, bucket int64) [32]byte {
	sum := hmacSHA256(key, strconv.AppendInt(nil, bucket, 10))
	var out [32]byte
	hex.Encode(out[:], sum[:16])
	return out
}

func hmacSHA256(key, msg []byte) [32]byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	var out [32]byte
	m.Sum(out[:0])
	return out
}
