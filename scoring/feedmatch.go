package scoring

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
)

// canaryUAs are everyday browsers. A feed entry that matches one of them
// is dropped when a matcher is built, so a bad or hostile feed update (say,
// a pattern "Mozilla") cannot put points on every visitor.
var canaryUAs = [...]string{
	chromeWindowsCanary,
	"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
}

const chromeWindowsCanary = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"

func matchesCanary(match func(string) bool) bool {
	for _, ua := range canaryUAs {
		if match(ua) {
			return true
		}
	}
	return false
}

// minFeedLiteral is the shortest AI bot name or regex factor used: shorter
// ones match too much to mean anything.
const minFeedLiteral = 3

// uaPatterns matches User-Agents against a crawler feed's regular
// expressions. The feed's patterns are JavaScript regexes meant to be
// tried case-insensitively, any of them matching; each is compiled with
// RE2 under (?i), and those RE2 rejects (lookarounds, backreferences) are
// skipped.
//
// Matching is equivalent to one (?i) alternation of all of them, but
// faster: RE2 has no DFA in Go, and a 600-way alternation costs tens of
// microseconds per UA. Almost every pattern is a literal ("Googlebot\/",
// "[wW]get"), and those go into an Aho–Corasick UAMatcher (ASCII case
// folding; RE2's Unicode folding would also let "K" match the Kelvin sign,
// which no crawler UA relies on). Each other pattern has a literal factor
// every match must contain ("grub" for "grub.org"): it runs only when the
// UA contains that factor, and a second automaton over all the factors
// skips the lot for the UAs (every browser's) that contain none. What is
// left is one alternation.
type uaPatterns struct {
	literals *UAMatcher
	factors  *UAMatcher // the gated regexes' factors
	gated    []gatedRegexp
	rest     []*regexp.Regexp // one alternation, unless too large for RE2
}

type gatedRegexp struct {
	factor string // lower case
	re     *regexp.Regexp
}

func newUAPatterns(patterns []string) *uaPatterns {
	u := &uaPatterns{}
	var literals, rest []string
	var restREs []*regexp.Regexp
	seen := map[string]bool{}
	for _, p := range patterns {
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		re, err := regexp.Compile("(?i)" + p)
		if err != nil {
			continue
		}
		if matchesCanary(re.MatchString) {
			continue
		}
		tree, err := syntax.Parse(p, syntax.Perl|syntax.FoldCase)
		if err != nil {
			continue
		}
		tree = tree.Simplify()
		if lit, ok := asciiLiteral(tree); ok && lit == strings.TrimSpace(lit) {
			literals = append(literals, lit)
			continue
		}
		if f := requiredFactor(tree); len(f) >= minFeedLiteral {
			u.gated = append(u.gated, gatedRegexp{f, re})
			continue
		}
		rest = append(rest, "(?:"+p+")")
		restREs = append(restREs, re)
	}
	u.literals = NewUAMatcher(literals)
	factors := make([]string, len(u.gated))
	for i, g := range u.gated {
		factors[i] = g.factor
	}
	u.factors = NewUAMatcher(factors)
	u.rest = restREs
	if len(rest) > 1 {
		if re, err := regexp.Compile("(?i)" + strings.Join(rest, "|")); err == nil {
			u.rest = []*regexp.Regexp{re}
		}
	}
	return u
}

func (u *uaPatterns) match(ua string) bool {
	if u == nil || ua == "" {
		return false
	}
	if _, ok := u.literals.Match(ua); ok {
		return true
	}
	if _, ok := u.factors.Match(ua); ok {
		lower := lowerASCII(ua)
		for _, g := range u.gated {
			if strings.Contains(lower, g.factor) && g.re.MatchString(ua) {
				return true
			}
		}
	}
	for _, re := range u.rest {
		if re.MatchString(ua) {
			return true
		}
	}
	return false
}

// asciiLiteral returns the lower-cased text of a regex that is one ASCII
// literal matched ignoring case.
func asciiLiteral(re *syntax.Regexp) (string, bool) {
	if re.Op != syntax.OpLiteral || re.Flags&syntax.FoldCase == 0 {
		return "", false
	}
	b := make([]byte, 0, len(re.Rune))
	for _, r := range re.Rune {
		if r >= 0x80 {
			return "", false
		}
		b = append(b, toLowerASCII(byte(r)))
	}
	return string(b), true
}

// requiredFactor returns the longest ASCII literal that every match of re
// contains, lower-cased, or "".
func requiredFactor(re *syntax.Regexp) string {
	switch re.Op {
	case syntax.OpLiteral:
		// Case-insensitive containment of the lower-cased text is necessary
		// for a case-sensitive literal too.
		b := make([]byte, 0, len(re.Rune))
		for _, r := range re.Rune {
			if r >= 0x80 {
				return ""
			}
			b = append(b, toLowerASCII(byte(r)))
		}
		return string(b)
	case syntax.OpCapture, syntax.OpPlus:
		return requiredFactor(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min > 0 {
			return requiredFactor(re.Sub[0])
		}
	case syntax.OpConcat:
		best := ""
		for _, sub := range re.Sub {
			if f := requiredFactor(sub); len(f) > len(best) {
				best = f
			}
		}
		return best
	}
	return ""
}

// newNameMatcher matches AI bot names as case-insensitive substrings.
func newNameMatcher(names []string) *UAMatcher {
	var keep []string
	for _, n := range names {
		n = strings.TrimSpace(n)
		if len(n) < minFeedLiteral || matchesCanary(func(ua string) bool { return containsFoldASCII(ua, lowerASCII(n)) }) {
			continue
		}
		keep = append(keep, n)
	}
	return NewUAMatcher(keep)
}

// parseCrawlerFeed reads monperrus/crawler-user-agents: a JSON array of
// objects whose "pattern" is a regex.
func parseCrawlerFeed(b []byte) ([]string, error) {
	var entries []struct {
		Pattern string `json:"pattern"`
	}
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Pattern != "" {
			out = append(out, e.Pattern)
		}
	}
	return out, nil
}

// parseAIFeed reads ai-robots-txt's robots.json: a JSON object whose keys
// are bot names. A JSON array of names is accepted too.
func parseAIFeed(b []byte) ([]string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err == nil {
		out := make([]string, 0, len(obj))
		for k := range obj {
			out = append(out, k)
		}
		slices.Sort(out)
		return out, nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, errors.New("want a JSON object of bot names or an array of names")
	}
	return list, nil
}

// parseDatacenterFeed reads a list of CIDRs in one of three formats, told
// apart by the first byte: AWS ip-ranges.json ("prefixes"[].ip_prefix,
// "ipv6_prefixes"[].ipv6_prefix), GCP cloud.json ("prefixes"[].ipv4Prefix
// and .ipv6Prefix), or text with one CIDR or address per line, '#'
// starting a comment. Entries that do not parse are skipped.
func parseDatacenterFeed(b []byte) ([]netip.Prefix, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var doc struct {
			Prefixes []struct {
				AWS  string `json:"ip_prefix"`
				GCP4 string `json:"ipv4Prefix"`
				GCP6 string `json:"ipv6Prefix"`
			} `json:"prefixes"`
			IPv6Prefixes []struct {
				AWS string `json:"ipv6_prefix"`
			} `json:"ipv6_prefixes"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, err
		}
		var out []netip.Prefix
		for _, p := range doc.Prefixes {
			out = appendPrefix(out, p.AWS, p.GCP4, p.GCP6)
		}
		for _, p := range doc.IPv6Prefixes {
			out = appendPrefix(out, p.AWS)
		}
		return out, nil
	}
	var out []netip.Prefix
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if f := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' || r == ';' }); len(f) > 0 {
			out = appendPrefix(out, f[0])
		}
	}
	return out, sc.Err()
}

func appendPrefix(out []netip.Prefix, ss ...string) []netip.Prefix {
	for _, s := range ss {
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p)
		} else if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out
}

// ipSet is a set of CIDRs as sorted, non-overlapping address intervals,
// IPv4 and IPv6 apart, searched by bisection.
type ipSet struct {
	v4 []span[uint32]
	v6 []span[u128]
}

type span[T any] struct{ lo, hi T }

type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

func (a u128) next() (u128, bool) {
	if a.lo != ^uint64(0) {
		return u128{a.hi, a.lo + 1}, true
	}
	if a.hi != ^uint64(0) {
		return u128{a.hi + 1, 0}, true
	}
	return a, false
}

func newIPSet(prefixes []netip.Prefix) ipSet {
	var s ipSet
	for _, p := range prefixes {
		if !p.IsValid() {
			continue
		}
		a := p.Masked().Addr()
		bits := p.Bits()
		if a.Is4In6() && bits >= 96 {
			a, bits = a.Unmap(), bits-96
		}
		if a.Is4() {
			lo := v4Uint(a)
			s.v4 = append(s.v4, span[uint32]{lo, lo | uint32(uint64(1)<<(32-bits)-1)})
			continue
		}
		lo := v6Uint(a)
		hi := lo
		if host := 128 - bits; host >= 64 {
			hi.lo = ^uint64(0)
			hi.hi |= uint64(1)<<(host-64) - 1
		} else {
			hi.lo |= uint64(1)<<host - 1
		}
		s.v6 = append(s.v6, span[u128]{lo, hi})
	}
	s.v4 = mergeSpans(s.v4, cmp.Compare[uint32], func(x uint32) (uint32, bool) { return x + 1, x != ^uint32(0) })
	s.v6 = mergeSpans(s.v6, u128.cmp, u128.next)
	return s
}

// mergeSpans sorts spans and joins those that overlap or touch.
func mergeSpans[T any](spans []span[T], compare func(a, b T) int, next func(T) (T, bool)) []span[T] {
	slices.SortFunc(spans, func(a, b span[T]) int { return compare(a.lo, b.lo) })
	out := spans[:0]
	for _, sp := range spans {
		if n := len(out); n > 0 {
			last := &out[n-1]
			after, ok := next(last.hi)
			if !ok || compare(sp.lo, after) <= 0 {
				if compare(sp.hi, last.hi) > 0 {
					last.hi = sp.hi
				}
				continue
			}
		}
		out = append(out, sp)
	}
	return slices.Clip(out)
}

func (s *ipSet) contains(a netip.Addr) bool {
	a = a.Unmap()
	if a.Is6() {
		// ::a.b.c.d, the deprecated IPv4-compatible form (but not :: or ::1).
		if b := a.As16(); [12]byte(b[:12]) == [12]byte{} && (b[12]|b[13]|b[14]) != 0 {
			a = netip.AddrFrom4([4]byte(b[12:]))
		}
	}
	switch {
	case a.Is4():
		return inSpans(s.v4, v4Uint(a), cmp.Compare[uint32])
	case a.Is6():
		return inSpans(s.v6, v6Uint(a), u128.cmp)
	}
	return false
}

func inSpans[T any](spans []span[T], x T, compare func(a, b T) int) bool {
	i, _ := slices.BinarySearchFunc(spans, x, func(sp span[T], x T) int { return compare(sp.hi, x) })
	return i < len(spans) && compare(spans[i].lo, x) <= 0
}

func v4Uint(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func v6Uint(a netip.Addr) u128 {
	b := a.As16()
	var x u128
	for i := 0; i < 8; i++ {
		x.hi = x.hi<<8 | uint64(b[i])
		x.lo = x.lo<<8 | uint64(b[8+i])
	}
	return x
}
