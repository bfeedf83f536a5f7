package handlers

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/anonymize"
	"github.com/echelon-analytics/caddy-echelon/geoip"
	"github.com/echelon-analytics/caddy-echelon/internal/geotest"
	"github.com/echelon-analytics/caddy-echelon/internal/testkit"
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
// (BenchmarkServeBeaconNoBotState). ns/op is the handler's time; cpu-ns/op
// is the whole process's CPU time per beacon, the writer's flushes, index
// merges and Badger included, which is what a beacon costs a server beside
// the HTTP layer:
//
//	go test ./handlers -run '^$' -bench 'ServeBeacon$' -benchtime 400000x
func BenchmarkServeBeacon(b *testing.B) { benchmarkServeBeacon(b, true, nil) }

func BenchmarkServeBeaconNoBotState(b *testing.B) { benchmarkServeBeacon(b, false, nil) }

// BenchmarkServeBeaconOptions is the beacon with a country database
// loaded, with anonymize_sites naming another site (what every other site
// pays for the option: nothing measurable), and with the beacon's own site
// anonymized.
func BenchmarkServeBeaconOptions(b *testing.B) {
	path := filepath.Join(b.TempDir(), "country.mmdb")
	nets := map[string]string{}
	for i := range 4096 {
		nets[fmt.Sprintf("10.%d.%d.0/20", i>>4, (i&15)<<4)] = [...]string{"FI", "SE", "DE", "US"}[i%4]
	}
	if err := geotest.Write(path, nets, geotest.GeoLite2); err != nil {
		b.Fatal(err)
	}
	db, err := geoip.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	anon := anonymize.New([]byte("bench-secret"))
	b.Run("geoip", func(b *testing.B) { benchmarkServeBeacon(b, true, func(t *Tracking) { t.Geo = db }) })
	b.Run("anonymize_other_site", func(b *testing.B) {
		benchmarkServeBeacon(b, true, func(t *Tracking) { t.Config.AnonymizeSites, t.Anon = map[string]bool{"blog": true}, anon })
	})
	b.Run("anonymized_site", func(b *testing.B) {
		benchmarkServeBeacon(b, true, func(t *Tracking) { t.Config.AnonymizeSites, t.Anon = map[string]bool{"shop": true}, anon })
	})
}

func benchmarkServeBeacon(b *testing.B, botState bool, setup func(*Tracking)) {
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
	if setup != nil {
		setup(tr)
	}
	req := httptest.NewRequest("GET", "/b.gif?p=L2Jsb2cvcG9zdD9xPTE&s=shop&_v=1500&sw=1920&sh=1080&sid=0b7c2f0e-1111-4222-8333-444455556666&ref=aHR0cHM6Ly93d3cuZ29vZ2xlLmNvbS8", nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	req.Header.Set("Accept-Language", "en-US,en;q=0.9")
	req.Header.Set("Sec-Ch-Ua", `"Chromium";v="131"`)
	// Many client IPs, as in real traffic (and as many as bench/beacon
	// sends from): one IP and UA sending every beacon would trip the burst
	// signal after 15.
	peers := make([]Peer, 1<<14)
	for i := range peers {
		peers[i] = NewPeer(fmt.Sprintf("10.%d.%d.7", i>>8, i&255), false)
	}
	i := 0
	b.ReportAllocs()
	cpu := testkit.ProcessCPU()
	for b.Loop() {
		rec := httptest.NewRecorder()
		tr.ServeBeacon(rec, req, peers[i&(len(peers)-1)])
		i++
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
	// The writer's share (blocks, counters, index, Badger) is in the
	// process CPU time, with what is still buffered flushed.
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(testkit.ProcessCPU()-cpu)/float64(b.N), "cpu-ns/op")
}
