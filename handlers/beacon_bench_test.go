package handlers

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/scoring"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

type nopObserver struct{}

func (nopObserver) Beacon(string)      {}
func (nopObserver) Events(string, int) {}

// BenchmarkServeBeacon measures the handler's share of a beacon (parse,
// identify, score, buffer, answer) against a real in-memory store.
func BenchmarkServeBeacon(b *testing.B) {
	st, err := storage.Open(storage.Options{InMemory: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	w := st.NewWriter(storage.WriterConfig{ViewFlush: 50 * time.Millisecond})
	tr := &Tracking{
		Config:  &Config{},
		Sink:    w,
		Salts:   st,
		Rules:   &scoring.Rules{SuspectCountries: map[string]bool{"CN": true}, SuspectPoints: 30},
		Bots:    scoring.NewUAMatcher(scoring.DefaultBotUAPatterns()),
		Limiter: scoring.NewRateLimiter(1_000_000, time.Minute, 1<<16, time.Now),
		Observe: nopObserver{},
		Now:     time.Now,
		// The module's bot-defense state, as Provision wires it.
		Burst:    scoring.NewBurst(0),
		BotIPs:   scoring.NewBotIPs(0),
		Prints:   scoring.NewPrints(0),
		Excluded: st,
	}
	req := httptest.NewRequest("GET", "/b.gif?p=L2Jsb2cvcG9zdD9xPTE&s=shop&_v=1500&sw=1920&sh=1080&sid=0b7c2f0e-1111-4222-8333-444455556666&ref=aHR0cHM6Ly93d3cuZ29vZ2xlLmNvbS8", nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	req.Header.Set("Accept-Language", "en-US,en;q=0.9")
	req.Header.Set("Sec-Ch-Ua", `"Chromium";v="131"`)
	peer := Peer{IP: "203.0.113.7"}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		tr.ServeBeacon(rec, req, peer)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
