package auth

import (
	"net/netip"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/internal/testkit"
)

func newTestLimiter() (*LoginLimiter, *testkit.Clock) {
	c := newFakeClock()
	return NewLoginLimiter(c.Now), c
}

func TestLoginLimiter_FifthFailureBlocksUntilWindowFromFirstEnds(t *testing.T) {
	l, clock := newTestLimiter()
	ip := netip.MustParseAddr("192.0.2.7")
	for i := range LoginMaxFailures {
		if l.Blocked(ip) {
			t.Fatalf("blocked before failure %d", i+1)
		}
		l.Fail(ip)
		clock.Advance(time.Minute)
	}
	if !l.Blocked(ip) {
		t.Fatal("not blocked after 5 failures")
	}
	if l.Blocked(netip.MustParseAddr("192.0.2.8")) {
		t.Fatal("another client is blocked too")
	}
	// The window is fixed from the first failure (5 minutes ago now).
	clock.Advance(LoginWindow - 5*time.Minute - time.Second)
	if !l.Blocked(ip) {
		t.Fatal("unblocked before 15 minutes from the first failure")
	}
	clock.Advance(time.Second)
	if l.Blocked(ip) {
		t.Fatal("still blocked 15 minutes after the first failure")
	}
	l.Fail(ip) // a new window
	if l.Blocked(ip) {
		t.Fatal("one failure in a new window blocks")
	}
}

func TestLoginLimiter_IPv6CountedPer64(t *testing.T) {
	l, _ := newTestLimiter()
	for i := range LoginMaxFailures {
		l.Fail(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)}))
	}
	if !l.Blocked(netip.MustParseAddr("2001:db8::ffff:1")) {
		t.Fatal("another address of the same /64 is not blocked")
	}
	if l.Blocked(netip.MustParseAddr("2001:db8:0:1::1")) {
		t.Fatal("the next /64 is blocked")
	}
	// IPv4-mapped IPv6 is the IPv4 client.
	v4 := netip.MustParseAddr("198.51.100.1")
	for range LoginMaxFailures {
		l.Fail(netip.AddrFrom16(v4.As16()))
	}
	if !l.Blocked(v4) {
		t.Fatal("IPv4-mapped failures do not count for the IPv4 address")
	}
}

func TestLoginLimiter_FullFailsClosedThenRecovers(t *testing.T) {
	l, clock := newTestLimiter()
	for i := range LoginMaxTracked {
		l.Fail(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	if l.Len() != LoginMaxTracked {
		t.Fatalf("Len = %d, want %d", l.Len(), LoginMaxTracked)
	}
	stranger := netip.MustParseAddr("203.0.113.9")
	l.Fail(stranger)
	if l.Len() != LoginMaxTracked {
		t.Fatalf("Len = %d after a failure while full, want the cap %d", l.Len(), LoginMaxTracked)
	}
	if !l.Blocked(stranger) {
		t.Fatal("a full limiter lets an untracked client try")
	}
	if l.Blocked(netip.MustParseAddr("10.0.0.1")) {
		t.Fatal("a tracked client with one failure is blocked")
	}
	clock.Advance(LoginWindow)
	if l.Blocked(stranger) {
		t.Fatal("still refusing after every window ended")
	}
	if l.Len() != 0 {
		t.Fatalf("Len = %d after the sweep, want 0", l.Len())
	}
}

func TestLoginLimiter_SweepDropsEndedWindows(t *testing.T) {
	l, clock := newTestLimiter()
	for i := range 100 {
		l.Fail(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}))
	}
	clock.Advance(LoginWindow - LoginSweepEvery)
	l.Fail(netip.MustParseAddr("10.1.0.1")) // sweeps, nothing has ended
	clock.Advance(LoginSweepEvery - time.Second)
	l.Blocked(netip.MustParseAddr("10.2.0.1"))
	if got := l.Len(); got != 101 {
		t.Fatalf("Len = %d before any window ended, want 101", got)
	}
	clock.Advance(time.Second) // the first 100 end, a sweep is due
	l.Blocked(netip.MustParseAddr("10.2.0.1"))
	if got := l.Len(); got != 1 {
		t.Fatalf("Len = %d after the sweep, want the 1 live window", got)
	}
}
