package pow

import (
	"encoding/binary"
	"testing"
	"time"
)

// A flood of a million distinct valid tokens, 25,000 a minute, against a
// cap of 100,000: the cache never holds more than the cap, admits every
// newcomer by evicting the oldest minute's tokens (counted), and keeps the
// newest minutes' tokens.
func TestReplayCache_HardCapUnderAMillionTokens(t *testing.T) {
	const (
		limit     = 100_000
		window    = 10
		perMinute = 25_000
	)
	c := newReplayCache(window, limit)
	start := Bucket(t0)
	var recent [16]byte // admitted in the minute before the check
	for i := range 1_000_000 {
		now := start + int64(i/perMinute)
		var h [16]byte
		binary.LittleEndian.PutUint64(h[:], uint64(i)+1)
		if got := c.admit(now, now, h); got != admitted {
			t.Fatalf("token %d: %v, want admitted", i, got)
		}
		if n := c.r.len(); n > limit {
			t.Fatalf("after %d tokens the cache holds %d > %d", i, n, limit)
		}
		if i == 5*perMinute-1 {
			recent = h
		}
		if i == 6*perMinute && c.admit(start+4, now, recent) != seenBefore {
			t.Fatal("full cache forgot a token of the previous minute")
		}
	}
	// Four minutes fill the cache; from the fifth on, every token evicts
	// one, except where a minute's slot expired on its own.
	if c.evicted < 1_000_000-limit-(1_000_000/perMinute-window)*perMinute || c.evicted > 1_000_000-limit {
		t.Fatalf("evicted %d", c.evicted)
	}
}

func TestSessionCache_VerifiedForThirtyMinutesAfterLastMark(t *testing.T) {
	c := newSessionCache(2)
	verified := func(site, sid string, at time.Time) bool {
		_, ok := c.owner(site, sid, at)
		return ok
	}
	c.mark("site", "a", "v1", t0, true)
	for _, s := range []struct {
		at   time.Duration
		sid  string
		want bool
	}{
		{0, "a", true},
		{0, "b", false},
		{29 * time.Minute, "a", true},
		{34 * time.Minute, "a", true},
		{35 * time.Minute, "a", false},
	} {
		if got := verified("site", s.sid, t0.Add(s.at)); got != s.want {
			t.Errorf("verified(%s) at +%v = %v", s.sid, s.at, got)
		}
	}
	c.mark("site", "a", "v2", t0.Add(20*time.Minute), true) // renewed, by another visitor
	if !verified("site", "a", t0.Add(50*time.Minute)) {
		t.Error("renewal did not extend the session")
	}
	if owner, _ := c.owner("site", "a", t0.Add(50*time.Minute)); owner != "v1" {
		t.Errorf("owner after a renewal %q, want the first prover v1", owner)
	}
	if verified("other", "a", t0) {
		t.Error("session leaked to another site")
	}
	// An event batch verifies a session that is not verified yet, and
	// neither renews one nor takes it over.
	c = newSessionCache(2)
	c.mark("site", "e", "v3", t0, false)
	c.mark("site", "e", "v4", t0.Add(20*time.Minute), false)
	if owner, ok := c.owner("site", "e", t0.Add(34*time.Minute)); !ok || owner != "v3" {
		t.Errorf("event-verified session at +34m: owner %q, verified %v; want v3, true", owner, ok)
	}
	if verified("site", "e", t0.Add(35*time.Minute)) {
		t.Error("a later event batch renewed the session")
	}
}

func TestSessionCache_FullRefusesNewSessions(t *testing.T) {
	c := newSessionCache(2)
	verified := func(site, sid string, at time.Time) bool {
		_, ok := c.owner(site, sid, at)
		return ok
	}
	for _, sid := range []string{"a", "b", "c"} {
		c.mark("site", sid, "v", t0, true)
	}
	if verified("site", "c", t0) || !verified("site", "a", t0) || c.refused != 1 || c.r.len() != 2 {
		t.Fatalf("refused %d, len %d", c.refused, c.r.len())
	}
	c.mark("site", "c", "v", t0.Add(40*time.Minute), true) // a and b expired by now
	if !verified("site", "c", t0.Add(40*time.Minute)) {
		t.Fatal("no room after expiry")
	}
}
