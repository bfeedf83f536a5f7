package scoring

import (
	"math/rand/v2"
	"strings"
	"testing"
)

var browserUAs = []string{
	chromeWindowsUA,
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
	"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 13; SM-S908B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
}

func TestDefaultBotUAPatterns_ReferenceListPlusDecisionOne(t *testing.T) {
	got := DefaultBotUAPatterns()
	if len(got) != 43 { // the 43 patterns listed in docs/bot-defense.md
		t.Errorf("len = %d, want 43", len(got))
	}
	for _, p := range []string{"Googlebot", "GPTBot", "HeadlessChrome", "Amzn-SearchBot", "Google-Extended", "Puppeteer", "Playwright"} {
		if !containsString(got, p) {
			t.Errorf("default list lacks %q", p)
		}
	}
	got[0] = "changed"
	if DefaultBotUAPatterns()[0] == "changed" {
		t.Error("DefaultBotUAPatterns shares its backing array")
	}
}

func TestUAMatcher_DefaultPatternInMixedCaseInsideUA(t *testing.T) {
	m := NewUAMatcher(DefaultBotUAPatterns())
	for _, p := range DefaultBotUAPatterns() {
		for _, ua := range []string{
			"Mozilla/5.0 (compatible; " + alternateCase(p) + "/2.1; +http://example.com/bot)",
			strings.ToUpper(p),
			strings.ToLower(p) + " trailing",
		} {
			// Another pattern may end earlier in the UA; any reported
			// pattern must be in it.
			got, ok := m.Match(ua)
			if !ok || !strings.Contains(strings.ToLower(ua), strings.ToLower(got)) {
				t.Errorf("Match(%q) = (%q, %v), want a match of %q", ua, got, ok, p)
			}
		}
	}
}

func TestUAMatcher_ReportsPatternAsConfigured(t *testing.T) {
	m := NewUAMatcher(DefaultBotUAPatterns())
	got, ok := m.Match("Mozilla/5.0 (compatible; BINGBOT/2.0; +http://www.bing.com/bingbot.htm)")
	if !ok || got != "Bingbot" {
		t.Errorf("Match = (%q, %v), want (Bingbot, true)", got, ok)
	}
	got, ok = m.Match("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)")
	if !ok || got != "GPTBot" {
		t.Errorf("Match = (%q, %v), want (GPTBot, true)", got, ok)
	}
}

func TestUAMatcher_BrowsersDoNotMatch(t *testing.T) {
	m := NewUAMatcher(DefaultBotUAPatterns())
	for _, ua := range browserUAs {
		if p, ok := m.Match(ua); ok {
			t.Errorf("browser UA %q matched %q", ua, p)
		}
	}
}

func TestUAMatcher_EmptyUANeverMatches(t *testing.T) {
	for _, patterns := range [][]string{DefaultBotUAPatterns(), {"a"}, {" "}} {
		if p, ok := NewUAMatcher(patterns).Match(""); ok {
			t.Errorf("patterns %q: empty UA matched %q", patterns, p)
		}
	}
}

func TestUAMatcher_CustomListReplacesDefault(t *testing.T) {
	m := NewUAMatcher([]string{" MyCrawler ", "", "evil-bot", "EVIL-BOT"})
	if got := m.patternList(); len(got) != 2 || got[0] != "MyCrawler" || got[1] != "evil-bot" {
		t.Errorf("patternList() = %q, want [MyCrawler evil-bot]", got)
	}
	tests := []struct {
		ua, want string
		ok       bool
	}{
		{"x mycrawler/1.0", "MyCrawler", true},
		{"Evil-Bot", "evil-bot", true},
		{"Googlebot/2.1", "", false},
		{chromeWindowsUA, "", false},
	}
	for _, tt := range tests {
		if got, ok := m.Match(tt.ua); got != tt.want || ok != tt.ok {
			t.Errorf("Match(%q) = (%q, %v), want (%q, %v)", tt.ua, got, ok, tt.want, tt.ok)
		}
	}
}

func TestUAMatcher_EmptyListDisables(t *testing.T) {
	for _, m := range []*UAMatcher{NewUAMatcher(nil), NewUAMatcher([]string{"", "  "}), {}, nil} {
		if p, ok := m.Match("curl/8.4.0 Googlebot"); ok {
			t.Errorf("disabled matcher matched %q", p)
		}
	}
}

func TestUAMatcher_OverlappingPatterns(t *testing.T) {
	m := NewUAMatcher([]string{"abcd", "bc", "bcx", "cd"})
	tests := []struct {
		ua, want string
	}{
		{"xabcdx", "bc"}, // ends earliest
		{"xbcx", "bc"},
		{"abd cd", "cd"},
		{"ab", ""},
	}
	for _, tt := range tests {
		got, _ := m.Match(tt.ua)
		if got != tt.want {
			t.Errorf("Match(%q) = %q, want %q", tt.ua, got, tt.want)
		}
	}
}

func TestUAMatcher_AgreesWithNaiveOnRandomInput(t *testing.T) {
	// A small alphabet makes overlaps, shared prefixes and failure links
	// common; lengths 1..4 exercise the start-pair skip being on and off.
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abAB-"
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	for range 3000 {
		patterns := make([]string, 1+rng.IntN(5))
		for i := range patterns {
			patterns[i] = word(1 + rng.IntN(4))
		}
		ua := word(rng.IntN(20))
		_, ok := NewUAMatcher(patterns).Match(ua)
		if want := naiveUnicodeMatch(ua, patterns); ok != want {
			t.Fatalf("patterns %q, ua %q: Match ok = %v, naive %v", patterns, ua, ok, want)
		}
	}
}

func FuzzUAMatcher(f *testing.F) {
	f.Add("Mozilla/5.0 (compatible; Googlebot/2.1)", "")
	f.Add("aaab", "aab,ab,b")
	f.Add("HeAdLeSsChRoMe", "headless,Chrome,x")
	f.Add("\xffK\u212a", "k,\xff")
	f.Fuzz(func(t *testing.T, ua, list string) {
		patterns := DefaultBotUAPatterns()
		if list != "" {
			patterns = strings.Split(list, ",")
		}
		m := NewUAMatcher(patterns)
		got, ok := m.Match(ua)

		// The naive definition: lower-cased UA contains a lower-cased,
		// non-empty pattern (ASCII folding, as documented).
		lua := lowerASCII(ua)
		want := false
		for _, p := range patterns {
			p = strings.TrimSpace(p)
			if p != "" && strings.Contains(lua, lowerASCII(p)) {
				want = true
				break
			}
		}
		if ok != want {
			t.Fatalf("Match(%q) ok = %v, naive = %v (patterns %q)", ua, ok, want, patterns)
		}
		if ok && (!containsString(m.patternList(), got) || !strings.Contains(lua, lowerASCII(got))) {
			t.Fatalf("Match(%q) reported %q, not a configured pattern in the UA", ua, got)
		}
		if isASCII(ua) && isASCII(list) && ok != naiveUnicodeMatch(ua, patterns) {
			t.Fatalf("ASCII input disagrees with strings.ToLower: %q", ua)
		}
	})
}

func naiveUnicodeMatch(ua string, patterns []string) bool {
	lua := strings.ToLower(ua)
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		if p != "" && strings.Contains(lua, strings.ToLower(p)) {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func alternateCase(s string) string {
	b := []byte(s)
	for i := range b {
		if i%2 == 0 {
			b[i] = toLowerASCII(b[i])
		} else if 'a' <= b[i] && b[i] <= 'z' {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}

func BenchmarkUAMatch(b *testing.B) {
	m := NewUAMatcher(DefaultBotUAPatterns())
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := m.Match(chromeWindowsUA); ok {
			b.Fatal("browser matched")
		}
	}
}

func BenchmarkUAMatchNaive(b *testing.B) {
	patterns := DefaultBotUAPatterns()
	b.ReportAllocs()
	for b.Loop() {
		naiveUnicodeMatch(chromeWindowsUA, patterns)
	}
}
