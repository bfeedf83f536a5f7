package auth

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// Password hash format (password_hash, docs/configuration.md), one line:
//
//	pbkdf2$<iterations>$<salt>$<hash>
//
// salt and hash are standard padded base64; hash is the 32-byte
// PBKDF2-HMAC-SHA256 key of the UTF-8 password. HashPassword writes a 16-byte
// salt and 600000 iterations; verification accepts 1–10,000,000 iterations so
// hashes made with other counts keep working.
const (
	hashScheme       = "pbkdf2"
	hashIterations   = 600000
	hashSaltLen      = 16
	hashKeyLen       = 32
	maxHashIteration = 10_000_000
)

// HashPassword returns a new encoded hash of password with a random salt.
func HashPassword(password string) (string, error) {
	return hashWithIterations(password, hashIterations)
}

func hashWithIterations(password string, iterations int) (string, error) {
	salt := make([]byte, hashSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key, err := pbkdf2.Key(sha256.New, password, salt, iterations, hashKeyLen)
	if err != nil {
		return "", fmt.Errorf("derive password key: %w", err)
	}
	return hashScheme + "$" + strconv.Itoa(iterations) + "$" +
		base64.StdEncoding.EncodeToString(salt) + "$" +
		base64.StdEncoding.EncodeToString(key), nil
}

// passwordHash is a parsed, well-formed encoded hash.
type passwordHash struct {
	iterations int
	salt       []byte
	key        []byte
}

// ParsePasswordHash reports whether s is a well-formed password hash; the
// error says which part is wrong, for configuration validation.
func ParsePasswordHash(s string) error {
	_, err := parsePasswordHash(s)
	return err
}

func parsePasswordHash(s string) (passwordHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 4 {
		return passwordHash{}, fmt.Errorf("password hash: want 4 '$'-separated parts, got %d", len(parts))
	}
	if parts[0] != hashScheme {
		return passwordHash{}, fmt.Errorf("password hash: scheme %q, want %q", parts[0], hashScheme)
	}
	iterations, err := parseIterations(parts[1])
	if err != nil {
		return passwordHash{}, err
	}
	salt, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil {
		return passwordHash{}, fmt.Errorf("password hash: salt is not standard base64: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(parts[3])
	if err != nil {
		return passwordHash{}, fmt.Errorf("password hash: hash is not standard base64: %w", err)
	}
	if len(key) != hashKeyLen {
		return passwordHash{}, fmt.Errorf("password hash: hash is %d bytes, want %d", len(key), hashKeyLen)
	}
	return passwordHash{iterations: iterations, salt: salt, key: key}, nil
}

// parseIterations accepts plain decimal digits only (no sign, no spaces).
func parseIterations(s string) (int, error) {
	if s == "" || len(s) > 8 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("password hash: iterations %q is not a number in 1..%d", s, maxHashIteration)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxHashIteration {
		return 0, fmt.Errorf("password hash: iterations %q is not a number in 1..%d", s, maxHashIteration)
	}
	return n, nil
}

// VerifyPassword reports whether password matches the encoded hash. A
// malformed hash never matches.
func VerifyPassword(encoded, password string) bool {
	h, err := parsePasswordHash(encoded)
	if err != nil {
		return false
	}
	key, err := pbkdf2.Key(sha256.New, password, h.salt, h.iterations, hashKeyLen)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(key, h.key) == 1
}

// CheckCredentials is the dashboard's login check: the username is compared
// in constant time and the password is always verified, so the response time
// does not tell a wrong user from a wrong password.
func CheckCredentials(wantUser, wantHash, user, password string) bool {
	userOK := equalSecret(user, wantUser)
	passOK := VerifyPassword(wantHash, password)
	return wantUser != "" && userOK && passOK
}

// equalSecret compares in constant time, length included: both sides are
// hashed first so a mismatch in length takes as long as one in content.
func equalSecret(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
