package handlers

import (
	"net/http/httptest"
	"testing"

	"github.com/echelon-analytics/caddy-echelon/scoring"
)

// The Cloudflare bot headers count only from a trusted proxy with
// behind_cloudflare (decision 5); cf-bot-score must be an integer 1–99 and
// cf-verified-bot exactly "true" (bot-defense.md §2).
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
		in := tr.scoreInput(r, "", Peer{TrustedProxy: tc.trusted}, scoring.HitBeacon, "s")
		if in.CFBotScore != tc.wantScore || in.CFVerified != tc.wantVerified {
			t.Errorf("%+v: score %d verified %v", tc, in.CFBotScore, in.CFVerified)
		}
	}
}
