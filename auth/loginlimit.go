package auth

import (
	"container/list"
	"net/netip"
	"sync"
	"time"
)

// Login rate limit (docs/dashboard.md, Access).
const (
	// LoginMaxFailures failed logins from one client within LoginWindow
	// block further attempts until the window ends.
	LoginMaxFailures = 5
	// LoginWindow is fixed: it starts at a client's first failure and a
	// success does not reset it.
	LoginWindow = 15 * time.Minute
	// LoginMaxTracked bounds the clients tracked at once.
	LoginMaxTracked = 50_000
	// LoginSweepEvery is how often expired windows are dropped.
	LoginSweepEvery = 5 * time.Minute
)

type loginWindow struct {
	key      netip.Prefix
	first    time.Time
	failures int
}

// LoginLimiter counts failed logins per client address. Every window lasts
// LoginWindow from its first failure, so windows expire in the order they
// were opened: they sit in a list by age and expiry pops from the front,
// O(1) per window. A sweep runs on the first call after LoginSweepEvery,
// so the limiter needs no goroutine of its own.
//
// IPv6 clients are counted per /64, the block one subscriber usually
// holds, so rotating through its addresses gains nothing.
//
// At LoginMaxTracked windows the limiter fails closed: a client without a
// window is refused until old windows expire, rather than forgetting
// someone's failures.
type LoginLimiter struct {
	now func() time.Time

	mu        sync.Mutex
	byKey     map[netip.Prefix]*list.Element // Value is *loginWindow
	order     *list.List                     // oldest window first
	lastSweep time.Time
}

// NewLoginLimiter returns an empty limiter reading time from now (time.Now
// if nil).
func NewLoginLimiter(now func() time.Time) *LoginLimiter {
	if now == nil {
		now = time.Now
	}
	return &LoginLimiter{now: now, byKey: make(map[netip.Prefix]*list.Element), order: list.New(), lastSweep: now()}
}

// loginKey is the address a client is counted by: IPv4 (and IPv4-mapped
// IPv6) addresses whole, IPv6 by its /64. An invalid address is counted
// as one shared client.
func loginKey(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p
	}
	return netip.PrefixFrom(ip, ip.BitLen())
}

// Blocked reports whether a login attempt from ip must be refused without
// checking its credentials.
func (l *LoginLimiter) Blocked(ip netip.Addr) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expireLocked(now)
	e, ok := l.byKey[loginKey(ip)]
	if !ok {
		return l.order.Len() >= LoginMaxTracked
	}
	w := e.Value.(*loginWindow)
	return now.Sub(w.first) < LoginWindow && w.failures >= LoginMaxFailures
}

// Fail counts a failed login from ip, opening its window if it has none.
// When the limiter is full the failure cannot be recorded; Blocked then
// refuses the client anyway.
func (l *LoginLimiter) Fail(ip netip.Addr) {
	now := l.now()
	key := loginKey(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expireLocked(now)
	if e, ok := l.byKey[key]; ok {
		w := e.Value.(*loginWindow)
		if now.Sub(w.first) < LoginWindow {
			w.failures++
			return
		}
		// Ended but not swept yet (windows before it are swept first).
		l.order.Remove(e)
		delete(l.byKey, key)
	}
	if l.order.Len() >= LoginMaxTracked {
		return
	}
	l.byKey[key] = l.order.PushBack(&loginWindow{key: key, first: now, failures: 1})
}

// Len is the number of windows held, expired ones not yet swept included.
func (l *LoginLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.order.Len()
}

// expireLocked drops the window at the front while it has ended; every
// LoginSweepEvery it goes on through all the ended ones. Checking the
// front on every call keeps a full limiter from refusing clients for
// longer than the oldest window lasts.
func (l *LoginLimiter) expireLocked(now time.Time) {
	limit := 1
	if now.Sub(l.lastSweep) >= LoginSweepEvery {
		l.lastSweep = now
		limit = -1
	}
	for e := l.order.Front(); e != nil && limit != 0; e = l.order.Front() {
		w := e.Value.(*loginWindow)
		if now.Sub(w.first) < LoginWindow {
			return
		}
		l.order.Remove(e)
		delete(l.byKey, w.key)
		limit--
	}
}
