package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/netip"
	"time"

	"github.com/echelon-analytics/caddy-echelon/anonymize"
	"github.com/echelon-analytics/caddy-echelon/pow"
	"github.com/echelon-analytics/caddy-echelon/scoring"
	"github.com/echelon-analytics/caddy-echelon/storage"
	"github.com/echelon-analytics/caddy-echelon/tracker"
)

// Outcomes of a tracking request, as counted by the Observer.
const (
	OutcomeStored      = "stored"
	OutcomeBotDropped  = "bot_dropped"
	OutcomeInvalid     = "invalid"
	OutcomeRateLimited = "rate_limited"
	OutcomeIgnored     = "ignored"
	OutcomeOverflow    = "overflow"
)

// Sink receives records to store; storage.Writer is the real one.
type Sink interface {
	AddView(storage.View) bool
	AddEvent(storage.Event) bool
}

// SaltSource hands out the day's visitor salt; storage.Store is the real one.
type SaltSource interface {
	DailySalt(now time.Time) ([]byte, error)
}

// CampaignFilter says whether a utm_campaign is an active campaign of a
// site (views keep UTM fields only then); storage.Store is the
// real one, with an in-memory set refreshed on every campaign write.
type CampaignFilter interface {
	CampaignActive(site, utmCampaign string) bool
}

// CountryLookup maps a client address to an ISO 3166-1 alpha-2 code, ""
// when unknown; geoip.DB is the real one. It must not keep the address.
type CountryLookup interface {
	Country(netip.Addr) string
}

// Observer counts outcomes; the module backs it with Prometheus counters.
type Observer interface {
	Beacon(outcome string)
	Events(outcome string, n int)
}

// Tracking serves ea.js, b.gif and e.
type Tracking struct {
	Config  *Config
	Sink    Sink
	Salts   SaltSource
	Rules   *scoring.Rules
	Bots    *scoring.UAMatcher   // known-bot UAs; nil disables
	Limiter *scoring.RateLimiter // per client IP; nil disables
	// PoW verifies proof-of-work tokens and issues puzzles; nil turns the
	// check off (no pow signal is scored).
	PoW     *pow.Verifier
	Scripts *tracker.Assembler
	Observe Observer
	Now     Clock
	// Settings gives each site's script its experiments and consent CSS;
	// nil serves scripts without them.
	Settings SiteSettings
	// UTM decides which views keep their UTM fields; nil keeps them all.
	UTM CampaignFilter
	// Anon maps the stored fields of the sites in Config.AnonymizeSites;
	// nil stores them unchanged.
	Anon *anonymize.Anonymizer
	// Geo gives a hit its country from the client address when no trusted
	// header names one; nil leaves such hits without a country.
	Geo CountryLookup

	// HoldBeacons is how many answered beacons are processed together
	// (beaconbatch.go, which lists when a batch is processed); 0
	// processes each before its answer.
	HoldBeacons int

	hasher visitorHasher
	uas    uaCache
	batch  beaconBatch

	// Bot defense state (docs/bot-defense.md); each may be nil, which
	// turns its part off.
	Burst    *scoring.Burst  // burst counts per IP key and UA
	BotIPs   *scoring.BotIPs // suspected and confirmed IPs
	Feeds    *scoring.Feeds  // threat feeds
	Prints   *scoring.Prints // correlator prints of scored beacons
	Excluded ExclusionSet    // excluded visitors
	Drops    DropObserver    // bot drops by endpoint and reason
	Quality  DropCounter     // hits not stored, per site and reason

	ipKeys scoring.IPKeyer // IP keys with the day's salt schedule
}

// visitor is who sent a hit: the id stored with it and whether it came from
// a returning cookie.
type visitor struct {
	id        string
	returning bool
	setCookie string // _ev value to set on the response, "" for none
}

const cookieName = "_ev"

// identify computes the visitor id (docs/privacy.md). In cookie mode
// the _ev cookie is the id; otherwise it is the first 8 bytes of
// HMAC-SHA256(daily salt, ip|ua|site|date) in hex. The IP never leaves this
// function.
func (t *Tracking) identify(r *http.Request, ip, site string, now time.Time, cookieMode bool) (visitor, error) {
	return t.identifyBy(visitorCookie(r), r.UserAgent(), ip, site, now, cookieMode)
}

// identifyBy is identify of a request's _ev cookie (visitorCookie) and
// User-Agent.
func (t *Tracking) identifyBy(cookie, ua, ip, site string, now time.Time, cookieMode bool) (visitor, error) {
	if cookie != "" {
		v := visitor{id: cookie, returning: true}
		if cookieMode {
			v.setCookie = cookie
		}
		return v, nil
	}
	if cookieMode {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		return visitor{id: id, setCookie: id}, nil
	}
	salt, err := t.Salts.DailySalt(now)
	if err != nil {
		return visitor{}, err
	}
	return visitor{id: t.hasher.id(salt, ip, ua, site, now)}, nil
}

// visitorCookie is the request's _ev cookie if it has the right shape,
// else "".
func visitorCookie(r *http.Request) string {
	if len(r.Header["Cookie"]) == 0 { // canonical key: no Get
		return ""
	}
	if c, err := r.Cookie(cookieName); err == nil && validCookieID(c.Value) {
		return c.Value
	}
	return ""
}

// validCookieID checks the _ev shape: 16 lower-case hex characters.
func validCookieID(s string) bool {
	if len(s) != 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func setVisitorCookie(w http.ResponseWriter, id string) {
	w.Header().Add("Set-Cookie", cookieName+"="+id+"; Path=/; HttpOnly; SameSite=None; Secure; Partitioned; Max-Age=2592000")
}

// limited applies the per-IP rate limit shared by the three tracking paths.
// The key is the address in binary, an IPv4-mapped one as IPv4, and an
// IPv6 client counts as its /64, which one subscriber can rotate through
// at will. An unparsable address is its own key.
func (t *Tracking) limited(peer Peer) (bool, time.Duration) {
	if t.Limiter == nil {
		return false, 0
	}
	key := peer.IP
	var buf [9]byte
	if a := peer.Addr; a.IsValid() {
		a = a.Unmap()
		if a.Is4() {
			buf[0] = 4
			b := a.As4()
			copy(buf[1:], b[:])
			key = string(buf[:5]) // does not escape: Allow only hashes it
		} else {
			buf[0] = 6
			b := a.As16()
			copy(buf[1:], b[:8])
			key = string(buf[:])
		}
	}
	ok, retry := t.Limiter.Allow(key)
	return !ok, retry
}

// checkPoW scores a beacon's or event batch's token. Pageview tokens are
// single-use; events accept the session's last token while the session is
// verified. A token needs a session id to bind to.
func (t *Tracking) checkPoW(res *scoring.Result, tok, sid, site, visitorID string, now time.Time, pageview bool) {
	if t.PoW == nil {
		return
	}
	var o pow.Outcome
	switch {
	case tok == "":
		o = pow.Missing
	case sid == "":
		o = pow.Invalid
	case pageview:
		o = t.PoW.Check(tok, sid, site, visitorID, t.PoW.Difficulty(visitorID, now), now)
	default:
		o = t.PoW.CheckEvent(tok, sid, site, visitorID, t.PoW.Difficulty(visitorID, now), now)
	}
	t.Rules.PoW(res, scoring.PoWResult(o.String())) // pow's names are the score's
}

// flag raises the proof-of-work difficulty for the visitor behind a request
// that tripped the rate limiter (adaptive difficulty, docs/bot-defense.md):
// its next ea.js asks for more work.
func (t *Tracking) flag(r *http.Request, peer Peer, site string) {
	if t.PoW == nil {
		return
	}
	t.ProcessHeld() // proofs answered before it are checked without it
	now := t.Now()
	if vis, err := t.identify(r, peer.IP, site, now, false); err == nil {
		t.PoW.Flag(vis.id, now)
	}
}
