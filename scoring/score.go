package scoring

import (
	"strconv"
	"strings"
)

// Hit says which endpoint a scored request came from; some signals apply to
// the pageview beacon only (docs/bot-defense.md, Score signals).
type Hit uint8

const (
	HitBeacon Hit = iota
	HitEvents
)

// Input is everything the score table looks at, parsed at the edge: the
// request's own values, plus the burst count and feed matches that Burst
// and Feeds fill in.
type Input struct {
	Hit Hit
	// CFBotScore is Cloudflare's 1–99 bot score, 0 when absent or untrusted.
	CFBotScore int
	CFVerified bool
	SPA        bool
	// InteractionMS is the beacon's _v.
	InteractionMS                                  int64
	Country                                        string // upper-case ISO code or ""
	Site                                           string
	HasAcceptLanguage, HasSecCHUA, HasSecFetchSite bool
	ScreenSent, ScreenValid                        bool
	ExternalReferrer                               bool
	Path                                           string

	// BrandMismatch: the Sec-CH-UA brands contradict the User-Agent
	// (see brandMismatch). FetchDest is Sec-Fetch-Dest, "" if absent or
	// empty. Both are set by ReadHeaders, with the presence flags above.
	BrandMismatch bool
	FetchDest     string

	// Burst is the visitor's hit count in its burst window: Burst.Hit on a
	// beacon, Burst.Count on an event batch.
	Burst int

	// Threat-feed matches, set by Feeds.Fill.
	CrawlerFeed, AICrawlerFeed, DatacenterIP bool
}

// Rules are the configurable parts of the score.
type Rules struct {
	SuspectCountries map[string]bool
	// SiteSuspectCountries maps a lower-case site id to its own list.
	SiteSuspectCountries map[string]map[string]bool
	SuspectPoints        int
	// PoWPoints are the points of each proof-of-work result but PoWValid,
	// which (like any result not listed) gives 0.
	PoWPoints map[PoWResult]int
}

// PoWResult is the outcome of a proof-of-work check as a score records it
// under "pow_result" and the traffic-quality reasons read it back: the
// names of pow's outcomes.
type PoWResult string

const (
	PoWValid    PoWResult = "valid"    // a token that verifies, in time, first use; no points
	PoWMissing  PoWResult = "missing"  // no token
	PoWInvalid  PoWResult = "invalid"  // a token that does not verify
	PoWExpired  PoWResult = "expired"  // verifies, but older than the challenge window
	PoWReplayed PoWResult = "replayed" // a pageview token used before
)

// PoW adds the proof-of-work signal: its points under "pow" and the result
// under "pow_result" (both recorded for every result, valid included).
func (r *Rules) PoW(res *Result, result PoWResult) {
	res.PoWResult = result
	res.Add("pow", r.PoWPoints[result])
}

// Points is one signal that fired.
type Points struct {
	Key    string
	Points int
}

// Result is a clamped score and the signals behind it.
type Result struct {
	Score  int
	Detail []Points
	// PoWResult is the proof-of-work outcome, "" when not checked.
	PoWResult PoWResult
}

// signal is one row of the score table: a key and the points it gives.
type signal struct {
	key    string
	points func(in *Input, r *Rules) int
}

// signals is the table of docs/bot-defense.md, Score signals, as data;
// Score walks it once. Why two of the points are what they are:
// header_coherence 15 (a contradiction no real browser produces, but a
// UA-spoofing extension might, so alone it keeps a hit in the 0–49 the
// statistics count) and fetch_dest 10 (the tracker loads b.gif with an
// Image, so any other destination means something else fetched it).
var signals = [...]signal{
	{"cf", cfPoints},
	{"timing", func(in *Input, _ *Rules) int {
		switch {
		case in.Hit != HitBeacon || in.SPA:
			return 0
		case in.InteractionMS < 850:
			return 20
		case in.InteractionMS < 1000:
			return 8
		}
		return 0
	}},
	{"geo", func(in *Input, r *Rules) int {
		if in.Country != "" && r.SuspectCountries[in.Country] {
			return r.SuspectPoints
		}
		return 0
	}},
	{"geo_site", func(in *Input, r *Rules) int {
		if in.Country != "" && r.SiteSuspectCountries[strings.ToLower(in.Site)][in.Country] {
			return r.SuspectPoints
		}
		return 0
	}},
	{"burst", func(in *Input, _ *Rules) int { return pointsIf(in.Burst > BurstThreshold, 25) }},
	{"headers", func(in *Input, _ *Rules) int {
		p := 0
		if !in.HasAcceptLanguage {
			p += 10
		}
		if !in.HasSecCHUA && !in.HasSecFetchSite {
			p += 10
		}
		return p
	}},
	{"header_coherence", func(in *Input, _ *Rules) int { return pointsIf(in.BrandMismatch, 15) }},
	{"fetch_dest", func(in *Input, _ *Rules) int {
		if in.Hit == HitBeacon && in.FetchDest != "" && !strings.EqualFold(in.FetchDest, "image") {
			return 10
		}
		return 0
	}},
	{"screen", func(in *Input, _ *Rules) int {
		if in.Hit == HitBeacon && in.ScreenSent && !in.ScreenValid {
			return 10
		}
		return 0
	}},
	// SPA navigations never carry a referrer (docs/tracker.md), so
	// like timing they are exempt: an in-app deep link is not a bot sign.
	{"referrer", func(in *Input, _ *Rules) int {
		if in.Hit == HitBeacon && !in.SPA && !in.ExternalReferrer && pathSegments(in.Path) >= 2 {
			return 5
		}
		return 0
	}},
	{"crawler_feed", func(in *Input, _ *Rules) int { return pointsIf(in.CrawlerFeed, 30) }},
	{"ai_crawler_feed", func(in *Input, _ *Rules) int { return pointsIf(in.AICrawlerFeed, 40) }},
	{"datacenter_ip", func(in *Input, _ *Rules) int { return pointsIf(in.DatacenterIP, 15) }},
}

func pointsIf(fired bool, p int) int {
	if fired {
		return p
	}
	return 0
}

func cfPoints(in *Input, _ *Rules) int {
	switch {
	case in.CFBotScore == 0:
		return 0
	case in.CFVerified:
		return 15
	case in.CFBotScore <= 2:
		return 50
	case in.CFBotScore <= 29:
		return 30
	case in.CFBotScore <= 50:
		return 10
	}
	return 0
}

// pathSegments counts the non-empty pieces of p split on "/", the query
// string included.
func pathSegments(p string) int {
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] != '/' && (i == 0 || p[i-1] == '/') {
			n++
		}
	}
	return n
}

// Score sums the signals that fire, clamped to 0–100.
func (r *Rules) Score(in *Input) Result {
	var res Result
	for _, s := range signals {
		if p := s.points(in, r); p != 0 {
			if res.Detail == nil {
				res.Detail = make([]Points, 0, 8) // a bot fires a handful
			}
			res.Score += p
			res.Detail = append(res.Detail, Points{s.key, p})
		}
	}
	res.Score = min(max(res.Score, 0), 100)
	return res
}

// Add records extra points from a stateful signal (PoW, burst, IP tier) and
// re-clamps.
func (res *Result) Add(key string, p int) {
	res.Detail = append(res.Detail, Points{key, p})
	total := 0
	for _, d := range res.Detail {
		total += d.Points
	}
	res.Score = min(max(total, 0), 100)
}

// DetailJSON renders the detail as a JSON object, "" when nothing fired.
func (res *Result) DetailJSON() string {
	if len(res.Detail) == 0 && res.PoWResult == "" {
		return ""
	}
	// Keys and outcomes are this package's constants (plain ASCII, nothing
	// to escape), so they are appended as they are; the stack buffer
	// leaves one allocation, the string.
	var buf [256]byte
	b := append(buf[:0], '{')
	for i, d := range res.Detail {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, d.Key...)
		b = append(b, '"', ':')
		b = strconv.AppendInt(b, int64(d.Points), 10)
	}
	if res.PoWResult != "" {
		if len(res.Detail) > 0 {
			b = append(b, ',')
		}
		b = append(b, `"pow_result":"`...)
		b = append(b, string(res.PoWResult)...)
		b = append(b, '"')
	}
	return string(append(b, '}'))
}
