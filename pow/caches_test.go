package pow

import (
	"encoding/binary"
	"testing"
	"time"
)

// A flood of a million distinct valid tokens, 25,000 a minute, against a
// cap of 100,000: the cache never holds more than the cap, refuses the
// overflow, never forgets an admitted token early, and admits again as
// minutes expire.
func TestReplayCache_HardCapUnderAMillionTokens(t *testing.T) {
	const (
		limit     = 100_000
		window    = 10
		perMinute = 25_000
	)
	c := newReplayCache(window, limit)
	start := Bucket(t0)
	var first [16]byte // admitted in the first minute
	admittedByMinute := map[int64]int{}
	for i := range 1_000_000 {
		now := start + int64(i/perMinute)
		var h [16]byte
		binary.LittleEndian.PutUint64(h[:], uint64(i)+1)
		switch c.admit(now, now, h) {
		case admitted:
			admittedByMinute[now-start]++
			if i == 0 {
				first = h
			}
		case seenBefore:
			t.Fatalf("token %d seen before", i)
		}
		if n := c.r.len(); n > limit {
			t.Fatalf("after %d tokens the cache holds %d > %d", i, n, limit)
		}
		if i == 5*perMinute && c.admit(start, now, first) != seenBefore {
			t.Fatal("full cache forgot an admitted token inside its window")
		}
	}
	if c.refused == 0 || admittedByMinute[0] != perMinute || admittedByMinute[4] != 0 {
		t.Fatalf("refused %d, admitted per minute %v", c.refused, admittedByMinute)
	}
	// Minute 11 drops minute 0's 25,000 entries, minute 12 minute 1's, …
	// until minutes 11..14 fill the cache again.
	if admittedByMinute[11] != perMinute || admittedByMinute[15] != 0 || admittedByMinute[22] != perMinute {
		t.Fatalf("no admissions after expiry: %v", admittedByMinute)
	}
}

func TestSessionCache_VerifiedForThirtyMinutesAfterLastMark(t *testing.T) {
	c := newSessionCache(2)
	c.mark("site", "a", t0)
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
		if got := c.verified("site", s.sid, t0.Add(s.at)); got != s.want {
			t.Errorf("verified(%s) at +%v = %v", s.sid, s.at, got)
		}
	}
	c.mark("site", "a", t0.Add(20*time.Minute)) // renewed
	if !c.verified("site", "a", t0.Add(50*time.Minute)) {
		t.Error("renewal did not extend the session")
	}
	if c.verified("other", "a", t0) {
		t.Error("session leaked to another site")
	}
}

func TestSessionCache_FullRefusesNewSessions(t *testing.T) {
	c := newSessionCache(2)
	for _, sid := range []string{"a", "b", "c"} {
		c.mark("site", sid, t0)
	}
	if c.verified("site", "c", t0) || !c.verified("site", "a", t0) || c.refused != 1 || c.r.len() != 2 {
		t.Fatalf("refused %d, len %d", c.refused, c.r.len())
	}
	c.mark("site", "c", t0.Add(40*time.Minute)) // a and b expired by now
	if !c.verified("site", "c", t0.Add(40*time.Minute)) {
		t.Fatal("no room after expiry")
	}
}
