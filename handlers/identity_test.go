package handlers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"
)

func TestVisitorHasher_MatchesHMACOfIPUASiteDate(t *testing.T) {
	var vh visitorHasher
	day := time.Date(2026, 11, 25, 23, 59, 0, 0, time.UTC)
	salt1, salt2 := []byte("0123456789abcdef0123456789abcdef"), []byte("fedcba9876543210fedcba9876543210")
	want := func(salt []byte, msg string) string {
		m := hmac.New(sha256.New, salt)
		m.Write([]byte(msg))
		return hex.EncodeToString(m.Sum(nil)[:8])
	}
	got := vh.id(salt1, "203.0.113.9", "UA/1", "shop", day)
	if w := want(salt1, "203.0.113.9|UA/1|shop|2026-11-25"); got != w {
		t.Fatalf("id %s, want %s", got, w)
	}
	if again := vh.id(salt1, "203.0.113.9", "UA/1", "shop", day); again != got {
		t.Errorf("pooled state gave %s then %s", got, again)
	}
	if other := vh.id(salt2, "203.0.113.9", "UA/1", "shop", day); other != want(salt2, "203.0.113.9|UA/1|shop|2026-11-25") || other == got {
		t.Errorf("new salt gave %s", other)
	}
	if next := vh.id(salt2, "203.0.113.9", "UA/1", "shop", day.Add(time.Minute)); next != want(salt2, "203.0.113.9|UA/1|shop|2026-11-26") {
		t.Errorf("the date is part of the id: %s", next)
	}
}

func TestValidCookieID_SixteenLowerHex(t *testing.T) {
	for id, ok := range map[string]bool{
		"0123456789abcdef":  true,
		"0123456789ABCDEF":  false,
		"0123456789abcde":   false,
		"0123456789abcdefa": false,
		"0123456789abcdeg":  false,
		"":                  false,
	} {
		if validCookieID(id) != ok {
			t.Errorf("validCookieID(%q) = %v, want %v", id, !ok, ok)
		}
	}
}
