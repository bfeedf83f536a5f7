package handlers

import (
	"errors"
	"strconv"
	"strings"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// Limits of the beacon protocol (docs/tracker.md, The beacon).
const (
	maxPathLen     = 2048
	maxUTMLen      = 256
	minInteraction = 800
	maxInteraction = 3_600_000
	maxScreen      = 10000
	// maxSharedQuery is the longest query whose substrings a Beacon may
	// share: the site id and session id point into the query, so a
	// buffered record holds at most this much of it. Past it they are
	// copied (allocations a normal beacon never pays).
	maxSharedQuery = 4096
)

// Beacon is a parsed, validated b.gif query.
type Beacon struct {
	Path     string // decoded path+query, starts with "/", at most 2048 characters
	Site     string // valid site id or "default"
	Cookie   bool   // ck=1
	Referrer string // decoded referrer URL, "" if absent or malformed
	PWA      bool
	// UTMSource, UTMMedium, UTMCampaign, UTMContent and UTMTerm are cut to
	// 256 characters; whether they are kept depends on the site's campaigns.
	UTMSource, UTMMedium, UTMCampaign, UTMContent, UTMTerm string
	SessionID                                              string // UUID shape or ""
	SPA                                                    bool   // _v=spa
	InteractionMS                                          int64  // 0 for SPA navigations
	// ScreenSent reports that sw or sh was present; ScreenValid that both
	// are realistic (0 < v <= 10000). Non-numeric values are unrealistic.
	ScreenSent, ScreenValid   bool
	ScreenWidth, ScreenHeight int
	Token                     string // PoW token as sent, unverified
	// Solver is the pv parameter: which solver made the token, SolverWasm
	// or SolverJS; "" when absent or unknown.
	Solver string
	// Webdriver is wd=1: the tracker saw navigator.webdriver set, so an
	// automation framework drives the browser.
	Webdriver bool
}

// Solvers named by the pv parameter.
const (
	SolverWasm = "w"
	SolverJS   = "j"
)

// solverOf validates a pv value.
func solverOf(v string) string {
	if v == SolverWasm || v == SolverJS {
		return v
	}
	return ""
}

// Reasons a beacon is not stored; the pixel is answered either way.
var (
	ErrBadPath        = errors.New("beacon: p must decode to a path starting with /")
	ErrBadInteraction = errors.New("beacon: _v must be spa or 800..3600000 ms")
)

// ParseBeacon turns a raw b.gif query string into a Beacon. Values that are
// merely malformed become empty (site → "default", sid → none); a bad path or
// interaction time is an error and the hit is not stored.
func ParseBeacon(rawQuery string) (Beacon, error) {
	q := scanRaw(rawQuery)
	return parseBeacon(&q, len(rawQuery))
}

// parseBeacon is ParseBeacon of a query already scanned; rawLen is the
// query's length.
func parseBeacon(q *rawParams, rawLen int) (Beacon, error) {
	var b Beacon
	raw, ok := q.b64(qPath)
	if !ok {
		return b, ErrBadPath
	}
	p := truncateRunes(percentDecodeLenient(raw), maxPathLen)
	if !strings.HasPrefix(p, "/") || hasControl(p) {
		return b, ErrBadPath
	}
	b.Path = p

	switch v := q.get(qInteraction); v {
	case "spa":
		b.SPA = true
	default:
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < minInteraction || ms > maxInteraction {
			return b, ErrBadInteraction
		}
		b.InteractionMS = ms
	}

	b.Site = storage.SiteOrDefault(q.get(qSite))
	b.Cookie = q.get(qCookie) == "1"
	b.PWA = q.get(qPWA) == "1"
	if ref, ok := q.b64(qRef); ok && !hasControl(ref) {
		b.Referrer = ref
	}
	b.UTMCampaign = decodeUTM(q, qUTMCampaign)
	b.UTMSource = decodeUTM(q, qUTMSource)
	b.UTMMedium = decodeUTM(q, qUTMMedium)
	b.UTMContent = decodeUTM(q, qUTMContent)
	b.UTMTerm = decodeUTM(q, qUTMTerm)
	if sid := q.get(qSession); validSessionID(sid) {
		b.SessionID = sid
	}
	b.parseScreen(q.get(qScreenW), q.get(qScreenH))
	b.Token = q.get(qToken)
	b.Solver = solverOf(q.get(qSolver))
	b.Webdriver = q.get(qWebdriver) == "1"
	if rawLen > maxSharedQuery {
		b.Site, b.SessionID = strings.Clone(b.Site), strings.Clone(b.SessionID)
	}
	return b, nil
}

func decodeUTM(q *rawParams, i int) string {
	if q.v[i] == "" {
		return ""
	}
	v, _ := q.b64(i)
	return truncateRunes(v, maxUTMLen)
}

// parseScreen reads sw and sh for the screen signal (docs/bot-defense.md):
// the screen is checked only
// when sw or sh is sent; a missing one counts as 0, non-numbers as absurd.
func (b *Beacon) parseScreen(sw, sh string) {
	if sw == "" && sh == "" {
		return
	}
	b.ScreenSent = true
	w, errW := strconv.Atoi(sw)
	h, errH := strconv.Atoi(sh)
	if errW != nil || errH != nil || w <= 0 || w > maxScreen || h <= 0 || h > maxScreen {
		return
	}
	b.ScreenValid = true
	b.ScreenWidth, b.ScreenHeight = w, h
}

// validSessionID checks the tracker's session id shape: 36 characters of
// lower-case hex and dashes.
func validSessionID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || c == '-') {
			return false
		}
	}
	return true
}
