package scoring

import "strings"

// defaultBotUAPatterns is the built-in known-bot list of
// docs/bot-defense.md. Matching ignores case, so "Bingbot" also covers
// "bingbot".
var defaultBotUAPatterns = [...]string{
	"Googlebot", "Bingbot", "Slurp", "DuckDuckBot", "Baiduspider",
	"YandexBot", "Sogou", "Exabot", "facebot", "facebookexternalhit",
	"ia_archiver", "Applebot", "AdsBot-Google", "Mediapartners-Google",
	"APIs-Google", "AhrefsBot", "SemrushBot", "MJ12bot", "DotBot",
	"PetalBot", "BLEXBot", "GPTBot", "ChatGPT-User", "OAI-SearchBot",
	"ClaudeBot", "Claude-Web", "Bytespider", "CCBot", "DataForSeoBot",
	"Amazonbot", "anthropic-ai", "PerplexityBot", "YouBot", "Scrapy",
	"curl", "wget", "python-requests", "Go-http-client", "HeadlessChrome",
	"Amzn-SearchBot",
	"Google-Extended", "Puppeteer", "Playwright",
}

// DefaultBotUAPatterns returns a fresh copy of the default known-bot UA
// patterns, used when bot_ua_patterns is not configured.
func DefaultBotUAPatterns() []string {
	return append([]string(nil), defaultBotUAPatterns[:]...)
}

// UAMatcher finds known-bot patterns in User-Agent headers: a UA matches
// when, ASCII case ignored, it contains any pattern as a substring. It is
// immutable once built and safe for concurrent use. The zero value and nil
// match nothing.
//
// All patterns are compiled into one Aho–Corasick automaton stored as a
// dense transition table over byte classes (bytes that occur in no pattern
// share class 0; ASCII letters are folded into their lower-case class), so
// Match reads each UA byte once and does not allocate, whatever the number
// of patterns.
//
// While the automaton is in its start state, Match skips ahead over byte
// pairs that begin no pattern: most of a browser UA is skipped with
// independent table loads instead of a chain of dependent transitions. The
// skip is exact: if b1 b2 begins no pattern, the state after b2 is the
// start state's b2 transition whatever b1 did, and no pattern ends at b1
// when every pattern has at least two bytes (otherwise the skip is off).
type UAMatcher struct {
	patterns []string // as configured; first spelling of each case-folded duplicate
	// class maps a byte to its class; there are at most 231 classes (the
	// distinct bytes of lower-cased patterns, plus class 0).
	class [256]uint8
	width int // number of byte classes
	// next[s+class] is the premultiplied next state (state*width). A value
	// v < 0 means state -v-1 ends at least one pattern.
	next []int32
	out  []int32 // by state number: index into patterns of a match ending there
	// starts has bit class(b1)<<8|class(b2) set when some pattern begins
	// with b1 b2; nil disables the skip.
	starts *[1 << 16 / 64]uint64
}

// NewUAMatcher compiles patterns. Surrounding white space is trimmed, empty
// patterns are skipped (they would match every UA) and patterns equal
// under ASCII case folding are kept once. With no patterns left the
// matcher is disabled and never matches.
func NewUAMatcher(patterns []string) *UAMatcher {
	m := &UAMatcher{}
	seen := make(map[string]bool, len(patterns))
	var lowered []string
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		lp := lowerASCII(p)
		if p == "" || seen[lp] {
			continue
		}
		seen[lp] = true
		m.patterns = append(m.patterns, p)
		lowered = append(lowered, lp)
	}
	if len(lowered) == 0 {
		return m
	}
	m.buildClasses(lowered)
	m.build(lowered)
	m.buildStarts(lowered)
	return m
}

func (m *UAMatcher) buildStarts(lowered []string) {
	starts := new([1 << 16 / 64]uint64)
	for _, p := range lowered {
		if len(p) < 2 {
			return
		}
		k := uint(m.class[p[0]])<<8 | uint(m.class[p[1]])
		starts[k/64] |= 1 << (k % 64)
	}
	m.starts = starts
}

// patternList returns a copy of the patterns the matcher uses.
func (m *UAMatcher) patternList() []string {
	if m == nil {
		return nil
	}
	return append([]string(nil), m.patterns...)
}

func (m *UAMatcher) buildClasses(lowered []string) {
	n := 1
	for _, p := range lowered {
		for i := 0; i < len(p); i++ {
			if m.class[p[i]] == 0 {
				m.class[p[i]] = uint8(n)
				n++
			}
		}
	}
	for c := 'A'; c <= 'Z'; c++ {
		m.class[c] = m.class[c+'a'-'A']
	}
	m.width = n
}

// build makes the trie, then fills every missing transition and the output
// of each state from its failure state, in breadth-first order.
func (m *UAMatcher) build(lowered []string) {
	w := m.width
	goTo := make([]int32, w) // trie edges, -1 = none; state s at goTo[s*w:]
	for i := range goTo {
		goTo[i] = -1
	}
	own := []int32{-1} // pattern ending exactly at each state
	for pi, p := range lowered {
		s := 0
		for i := 0; i < len(p); i++ {
			c := int(m.class[p[i]])
			t := goTo[s*w+c]
			if t < 0 {
				t = int32(len(own))
				own = append(own, -1)
				for j := 0; j < w; j++ {
					goTo = append(goTo, -1)
				}
				goTo[s*w+c] = t
			}
			s = int(t)
		}
		if own[s] < 0 {
			own[s] = int32(pi)
		}
	}

	states := len(own)
	fail := make([]int32, states)
	out := make([]int32, states)
	copy(out, own)
	delta := goTo // completed in place into a full DFA
	queue := make([]int32, 0, states)
	for c := 0; c < w; c++ {
		if t := delta[c]; t < 0 {
			delta[c] = 0
		} else {
			fail[t] = 0
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := int(queue[0])
		queue = queue[1:]
		f := int(fail[s])
		for c := 0; c < w; c++ {
			t := delta[s*w+c]
			if t < 0 {
				delta[s*w+c] = delta[f*w+c]
				continue
			}
			fail[t] = delta[f*w+c]
			if out[t] < 0 {
				out[t] = out[fail[t]]
			}
			queue = append(queue, t)
		}
	}

	m.out = out
	m.next = make([]int32, len(delta))
	for i, t := range delta {
		v := t * int32(w)
		if out[t] >= 0 {
			v = -t - 1
		}
		m.next[i] = v
	}
}

// Match reports the first pattern found in ua (the one ending earliest).
// An empty ua never matches.
func (m *UAMatcher) Match(ua string) (pattern string, ok bool) {
	if m == nil || len(m.next) == 0 {
		return "", false
	}
	next, class, starts := m.next, &m.class, m.starts
	s := int32(0)
	for i := 0; i < len(ua); i++ {
		if s == 0 && starts != nil {
			for i+1 < len(ua) {
				k := uint(class[ua[i]])<<8 | uint(class[ua[i+1]])
				if starts[k/64]&(1<<(k%64)) != 0 {
					break
				}
				i++
			}
		}
		s = next[s+int32(class[ua[i]])]
		if s < 0 {
			return m.patterns[m.out[-s-1]], true
		}
	}
	return "", false
}

// lowerASCII lower-cases ASCII letters only, leaving other bytes (and
// invalid UTF-8) untouched, which is the folding Match applies.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = toLowerASCII(b[j])
			}
			return string(b)
		}
	}
	return s
}
