package auth

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

func TestHashPassword_FormatAndRoundTrip(t *testing.T) {
	// The only full-cost (600000 iterations) derivations in the suite:
	// about 0.3 s, several seconds under -race.
	encoded, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2" || parts[1] != "600000" || len(parts[2]) != 24 || len(parts[3]) != 44 {
		t.Fatalf("HashPassword = %q, want pbkdf2$600000$<24 chars>$<44 chars>", encoded)
	}
	if err := ParsePasswordHash(encoded); err != nil {
		t.Fatalf("ParsePasswordHash(%q) = %v", encoded, err)
	}
	if !VerifyPassword(encoded, "correct horse") {
		t.Error("VerifyPassword rejects the password it hashed")
	}
}

func TestHashPassword_LowIterationsRoundTrip(t *testing.T) {
	a, err := hashWithIterations("pw", 1000)
	if err != nil {
		t.Fatal(err)
	}
	b, err := hashWithIterations("pw", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("two hashes of the same password are equal: salt not random")
	}
	for _, enc := range []string{a, b} {
		if !VerifyPassword(enc, "pw") {
			t.Errorf("VerifyPassword(%q, pw) = false", enc)
		}
		if VerifyPassword(enc, "pw ") || VerifyPassword(enc, "") {
			t.Errorf("VerifyPassword(%q) accepts a wrong password", enc)
		}
	}
}

func TestVerifyPassword_FixedVectors(t *testing.T) {
	salt := []byte("0123456789abcdef")
	key, err := pbkdf2.Key(sha256.New, "s3cret", salt, 5000, 32)
	if err != nil {
		t.Fatal(err)
	}
	direct := "pbkdf2$5000$" + base64.StdEncoding.EncodeToString(salt) + "$" + base64.StdEncoding.EncodeToString(key)

	tests := []struct {
		name, encoded, password string
	}{
		// RFC 7914 §11: PBKDF2-HMAC-SHA256("passwd", "salt", 1), first 32 bytes.
		{"rfc7914", "pbkdf2$1$c2FsdA==$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLw=", "passwd"},
		// Python hashlib.pbkdf2_hmac, UTF-8 password, salt bytes 0..15.
		{"utf8 via python", "pbkdf2$1000$AAECAwQFBgcICQoLDA0ODw==$M56rYNys1la0fAQ45nvgmVsYVwBGicQtvqUN8bKnWp0=", "pässwörd🔑"},
		{"crypto/pbkdf2 directly", direct, "s3cret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !VerifyPassword(tt.encoded, tt.password) {
				t.Errorf("VerifyPassword(%q, %q) = false", tt.encoded, tt.password)
			}
			if VerifyPassword(tt.encoded, tt.password+"x") {
				t.Errorf("VerifyPassword(%q) accepts a wrong password", tt.encoded)
			}
		})
	}
}

func TestVerifyPassword_MalformedFails(t *testing.T) {
	const salt = "c2FsdA=="
	const key = "VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLw=" // valid for "passwd", 1 iteration
	key31 := base64.StdEncoding.EncodeToString(make([]byte, 31))
	key33 := base64.StdEncoding.EncodeToString(make([]byte, 33))

	tests := []struct{ name, encoded string }{
		{"empty", ""},
		{"three parts", "pbkdf2$1$" + salt},
		{"five parts", "pbkdf2$1$" + salt + "$" + key + "$"},
		{"wrong scheme", "bcrypt$1$" + salt + "$" + key},
		{"scheme case", "PBKDF2$1$" + salt + "$" + key},
		{"iterations 0", "pbkdf2$0$" + salt + "$" + key},
		{"iterations 10000001", "pbkdf2$10000001$" + salt + "$" + key},
		{"iterations huge", "pbkdf2$99999999999999999999$" + salt + "$" + key},
		{"iterations non-numeric", "pbkdf2$abc$" + salt + "$" + key},
		{"iterations signed", "pbkdf2$+1$" + salt + "$" + key},
		{"iterations negative", "pbkdf2$-1$" + salt + "$" + key},
		{"iterations empty", "pbkdf2$$" + salt + "$" + key},
		{"iterations spaced", "pbkdf2$ 1$" + salt + "$" + key},
		{"salt bad base64", "pbkdf2$1$c2Fsd!==$" + key},
		{"hash bad base64", "pbkdf2$1$" + salt + "$" + key[:43] + "!"},
		{"hash unpadded", "pbkdf2$1$" + salt + "$" + strings.TrimRight(key, "=")},
		{"hash url-safe alphabet", "pbkdf2$1$" + salt + "$" + strings.NewReplacer("/", "_", "+", "-").Replace(key)},
		{"hash 31 bytes", "pbkdf2$1$" + salt + "$" + key31},
		{"hash 33 bytes", "pbkdf2$1$" + salt + "$" + key33},
		{"hash empty", "pbkdf2$1$" + salt + "$"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ParsePasswordHash(tt.encoded); err == nil {
				t.Errorf("ParsePasswordHash(%q) = nil, want error", tt.encoded)
			}
			if VerifyPassword(tt.encoded, "passwd") {
				t.Errorf("VerifyPassword(%q) = true", tt.encoded)
			}
		})
	}
}

func TestVerifyPassword_IterationLimitsAccepted(t *testing.T) {
	// Boundaries are parsed, not derived: 10,000,000 iterations would take seconds.
	for _, it := range []string{"1", "10000000"} {
		enc := "pbkdf2$" + it + "$c2FsdA==$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLw="
		if err := ParsePasswordHash(enc); err != nil {
			t.Errorf("ParsePasswordHash(%q) = %v", enc, err)
		}
	}
}

func TestCheckCredentials_BothMustMatch(t *testing.T) {
	const hash = "pbkdf2$1$c2FsdA==$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLw="
	tests := []struct {
		wantUser, user, password string
		ok                       bool
	}{
		{"admin", "admin", "passwd", true},
		{"admin", "Admin", "passwd", false},
		{"admin", "admin", "wrong", false},
		{"admin", "", "passwd", false},
		{"", "", "passwd", false}, // no username configured: login is off
	}
	for _, tt := range tests {
		if got := CheckCredentials(tt.wantUser, hash, tt.user, tt.password); got != tt.ok {
			t.Errorf("CheckCredentials(%q, %q, %q) = %v, want %v", tt.wantUser, tt.user, tt.password, got, tt.ok)
		}
	}
}

func FuzzVerifyPassword(f *testing.F) {
	f.Add("pbkdf2$1$c2FsdA==$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLw=", "passwd")
	f.Add("pbkdf2$0$$", "")
	f.Add("pbkdf2$$$$", "x")
	f.Add("pbkdf2$1$\n$====", "x")
	f.Add("$$$", "")
	f.Fuzz(func(t *testing.T, encoded, password string) {
		// Keep each run fast: large but valid counts are legal and slow.
		if h, err := parsePasswordHash(encoded); err == nil && h.iterations > 1000 {
			return
		}
		VerifyPassword(encoded, password)
		_ = ParsePasswordHash(encoded)
	})
}
