package handlers

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"github.com/echelon-analytics/caddy-echelon/scoring"
)

func TestUACache_AgreesWithParseAndMatch(t *testing.T) {
	tr := &Tracking{Bots: scoring.NewUAMatcher(scoring.DefaultBotUAPatterns())}
	uas := []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"curl/8.5.0",
		"Mozilla/5.0 (compatible; GPTBot/1.1; +https://openai.com/gptbot)",
		"",
	}
	// More distinct UAs than slots, so entries get replaced on the way.
	for i := range uaCacheSlots + 500 {
		uas = append(uas, fmt.Sprintf("Mozilla/5.0 (X11; Linux x86_64) Firefox/%d.0", i))
	}
	for round := range 2 {
		for _, ua := range uas {
			got := tr.uaInfo(ua)
			_, bot := tr.Bots.Match(ua)
			if got.ua != ua || got.parsed != scoring.ParseUA(ua) || got.bot != bot {
				t.Fatalf("round %d, %q: cached %+v, bot %v; want %+v, bot %v", round, ua, got.parsed, got.bot, scoring.ParseUA(ua), bot)
			}
		}
	}
	if first, again := tr.uaInfo(uas[0]), tr.uaInfo(uas[0]); first != again {
		t.Error("a repeated UA was parsed again")
	}
}

// TestUACache_LongUAsAreNotKept: a UA over maxCachedUA is answered but not
// cached, and no parse result holds the memory of the UA it came from.
func TestUACache_LongUAsAreNotKept(t *testing.T) {
	tr := &Tracking{}
	long := "Mozilla/5.0 (Windows NT 10.0) Chrome/131.0.0.0 Safari/537.36 " + strings.Repeat("x", 16<<10)
	e := tr.uaInfo(long)
	if e.parsed.Browser != "Chrome" || e.parsed.BrowserVersion != "131.0.0.0" {
		t.Fatalf("parsed %+v", e.parsed)
	}
	for i := range tr.uas.entries {
		if c := tr.uas.entries[i].Load(); c != nil {
			t.Fatalf("slot %d holds a %d-byte UA", i, len(c.ua))
		}
	}
	v := e.parsed.BrowserVersion
	if p := uintptr(unsafe.Pointer(unsafe.StringData(v))); p >= uintptr(unsafe.Pointer(unsafe.StringData(long))) &&
		p < uintptr(unsafe.Pointer(unsafe.StringData(long)))+uintptr(len(long)) {
		t.Error("the browser version points into the UA")
	}
	short := "Mozilla/5.0 (Windows NT 10.0) Chrome/131.0.0.0 Safari/537.36"
	if tr.uaInfo(short) != tr.uaInfo(short) {
		t.Error("a short UA is not cached")
	}
}
