package handlers

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/pow"
	"github.com/echelon-analytics/caddy-echelon/scoring"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// A view without a listed referrer is stored with the type the overview
// groups untyped views under.
func TestReferrerUnknown_IsStoragesNoReferrerType(t *testing.T) {
	if string(scoring.ReferrerUnknown) != storage.NoReferrerType || scoring.UnknownOrigin != storage.NoReferrerType {
		t.Errorf("scoring says %q, storage %q", scoring.ReferrerUnknown, storage.NoReferrerType)
	}
}

// A score records each proof-of-work outcome under the name pow gives it,
// and that name must be the score's constant for it; traffic quality reads
// every failed one back as its own reason. A mismatch would count valid
// proofs as failed, give a result no points, or lose a reason.
func TestPoWResults_NamePowsOutcomes(t *testing.T) {
	want := map[pow.Outcome]scoring.PoWResult{
		pow.Valid:    scoring.PoWValid,
		pow.Missing:  scoring.PoWMissing,
		pow.Invalid:  scoring.PoWInvalid,
		pow.Replayed: scoring.PoWReplayed,
		pow.Expired:  scoring.PoWExpired,
	}
	reasons := map[storage.Reason]bool{}
	for o, w := range want {
		if got := scoring.PoWResult(o.String()); got != w { // as checkPoW records it
			t.Errorf("outcome %d is recorded as %q, want %q", int(o), got, w)
		}
		r, ok := storage.ProofReason(string(w))
		if ok == (w == scoring.PoWValid) {
			t.Errorf("ProofReason(%q) ok = %v", w, ok)
		}
		if ok && reasons[r] {
			t.Errorf("ProofReason(%q) = %v, shared with another outcome", w, r)
		}
		reasons[r] = ok
	}
}

// The Cloudflare bot headers count only from a trusted proxy with
// behind_cloudflare; cf-bot-score must be an integer 1–99 and
// cf-verified-bot exactly "true".
func TestScoreInput_CloudflareHeaders(t *testing.T) {
	for _, tc := range []struct {
		behind, trusted bool
		score, verified string
		wantScore       int
		wantVerified    bool
	}{
		{true, true, "1", "", 1, false},
		{true, true, "99", "true", 99, true},
		{true, true, "0", "true", 0, false},
		{true, true, "100", "", 0, false},
		{true, true, "abc", "true", 0, false},
		{true, true, "", "true", 0, false},
		{true, true, "5", "True", 5, false},
		{true, true, "5", "1", 5, false},
		{true, false, "5", "true", 0, false},
		{false, true, "5", "true", 0, false},
	} {
		tr := &Tracking{Config: &Config{BehindCloudflare: tc.behind}}
		r := httptest.NewRequest("GET", "/b.gif", nil)
		r.Header.Set("Cf-Bot-Score", tc.score)
		r.Header.Set("Cf-Verified-Bot", tc.verified)
		in := tr.scoreInput(r, "", scoring.BrandsOf(r.Header["Sec-Ch-Ua"]), Peer{TrustedProxy: tc.trusted}, scoring.HitBeacon, "s")
		if in.CFBotScore != tc.wantScore || in.CFVerified != tc.wantVerified {
			t.Errorf("%+v: score %d verified %v", tc, in.CFBotScore, in.CFVerified)
		}
	}
}

// The rate limit counts an IPv6 client as its /64; IPv4 (also mapped)
// per address.
func TestLimited_IPv6CountsPer64(t *testing.T) {
	tr := &Tracking{Limiter: scoring.NewRateLimiter(2, time.Minute, 0, nil)}
	for _, tc := range []struct {
		ip      string
		limited bool
	}{
		{"2001:db8:1:2::1", false},
		{"2001:db8:1:2::ffff", false},
		{"2001:db8:1:2:aaaa::1", true}, // third hit of the same /64
		{"2001:db8:1:3::1", false},     // another /64
		{"192.0.2.1", false},
		{"192.0.2.1", false},
		{"::ffff:192.0.2.1", true}, // the same IPv4 address
		{"192.0.2.2", false},
	} {
		if got, _ := tr.limited(NewPeer(tc.ip, false)); got != tc.limited {
			t.Errorf("%s: limited %v, want %v", tc.ip, got, tc.limited)
		}
	}
	p6, p4 := NewPeer("2001:db8:9::1", false), NewPeer("198.51.100.9", false)
	if n := testing.AllocsPerRun(100, func() { tr.limited(p6); tr.limited(p4) }); n != 0 {
		t.Errorf("%v allocations per limit check", n)
	}
}
