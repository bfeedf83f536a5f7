package handlers

import (
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/echelon-analytics/caddy-echelon/scoring"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// OutcomeExcluded counts hits of excluded visitors: answered as usual, not
// stored (docs/bot-defense.md, The gates).
const OutcomeExcluded = "excluded"

// Reasons a hit is dropped as a bot, the reason label of the drop metric.
const (
	DropKnownUA  = "known_ua"        // known-bot User-Agent (bot_ua_patterns)
	DropScore    = "score_threshold" // score at or above bot_discard_threshold
	DropExcluded = "excluded"        // excluded visitor
)

// Endpoint labels of the drop metric.
const (
	EndpointBeacon = "b.gif"
	EndpointEvents = "e"
)

// ExclusionSet answers whether a visitor is excluded; storage.Store is the
// real one (in memory, lock-free).
type ExclusionSet interface {
	IsExcluded(visitorID string) bool
}

// DropObserver counts silent drops by endpoint and reason: a drop nobody
// counts would hide a misconfiguration.
type DropObserver interface {
	Dropped(endpoint, reason string, n int)
}

// DropCounter counts, per site and day, the hits that were not stored,
// for the traffic-quality statistics; storage.Store is the real one
// (lock-free).
type DropCounter interface {
	CountDrop(site string, why storage.Reason, event bool, n int)
}

// dropped counts n hits of site dropped as bots: in the metric by endpoint
// and reason, and in the site's traffic quality by why.
func (t *Tracking) dropped(endpoint, reason, site string, why storage.Reason, n int) {
	if n <= 0 {
		return
	}
	if t.Drops != nil {
		t.Drops.Dropped(endpoint, reason, n)
	}
	t.filtered(site, why, endpoint == EndpointEvents, n)
}

// filtered counts n hits of site that were not stored in its traffic
// quality.
func (t *Tracking) filtered(site string, why storage.Reason, event bool, n int) {
	if t.Quality != nil {
		t.Quality.CountDrop(site, why, event, n)
	}
}

// scoreReason is why a hit scoring at the bot line was kept out: its
// proof of work if that did not pass, else the other signals.
func scoreReason(res *scoring.Result) storage.Reason {
	if r, ok := storage.ProofReason(string(res.PoWResult)); ok {
		return r
	}
	return storage.ReasonThreshold
}

func (t *Tracking) excluded(visitorID string) bool {
	return t.Excluded != nil && t.Excluded.IsExcluded(visitorID)
}

// isKnownBot matches the request's User-Agent against the known-bot list
// (cached per UA, uacache.go). b.gif and e take the whole cache entry
// once instead, for its parse and hash too.
func (t *Tracking) isKnownBot(ua string) bool { return t.uaInfo(ua).bot }

// clientKey is the client's IP key (scoring.IPKey with the day's visitor
// salt) and parsed address; ok is false when no salt is available.
func (t *Tracking) clientKey(peer Peer, now time.Time) (key [16]byte, ip netip.Addr, ok bool) {
	salt, err := t.Salts.DailySalt(now)
	if err != nil {
		return key, ip, false
	}
	return t.ipKeys.Key(peer.Addr, salt), peer.Addr, true
}

// sighting puts the IP of a known-bot User-Agent into the suspected tier,
// on any route, to catch bots that leak their UA once and spoof
// it on beacons.
func (t *Tracking) sighting(peer Peer) {
	t.ProcessHeld() // beacons answered before it are scored without it
	t.suspect(peer)
}

// suspect is sighting without processing the held beacons first, for
// their own processing.
func (t *Tracking) suspect(peer Peer) {
	if t.BotIPs == nil {
		return
	}
	now := t.Now()
	if key, _, ok := t.clientKey(peer, now); ok {
		t.BotIPs.Suspect(key, now)
	}
}

// scoreInput fills the request-derived parts of a score input: country (a
// trusted header, else the country database), Cloudflare bot headers (only
// from a trusted proxy with behind_cloudflare), header presence and
// coherence.
func (t *Tracking) scoreInput(r *http.Request, ua string, brands scoring.Brands, peer Peer, hit scoring.Hit, site string) scoring.Input {
	h := r.Header
	cf := t.Config.BehindCloudflare && peer.TrustedProxy
	in := scoring.Input{
		Hit:     hit,
		Site:    site,
		Country: scoring.Country(h, cf, t.Config.TrustGeoHeaders),
	}
	if in.Country == "" && t.Geo != nil {
		in.Country = t.Geo.Country(peer.Addr)
	}
	in.ReadHeaders(h, ua, brands)
	if cf {
		if s, err := strconv.Atoi(h.Get("Cf-Bot-Score")); err == nil && s >= 1 && s <= 99 {
			in.CFBotScore = s
			in.CFVerified = h.Get("Cf-Verified-Bot") == "true"
		}
	}
	return in
}

// stateInputs fills the stateful inputs of a score: the burst count
// (counted on a beacon, only read on an event batch) and the threat feeds.
// It returns the client's IP key (ok false if there is none: no salt)
// and its bot-IP tier, which the caller adds after the proof of work
// (Rules.BotIP).
func (t *Tracking) stateInputs(in *scoring.Input, uai *uaEntry, peer Peer, now time.Time, countHit bool) (key [16]byte, tier scoring.IPTier, ok bool) {
	key, ip, ok := t.clientKey(peer, now)
	if !ok {
		return key, scoring.IPTierNone, false
	}
	if t.Burst != nil {
		bk := scoring.BurstKeyOf(key, uai.hash) // the UA's hash is cached with its parse
		if countHit {
			in.Burst = t.Burst.Hit(bk, now)
		} else {
			in.Burst = t.Burst.Count(bk, now)
		}
	}
	t.Feeds.Fill(in, uai.ua, ip)
	return key, t.BotIPs.Tier(key, now), true
}

// printOf is the correlator's fingerprint of a beacon; lang is the
// scoring.LanguageHash of its Accept-Language.
func printOf(ua scoring.UserAgent, b *Beacon, country string, lang uint64) scoring.Fingerprint {
	fp := scoring.Fingerprint{OS: ua.OS, Browser: ua.Browser, Version: ua.BrowserVersion, Country: country, Language: lang}
	if b.ScreenValid {
		fp.Width, fp.Height = b.ScreenWidth, b.ScreenHeight
	}
	return fp
}
