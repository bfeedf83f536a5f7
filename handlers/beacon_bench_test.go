package handlers

import (
	"fmt"
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
// identify, score, buffer, answer) against a real in-memory store, with
// the module's bot-defense state (burst map, bot-IP tiers, correlator
// prints, exclusions) and, for comparison in the same run, without it
// (BenchmarkServeBeaconNoBotState).
func BenchmarkServeBeacon(b *testing.B) { benchmarkServeBeacon(b, true) }

func BenchmarkServeBeaconNoBotState(b *testing.B) { benchmarkServeBeacon(b, false) }

func benchmarkServeBeacon(b *testing.B, botState bool) {
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
	}
	if botState { // as Provision wires it
		tr.Burst, tr.BotIPs, tr.Prints, tr.Excluded = scoring.NewBurst(0), scoring.NewBotIPs(0), scoring.NewPrints(0), st
	}
	req := httptest.NewRequest("GET", "/b.gif?p=L2Jsb2cvcG9zdD9xPTE&s=shop&_v=1500&sw=1920&sh=1080&sid=0b7c2f0e-1111-4222-8333-444455556666&ref=aHR0cHM6Ly93d3cuZ29vZ2xlLmNvbS8", nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	req.Header.Set("Accept-Language", "en-US,en;q=0.9")
	req.Header.Set("Sec-Ch-Ua", `"Chromium";v="131"`)
	// Many client IPs, as in real traffic: one IP and UA sending every
	// beacon would trip the burst signal after 15.
	peers := make([]Peer, 1<<16)
	for i := range peers {
		peers[i] = NewPeer(fmt.Sprintf("10.%d.%d.7", i>>8, i&255), false)
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		tr.ServeBeacon(rec, req, peers[i&(len(peers)-1)])
		i++
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
