package handlers

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/scoring"
)

// outcomes counts beacon outcomes.
type outcomes map[string]int

func (o outcomes) Beacon(outcome string) { o[outcome]++ }
func (outcomes) Events(string, int)      {}

const heldQuery = "p=L2E&s=shop&_v=1500&sw=1920&sh=1080&sid=0b7c2f0e-1111-4222-8333-444455556666"

func heldTracking(now *time.Time, sink *memSink, seen outcomes) *Tracking {
	return &Tracking{
		Config:      &Config{},
		Sink:        sink,
		Salts:       fixedSalt{},
		Rules:       &scoring.Rules{},
		Observe:     seen,
		Now:         func() time.Time { return *now },
		HoldBeacons: 4,
	}
}

func sendHeld(t *testing.T, tr *Tracking, query string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", "/b.gif?"+query, nil)
	r.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	w := httptest.NewRecorder()
	tr.ServeBeacon(w, r, NewPeer("192.0.2.1", false))
	if w.Code != 200 || w.Body.String() != string(pixel) || w.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("answer %d %q %v, want the pixel with CORS", w.Code, w.Body.String(), w.Header())
	}
	return w
}

// Held beacons get their pixel at once and are processed when the batch
// is full or ProcessHeld runs, each with its arrival time; cookie mode and
// an over-long query or User-Agent are processed before their answer; an event batch
// processes the held pageviews before its events; after StopHolding
// nothing is held.
func TestHoldBeacons_AnsweredFirstProcessedTogether(t *testing.T) {
	day := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	now := day
	sink, seen := &memSink{}, outcomes{}
	tr := heldTracking(&now, sink, seen)

	for range 3 {
		sendHeld(t, tr, heldQuery)
	}
	if len(sink.views) != 0 || seen[OutcomeStored] != 0 {
		t.Fatalf("%d views stored, outcomes %v, want 3 beacons held", len(sink.views), seen)
	}
	now = day.Add(48 * time.Hour)
	sendHeld(t, tr, heldQuery) // the fourth fills the batch
	if len(sink.views) != 4 || seen[OutcomeStored] != 4 {
		t.Fatalf("%d views stored, outcomes %v, want the full batch of 4", len(sink.views), seen)
	}
	for i, v := range sink.views {
		want := day
		if i == 3 {
			want = now
		}
		if !v.CreatedAt.Equal(want) || v.Path != "/a" || v.SiteID != "shop" {
			t.Errorf("view %d: %v %s %s, want its arrival %v on /a of shop", i, v.CreatedAt, v.Path, v.SiteID, want)
		}
	}

	sendHeld(t, tr, heldQuery)
	tr.ProcessHeld()
	if len(sink.views) != 5 {
		t.Fatalf("%d views after ProcessHeld, want 5", len(sink.views))
	}

	w := sendHeld(t, tr, heldQuery+"&ck=1")
	if len(sink.views) != 6 || !strings.HasPrefix(w.Header().Get("Set-Cookie"), "_ev=") {
		t.Errorf("cookie mode: %d views, Set-Cookie %q; want it processed before its answer, which sets _ev", len(sink.views), w.Header().Get("Set-Cookie"))
	}
	sendHeld(t, tr, heldQuery+"&x="+strings.Repeat("a", maxSharedQuery))
	if len(sink.views) != 7 {
		t.Errorf("%d views, want the over-long query processed before its answer", len(sink.views))
	}
	r := httptest.NewRequest("GET", "/b.gif?"+heldQuery, nil)
	r.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 "+strings.Repeat("x", maxCachedUA))
	tr.ServeBeacon(httptest.NewRecorder(), r, NewPeer("192.0.2.1", false))
	if len(sink.views) != 8 {
		t.Errorf("%d views, want the over-long User-Agent processed before its answer", len(sink.views))
	}

	sendHeld(t, tr, heldQuery)
	body := `{"siteId":"shop","events":[{"type":"click","sessionId":"0b7c2f0e-1111-4222-8333-444455556666"}]}`
	r = httptest.NewRequest("POST", "/e", strings.NewReader(body))
	r.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	ew := httptest.NewRecorder()
	tr.ServeEvents(ew, r, NewPeer("192.0.2.1", false))
	if ew.Code != http.StatusNoContent || len(sink.views) != 9 || len(sink.events) != 1 {
		t.Errorf("event batch: %d, %d views, %d events; want the held pageview processed before the event", ew.Code, len(sink.views), len(sink.events))
	}

	sendHeld(t, tr, heldQuery)
	tr.StopHolding()
	if len(sink.views) != 10 {
		t.Fatalf("%d views after StopHolding, want the held one processed", len(sink.views))
	}
	sendHeld(t, tr, heldQuery)
	if len(sink.views) != 11 {
		t.Errorf("%d views, want a beacon after StopHolding processed before its answer", len(sink.views))
	}
}

// What a held beacon keeps is bounded whatever the request: a batch
// takes at most twice its size (the rest is processed before its answer),
// no long header value is kept, and the batch arrays are reused.
func TestHoldBeacons_Bounded(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	tr := heldTracking(&now, &memSink{}, outcomes{})
	r := httptest.NewRequest("GET", "/b.gif?"+heldQuery, nil)
	r.Header.Set("Sec-Fetch-Dest", strings.Repeat("image", 2000))
	r.Header.Set("Accept-Language", strings.Repeat("fi-FI,", 2000))
	h := tr.holdBeacon(r, tr.uaInfo(""), 0, NewPeer("192.0.2.1", false))
	if len(h.in.FetchDest) > maxFetchDest || h.lang != 0 {
		t.Errorf("held Sec-Fetch-Dest of %d bytes, language hash %x (no correlator): want it clipped to %d", len(h.in.FetchDest), h.lang, maxFetchDest)
	}
	var bb beaconBatch
	for i := range 4 {
		if held, full := bb.hold(&h, 2); !held || full != (i >= 1) {
			t.Fatalf("hold %d: held %v full %v", i, held, full)
		}
	}
	if held, _ := bb.hold(&h, 2); held {
		t.Error("a batch of size 2 took a fifth beacon; want at most 4 held")
	}
	if held, _ := new(beaconBatch).hold(&h, 0); held {
		t.Error("size 0 held a beacon; want each processed before its answer")
	}
	// Batch after batch, the arrays are reused: holding costs no
	// allocation once the first batch is processed.
	var cycle beaconBatch
	allocs := testing.AllocsPerRun(100, func() {
		for range 4 {
			cycle.hold(&h, 4)
		}
		cycle.giveBack(cycle.take())
	})
	if allocs != 0 {
		t.Errorf("%v allocations per batch of 4, want the arrays reused", allocs)
	}
}
