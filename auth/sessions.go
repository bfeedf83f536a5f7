package auth

import (
	"container/list"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sync"
	"time"
)

// Session limits (docs/dashboard.md, Access).
const (
	SessionCookie = "echelon_session"
	SessionMaxAge = 24 * time.Hour   // since login
	SessionIdle   = 30 * time.Minute // since the last valid lookup
	MaxSessions   = 1000             // the oldest session is evicted beyond this
)

type session struct {
	token    string
	user     string
	created  time.Time
	lastSeen time.Time
}

// Sessions is the in-memory admin session store. A user holds at most one
// session: logging in again ends the previous one. The zero value is ready to
// use with the wall clock; NewSessions injects a clock for tests.
type Sessions struct {
	now func() time.Time

	mu      sync.Mutex
	byToken map[string]*list.Element // Value is *session
	byUser  map[string]*list.Element
	order   *list.List // by creation, oldest first: the eviction order
}

// NewSessions returns an empty store reading time from now (time.Now if nil).
func NewSessions(now func() time.Time) *Sessions {
	return &Sessions{now: now}
}

func (s *Sessions) clock() time.Time {
	if s.now == nil {
		return time.Now()
	}
	return s.now()
}

// initLocked makes the zero value usable; s.mu must be held.
func (s *Sessions) initLocked() {
	if s.order == nil {
		s.byToken = make(map[string]*list.Element)
		s.byUser = make(map[string]*list.Element)
		s.order = list.New()
	}
}

// Create starts a session for user, ending the user's previous one, and
// returns its token (a random UUIDv4).
func (s *Sessions) Create(user string) string {
	now := s.clock()
	sess := &session{token: newUUID(), user: user, created: now, lastSeen: now}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()
	if old, ok := s.byUser[user]; ok {
		s.removeLocked(old)
	}
	for s.order.Len() >= MaxSessions {
		s.removeLocked(s.order.Front())
	}
	e := s.order.PushBack(sess)
	s.byToken[sess.token] = e
	s.byUser[user] = e
	return sess.token
}

// Valid reports whether token names a live session and, if so, refreshes its
// idle timer. An expired session is deleted.
func (s *Sessions) Valid(token string) bool {
	now := s.clock()

	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byToken[token]
	if !ok {
		return false
	}
	sess := e.Value.(*session)
	if expired(sess, now) {
		s.removeLocked(e)
		return false
	}
	sess.lastSeen = now
	return true
}

// Delete ends the session named by token, if any.
func (s *Sessions) Delete(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.byToken[token]; ok {
		s.removeLocked(e)
	}
}

// Prune deletes every expired session. The store holds at most MaxSessions,
// so the full walk is cheap; call it about once per SessionIdle.
func (s *Sessions) Prune() {
	now := s.clock()

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.order == nil {
		return
	}
	for e := s.order.Front(); e != nil; {
		next := e.Next()
		if expired(e.Value.(*session), now) {
			s.removeLocked(e)
		}
		e = next
	}
}

// Len returns the number of stored sessions, expired ones not yet pruned
// included.
func (s *Sessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.order == nil {
		return 0
	}
	return s.order.Len()
}

func (s *Sessions) removeLocked(e *list.Element) {
	sess := s.order.Remove(e).(*session)
	delete(s.byToken, sess.token)
	if s.byUser[sess.user] == e {
		delete(s.byUser, sess.user)
	}
}

// expired: a session is valid while age <= SessionMaxAge and idle <=
// SessionIdle, both boundaries inclusive.
func expired(sess *session, now time.Time) bool {
	return now.Sub(sess.created) > SessionMaxAge || now.Sub(sess.lastSeen) > SessionIdle
}

// newUUID returns a random RFC 9562 version 4 UUID in canonical form.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}

// LoginCookie is the Set-Cookie for a new session. secure
// adds the Secure attribute: set it when the request came over TLS, so that
// a dashboard on plain http://localhost can still log in.
func LoginCookie(token string, secure bool) *http.Cookie {
	return &http.Cookie{
		Name:     SessionCookie,
		Value:    token,
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
		Secure:   secure,
		MaxAge:   int(SessionMaxAge / time.Second),
	}
}

// LogoutCookie is the Set-Cookie that clears the session cookie. It renders
// "Max-Age=0" (net/http writes that for a negative MaxAge).
func LogoutCookie(secure bool) *http.Cookie {
	return &http.Cookie{
		Name:     SessionCookie,
		Value:    "",
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
		Secure:   secure,
		MaxAge:   -1,
	}
}
