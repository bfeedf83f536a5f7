package pow

import (
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"
)

// t0 is 2025-01-01T00:00Z: bucket 28928160, and the first second of epoch
// 80356, so tokens from just before it belong to the previous module.
var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	testSID  = "123e4567-e89b-42d3-a456-426614174000"
	testSite = "my-site"
)

// sessionVerified reports whether (site, sid) sent a valid token in the
// last SessionTTL (up to five minutes more).
func sessionVerified(v *Verifier, site, sid string, now time.Time) bool {
	_, ok := v.sessions.owner(site, sid, now)
	return ok
}

func newTestVerifier(t testing.TB, secret string, cfg Config) *Verifier {
	t.Helper()
	cfg.Secret = []byte(secret)
	setDefault(&cfg.Difficulty, 4)
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mint(t testing.TB, v *Verifier, sid, site string, bits int, at time.Time) string {
	t.Helper()
	tok, err := v.Mint(sid, site, bits, at)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// craft builds the correct token for a given nonce, whatever its work.
func craft(t testing.TB, v *Verifier, sid, site string, nonce uint32, at time.Time) (string, [16]byte) {
	t.Helper()
	pz, err := v.Puzzle(at)
	if err != nil {
		t.Fatal(err)
	}
	h := Hash(&pz.Module.Params, []byte(pz.Challenge+":"+sid+":"+site+":"+strconv.FormatUint(uint64(nonce), 10)))
	return FormatToken(pz.Bucket, nonce, h), h
}

func TestVerify(t *testing.T) {
	v := newTestVerifier(t, "secret-one", Config{Difficulty: 8})
	now := t0.Add(3 * time.Hour)
	good := mint(t, v, testSID, testSite, 8, now)
	bucket, rest, _ := strings.Cut(good, ".")
	nonce, hash, _ := strings.Cut(rest, ".")
	b, _ := strconv.ParseInt(bucket, 10, 64)
	hexOf := func(h string) string { return bucket + "." + nonce + "." + h }
	flipped := []byte(hash)
	flipped[31] ^= 1 // '0'↔'1', 'a'↔'`' … keeps it a different string
	if flipped[31] == '`' {
		flipped[31] = 'b'
	}

	var weak string
	for n := uint32(0); ; n++ {
		tok, h := craft(t, v, testSID, testSite, n, now)
		if LeadingZeroBits(h) < 8 {
			weak = tok
			break
		}
	}

	cases := []struct {
		name      string
		tok       string
		sid, site string
		bits      int
		at        time.Time
		want      Outcome
	}{
		{"valid", good, testSID, testSite, 0, now, Valid},
		{"valid at the window's far edge", good, testSID, testSite, 0, now.Add(10 * time.Minute), Valid},
		{"valid one bucket before its bucket (clock skew)", good, testSID, testSite, 0, now.Add(-time.Minute), Valid},
		{"missing", "", testSID, testSite, 0, now, Missing},
		{"older than the window", good, testSID, testSite, 0, now.Add(11 * time.Minute), Expired},
		{"two buckets in the future", good, testSID, testSite, 0, now.Add(-2 * time.Minute), Invalid},
		{"wrong sid", good, "00000000-e89b-42d3-a456-426614174000", testSite, 0, now, Invalid},
		{"wrong site", good, testSID, "other", 0, now, Invalid},
		{"empty sid", good, "", testSite, 0, now, Invalid},
		{"too few zero bits", weak, testSID, testSite, 0, now, Invalid},
		{"fewer bits than this visitor needs", good, testSID, testSite, 30, now, Invalid},
		{"hash altered", hexOf(string(flipped)), testSID, testSite, 0, now, Invalid},
		{"other nonce", bucket + ".1" + nonce + "." + hash, testSID, testSite, 0, now, Invalid},
		{"other bucket in window", strconv.FormatInt(b-1, 10) + "." + nonce + "." + hash, testSID, testSite, 0, now, Invalid},
		{"input too long", good, strings.Repeat("s", 300), testSite, 0, now, Invalid},
		{"uppercase hex", hexOf(strings.ToUpper(hash)), testSID, testSite, 0, now, Invalid},
		{"short hex", hexOf(hash[:31]), testSID, testSite, 0, now, Invalid},
		{"long hex", hexOf(hash + "0"), testSID, testSite, 0, now, Invalid},
		{"non-hex", hexOf("g" + hash[1:]), testSID, testSite, 0, now, Invalid},
		{"32 hex only, no bucket or nonce", hash, testSID, testSite, 0, now, Invalid},
		{"two parts", bucket + "." + hash, testSID, testSite, 0, now, Invalid},
		{"four parts", good + ".1", testSID, testSite, 0, now, Invalid},
		{"empty parts", "..", testSID, testSite, 0, now, Invalid},
		{"empty nonce", bucket + ".." + hash, testSID, testSite, 0, now, Invalid},
		{"negative bucket", "-" + good, testSID, testSite, 0, now, Invalid},
		{"plus sign", "+" + good, testSID, testSite, 0, now, Invalid},
		{"leading zero bucket", "0" + good, testSID, testSite, 0, now, Invalid},
		{"leading zero nonce", bucket + ".0" + nonce + "." + hash, testSID, testSite, 0, now, Invalid},
		{"nonce above uint32", bucket + ".4294967296." + hash, testSID, testSite, 0, now, Invalid},
		{"huge bucket", "999999999999." + nonce + "." + hash, testSID, testSite, 0, now, Invalid},
		{"bucket too long", "9999999999999." + nonce + "." + hash, testSID, testSite, 0, now, Invalid},
		{"made-up old bucket", "0." + nonce + "." + hash, testSID, testSite, 0, now, Invalid},
		{"made-up bucket an hour back", strconv.FormatInt(b-60, 10) + "." + nonce + "." + hash, testSID, testSite, 0, now, Invalid},
		{"spaces", " " + good, testSID, testSite, 0, now, Invalid},
		{"unicode digits", "２" + good, testSID, testSite, 0, now, Invalid},
		{"very long", strings.Repeat("1", 100_000), testSID, testSite, 0, now, Invalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := v.verifyNow(c.tok, c.sid, c.site, c.bits, c.at); got != c.want {
				t.Fatalf("Verify(%q) = %v, want %v", c.tok, got, c.want)
			}
		})
	}
}

func TestCheck_SameTokenTwiceIsReplayed(t *testing.T) {
	v := newTestVerifier(t, "secret-one", Config{})
	tok := mint(t, v, testSID, testSite, 0, t0)
	if got := v.Check(tok, testSID, testSite, "", 0, t0); got != Valid {
		t.Fatalf("first Check = %v", got)
	}
	if got := v.Check(tok, testSID, testSite, "", 0, t0.Add(9*time.Minute)); got != Replayed {
		t.Fatalf("second Check = %v, want replayed", got)
	}
	if got := v.verifyNow(tok, testSID, testSite, 0, t0); got != Valid {
		t.Fatalf("Verify (stateless) after Check = %v", got)
	}
	if !sessionVerified(v, testSite, testSID, t0) {
		t.Fatal("a valid pageview did not verify the session")
	}
}

func TestCheck_InvalidTokensAreNotRemembered(t *testing.T) {
	v := newTestVerifier(t, "secret-one", Config{})
	tok := mint(t, v, testSID, testSite, 0, t0)
	if got := v.Check(tok, testSID, "other", "", 0, t0); got != Invalid {
		t.Fatalf("Check on the wrong site = %v", got)
	}
	if got := v.Check(tok, testSID, testSite, "", 0, t0); got != Valid {
		t.Fatalf("Check after an invalid attempt = %v", got)
	}
	if sessionVerified(v, "other", testSID, t0) {
		t.Fatal("an invalid token verified a session")
	}
}

func TestCheck_FullReplayCacheEvictsTheOldestToken(t *testing.T) {
	v := newTestVerifier(t, "secret-one", Config{ReplayCap: 2})
	var toks []string
	for i := range 3 {
		at := t0.Add(time.Duration(i) * time.Minute)
		toks = append(toks, mint(t, v, testSID+strconv.Itoa(i), testSite, 0, at))
	}
	for i := range 3 {
		at := t0.Add(time.Duration(i) * time.Minute)
		if got := v.Check(toks[i], testSID+strconv.Itoa(i), testSite, "", 0, at); got != Valid {
			t.Fatalf("token %d on a full cache: %v, want valid", i, got)
		}
	}
	now := t0.Add(2 * time.Minute)
	if got := v.Check(toks[2], testSID+"2", testSite, "", 0, now); got != Replayed {
		t.Fatalf("newest token forgotten: %v", got)
	}
	if got := v.Check(toks[1], testSID+"1", testSite, "", 0, now); got != Replayed {
		t.Fatalf("second token forgotten: %v", got)
	}
	if s := v.Stats(); s.ReplayEntries != 2 || s.ReplayEvicted != 1 {
		t.Fatalf("stats %+v, want 2 entries and the oldest evicted", s)
	}
}

// The first visitor to present a valid token of a session proves it, by
// an event as by a pageview; the same token from another visitor proves
// nothing, and a pageview of the owner keeps it proven.
func TestSession_ProvedByItsFirstValidToken(t *testing.T) {
	v := newTestVerifier(t, "secret-one", Config{})
	tok := mint(t, v, testSID, testSite, 0, t0)
	if sessionVerified(v, testSite, testSID, t0) {
		t.Fatal("verified before any token")
	}
	if got := v.CheckEvent(tok, testSID, testSite, "alice", 0, t0); got != Valid {
		t.Fatalf("event = %v", got)
	}
	if got := v.CheckEvent(tok, testSID, testSite, "mallory", 0, t0); got != Valid {
		t.Fatalf("replayed event = %v", got)
	}
	if !v.SessionProvedBy(testSite, testSID, "alice", t0) || v.SessionProvedBy(testSite, testSID, "mallory", t0) {
		t.Error("the session is not alice's alone")
	}
	if got := v.Check(tok, testSID, testSite, "mallory", 0, t0.Add(time.Minute)); got != Valid {
		t.Fatalf("pageview = %v", got)
	}
	if !v.SessionProvedBy(testSite, testSID, "alice", t0.Add(time.Minute)) || v.SessionProvedBy(testSite, testSID, "mallory", t0.Add(time.Minute)) {
		t.Error("a later pageview took the session over")
	}
}

func TestCheckEvent_ReusesPageviewTokenForTheSessionLifetime(t *testing.T) {
	v := newTestVerifier(t, "secret-one", Config{})
	tok := mint(t, v, testSID, testSite, 0, t0)
	if got := v.CheckEvent(tok, testSID, testSite, "", 0, t0); got != Valid {
		t.Fatalf("event before the pageview = %v", got)
	}
	if got := v.Check(tok, testSID, testSite, "", 0, t0); got != Valid {
		t.Fatalf("pageview after an event with its token = %v", got)
	}
	other := mint(t, v, "00000000-0000-4000-8000-000000000000", testSite, 0, t0)
	for _, c := range []struct {
		name      string
		tok, site string
		after     time.Duration
		want      Outcome
	}{
		{"same token again", tok, testSite, time.Minute, Valid},
		{"past the window, session verified", tok, testSite, 25 * time.Minute, Valid},
		{"past the session lifetime", tok, testSite, 36 * time.Minute, Expired},
		{"another session's token, past the window", other, testSite, 25 * time.Minute, Invalid},
		{"wrong site", tok, "other", time.Minute, Invalid},
		{"missing", "", testSite, time.Minute, Missing},
	} {
		if got := v.CheckEvent(c.tok, testSID, c.site, "", 0, t0.Add(c.after)); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestVerify_TokenFromPreviousEpochAfterRotation(t *testing.T) {
	before := t0.Add(-30 * time.Second) // last bucket of epoch 80355
	after := t0.Add(5 * time.Minute)
	v := newTestVerifier(t, "secret-one", Config{})
	tok := mint(t, v, testSID, testSite, 0, before)
	cur, err := v.Puzzle(after) // rotates to epoch 80356
	if err != nil {
		t.Fatal(err)
	}
	prev, _ := v.Puzzle(before)
	if cur.Module.Epoch != 80356 || prev.Module.Epoch != 80355 || cur.Module.Params == prev.Module.Params {
		t.Fatalf("epochs %d/%d, params equal: %v", cur.Module.Epoch, prev.Module.Epoch, cur.Module.Params == prev.Module.Params)
	}
	if got := v.Check(tok, testSID, testSite, "", 0, after); got != Valid {
		t.Fatalf("previous-epoch token after rotation: %v", got)
	}
	// A node that never served the old epoch generates it on demand.
	fresh := newTestVerifier(t, "secret-one", Config{})
	if got := fresh.verifyNow(tok, testSID, testSite, 0, after); got != Valid {
		t.Fatalf("fresh node: %v", got)
	}
}

func TestVerifiers_SameSecretAgreeDifferentSecretsDont(t *testing.T) {
	now := t0.Add(time.Hour)
	a := newTestVerifier(t, "shared", Config{})
	b := newTestVerifier(t, "shared", Config{})
	c := newTestVerifier(t, "other", Config{})
	pa, _ := a.Puzzle(now)
	pb, _ := b.Puzzle(now)
	pc, _ := c.Puzzle(now)
	if pa.Module.Base64 != pb.Module.Base64 || pa.Challenge != pb.Challenge {
		t.Fatal("same secret, different puzzles")
	}
	if pa.Module.Base64 == pc.Module.Base64 || pa.Challenge == pc.Challenge {
		t.Fatal("different secrets, same puzzle")
	}
	ta, tb := mint(t, a, testSID, testSite, 0, now), mint(t, b, testSID, testSite, 0, now)
	for _, c := range []struct {
		name string
		v    *Verifier
		tok  string
		want Outcome
	}{
		{"b accepts a's token", b, ta, Valid},
		{"a accepts b's token", a, tb, Valid},
		{"other secret refuses", c, ta, Invalid},
	} {
		if got := c.v.verifyNow(c.tok, testSID, testSite, 0, now); got != c.want {
			t.Errorf("%s: %v", c.name, got)
		}
	}
}

func TestDifficulty_FlagsRaiseItUntilTheyExpire(t *testing.T) {
	v := newTestVerifier(t, "s", Config{Difficulty: 12, MaxDifficulty: 17, FlagCap: 2})
	steps := []struct {
		flag    string
		at      time.Duration
		visitor string
		want    int
	}{
		{"", 0, "a", 12},
		{"a", 0, "a", 14},
		{"", 0, "b", 12},
		{"a", time.Minute, "a", 16},
		{"a", 2 * time.Minute, "a", 17}, // capped
		{"", 36 * time.Minute, "a", 12}, // expired
		{"b", 40 * time.Minute, "b", 14},
		{"c", 40 * time.Minute, "c", 14},
		{"d", 40 * time.Minute, "e", 14}, // cache full: d unrecorded, everyone at least +2
		{"", 40 * time.Minute, "b", 14},
		{"", 80 * time.Minute, "e", 12}, // saturation over
	}
	for i, s := range steps {
		at := t0.Add(s.at)
		if s.flag != "" {
			v.Flag(s.flag, at)
		}
		if got := v.Difficulty(s.visitor, at); got != s.want {
			t.Fatalf("step %d: Difficulty(%q) = %d, want %d", i, s.visitor, got, s.want)
		}
	}
}

func TestFormatToken_RoundTrips(t *testing.T) {
	var h [16]byte
	copy(h[:], "0123456789abcdef")
	tok := FormatToken(28928160, 4294967295, h)
	want := "28928160.4294967295." + hex.EncodeToString(h[:])
	if tok != want {
		t.Fatalf("FormatToken = %s", tok)
	}
	p, ok := parseToken(tok)
	if !ok || p.bucket != 28928160 || p.nonce != "4294967295" || p.hash != h {
		t.Fatalf("parseToken = %+v %v", p, ok)
	}
}

func TestNewVerifier_RejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{Secret: []byte("s"), Window: 61},
		{Secret: []byte("s"), Window: -1},
		{Secret: []byte("s"), Difficulty: 20, MaxDifficulty: 16},
		{Secret: []byte("s"), MaxDifficulty: 40},
		{Secret: []byte("s"), ReplayCap: -1},
	} {
		if _, err := NewVerifier(cfg); err == nil {
			t.Errorf("NewVerifier(%+v) accepted", cfg)
		}
	}
}

func FuzzParseToken(f *testing.F) {
	f.Add("28928160.7511.00027b8ca3b2e2edc4afae6a5c6becf0")
	f.Add("0.0.00000000000000000000000000000000")
	f.Add("1.2.3")
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := parseToken(s)
		if !ok {
			return
		}
		n, _ := strconv.ParseUint(p.nonce, 10, 32)
		if FormatToken(p.bucket, uint32(n), p.hash) != s {
			t.Fatalf("accepted non-canonical token %q", s)
		}
	})
}

func FuzzVerify(f *testing.F) {
	v := newTestVerifier(f, "fuzz", Config{})
	f.Add(mint(f, v, testSID, testSite, 0, t0), testSID, testSite)
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, tok, sid, site string) {
		out := v.Check(tok, sid, site, "", 0, t0)
		if out == Valid && v.Check(tok, sid, site, "", 0, t0) != Replayed {
			t.Fatal("valid token not remembered")
		}
	})
}

// verifyNow is the stateless check under Check and CheckEvent at now,
// with the configured window.
func (v *Verifier) verifyNow(tok, sid, site string, bits int, now time.Time) Outcome {
	out, _ := v.verify(tok, sid, site, bits, Bucket(now), v.window)
	return out
}
