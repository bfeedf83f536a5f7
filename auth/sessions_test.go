package auth

import (
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/internal/testkit"
)

func newFakeClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestSessions_TokenIsUUIDv4(t *testing.T) {
	s := NewSessions(nil)
	a, b := s.Create("a"), s.Create("b")
	for _, tok := range []string{a, b} {
		if !uuidV4.MatchString(tok) {
			t.Errorf("token %q is not a UUIDv4", tok)
		}
	}
	if a == b {
		t.Error("two tokens are equal")
	}
	if s.Valid("") || s.Valid("not-a-token") {
		t.Error("unknown token is valid")
	}
}

func TestSessions_IdleExpiresAfter30Minutes(t *testing.T) {
	clock := newFakeClock()
	s := NewSessions(clock.Now)
	tok := s.Create("admin")

	clock.Advance(30 * time.Minute) // idle == 30m: still valid
	if !s.Valid(tok) {
		t.Fatal("session invalid at exactly 30m idle")
	}
	clock.Advance(30*time.Minute + time.Nanosecond) // idle just over 30m
	if s.Valid(tok) {
		t.Fatal("session valid after 30m idle")
	}
	if s.Len() != 0 {
		t.Errorf("expired session not deleted on lookup: Len = %d", s.Len())
	}
}

func TestSessions_LookupRefreshesIdleButNotAge(t *testing.T) {
	clock := newFakeClock()
	s := NewSessions(clock.Now)
	tok := s.Create("admin")

	// 48 lookups 30m apart: idle never exceeds 30m, age reaches exactly 24h.
	for i := 0; i < 48; i++ {
		clock.Advance(30 * time.Minute)
		if !s.Valid(tok) {
			t.Fatalf("session invalid after %v of activity", time.Duration(i+1)*30*time.Minute)
		}
	}
	clock.Advance(time.Nanosecond) // age just over 24h, idle tiny
	if s.Valid(tok) {
		t.Fatal("session valid after 24h age")
	}
}

func TestSessions_NewSessionEndsUsersOthers(t *testing.T) {
	s := NewSessions(newFakeClock().Now)
	first := s.Create("admin")
	other := s.Create("ops")
	second := s.Create("admin")

	if s.Valid(first) {
		t.Error("old session of the same user still valid")
	}
	if !s.Valid(second) || !s.Valid(other) {
		t.Error("new session or another user's session invalid")
	}
	if s.Len() != 2 {
		t.Errorf("Len = %d, want 2", s.Len())
	}
}

func TestSessions_CapEvictsOldest(t *testing.T) {
	clock := newFakeClock()
	s := NewSessions(clock.Now)
	tokens := make([]string, MaxSessions)
	for i := range tokens {
		tokens[i] = s.Create(fmt.Sprintf("user%d", i))
		clock.Advance(time.Millisecond)
	}
	if s.Len() != MaxSessions {
		t.Fatalf("Len = %d, want %d", s.Len(), MaxSessions)
	}
	// Touching the oldest does not save it: eviction is by creation.
	if !s.Valid(tokens[0]) {
		t.Fatal("oldest session invalid before eviction")
	}
	newest := s.Create("one-more")
	if s.Len() != MaxSessions {
		t.Errorf("Len = %d after overflow, want %d", s.Len(), MaxSessions)
	}
	if s.Valid(tokens[0]) {
		t.Error("oldest session survived eviction")
	}
	if !s.Valid(tokens[1]) || !s.Valid(newest) {
		t.Error("second-oldest or newest session evicted")
	}
}

func TestSessions_DeleteAndPrune(t *testing.T) {
	clock := newFakeClock()
	s := NewSessions(clock.Now)
	gone := s.Create("a")
	s.Create("b") // goes stale
	clock.Advance(20 * time.Minute)
	fresh := s.Create("c")

	s.Delete(gone)
	s.Delete("unknown") // no-op
	if s.Valid(gone) {
		t.Error("deleted session valid")
	}
	clock.Advance(15 * time.Minute) // stale idle 35m, fresh idle 15m
	s.Prune()
	if s.Len() != 1 || !s.Valid(fresh) {
		t.Errorf("after Prune: Len = %d, fresh valid = %v; want 1, true", s.Len(), s.Valid(fresh))
	}
}

func TestSessions_ZeroValueWorks(t *testing.T) {
	var s Sessions
	s.Prune()
	s.Delete("x")
	if s.Len() != 0 || s.Valid("x") {
		t.Fatal("zero value not empty")
	}
	if tok := s.Create("admin"); !s.Valid(tok) {
		t.Fatal("zero value session invalid")
	}
}

func TestSessions_ConcurrentUse(t *testing.T) {
	s := NewSessions(newFakeClock().Now)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Go(func() {
			for j := 0; j < 200; j++ {
				tok := s.Create("user")
				s.Valid(tok)
				s.Prune()
				s.Delete(tok)
				s.Len()
			}
		})
	}
	wg.Wait()
}

func TestSessionCookies(t *testing.T) {
	if got, want := LoginCookie("tok", true).String(), "echelon_session=tok; Path=/; Max-Age=86400; HttpOnly; Secure; SameSite=Strict"; got != want {
		t.Errorf("LoginCookie = %q, want %q", got, want)
	}
	if got, want := LogoutCookie(true).String(), "echelon_session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict"; got != want {
		t.Errorf("LogoutCookie = %q, want %q", got, want)
	}
	// Over plain HTTP (a demo on localhost) the browser would drop a Secure
	// cookie, so neither carries it.
	if got, want := LoginCookie("tok", false).String(), "echelon_session=tok; Path=/; Max-Age=86400; HttpOnly; SameSite=Strict"; got != want {
		t.Errorf("LoginCookie over HTTP = %q, want %q", got, want)
	}
	if got, want := LogoutCookie(false).String(), "echelon_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"; got != want {
		t.Errorf("LogoutCookie over HTTP = %q, want %q", got, want)
	}
}
