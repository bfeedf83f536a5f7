package handlers

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/anonymize"
	"github.com/echelon-analytics/caddy-echelon/scoring"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

type memSink struct {
	views  []storage.View
	events []storage.Event
}

func (s *memSink) AddView(v storage.View) bool   { s.views = append(s.views, v); return true }
func (s *memSink) AddEvent(e storage.Event) bool { s.events = append(s.events, e); return true }

type fixedSalt struct{}

func (fixedSalt) DailySalt(time.Time) ([]byte, error) { return []byte("0123456789abcdef"), nil }

type excludedSet map[string]bool

func (e excludedSet) IsExcluded(id string) bool { return e[id] }

// anonTracking is a Tracking whose clock the test sets, anonymizing "anon".
func anonTracking(now *time.Time, sink *memSink, excluded excludedSet) *Tracking {
	return &Tracking{
		Config:   &Config{AnonymizeSites: map[string]bool{"anon": true}},
		Anon:     anonymize.New([]byte("s3cret")),
		Sink:     sink,
		Salts:    fixedSalt{},
		Rules:    &scoring.Rules{},
		Observe:  nopObserver{},
		Excluded: excluded,
		Now:      func() time.Time { return *now },
	}
}

const anonQuery = "p=L3F1YXJ0ZXJseS9yZXBvcnQ&_v=1500&sw=1920&sh=1080&sid=0b7c2f0e-1111-4222-8333-444455556666" +
	"&ref=aHR0cHM6Ly9uZXdzLmV4YW1wbGUub3JnL2E" // p=/quarterly/report, ref=https://news.example.org/a

func sendAnonBeacon(t *testing.T, tr *Tracking, site string) {
	t.Helper()
	r := httptest.NewRequest("GET", "/b.gif?"+anonQuery+"&s="+site, nil)
	r.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	r.AddCookie(&http.Cookie{Name: "_ev", Value: "c0ffee00deadbeef"})
	r.Header.Set("X-Country-Code", "FI")
	tr.Config.TrustGeoHeaders = true
	tr.ServeBeacon(httptest.NewRecorder(), r, NewPeer("192.0.2.1", false))
}

// The same visitor on the same UTC day gets the same stand-ins, on the
// next day different ones; a site not in the list is stored as it came.
func TestAnonymize_SameDaySameStandInsNextDayOthers(t *testing.T) {
	now := time.Date(2026, 12, 3, 0, 0, 1, 0, time.UTC)
	sink := &memSink{}
	tr := anonTracking(&now, sink, nil)
	sendAnonBeacon(t, tr, "anon")
	now = now.Add(23*time.Hour + 59*time.Minute) // 23:59:01, the same day
	sendAnonBeacon(t, tr, "ANON")
	now = now.Add(2 * time.Minute) // 00:01:01 the next day
	sendAnonBeacon(t, tr, "anon")
	sendAnonBeacon(t, tr, "plain")
	if len(sink.views) != 4 {
		t.Fatalf("stored %d views, want 4", len(sink.views))
	}
	fields := func(v storage.View) []string {
		return []string{v.VisitorID, v.SessionID, v.Path, v.CountryCode, v.OSName, v.BrowserName, v.BrowserVersion, v.Referrer}
	}
	day1, again, day2, plain := fields(sink.views[0]), fields(sink.views[1]), fields(sink.views[2]), fields(sink.views[3])
	real := []string{"c0ffee00deadbeef", "0b7c2f0e-1111-4222-8333-444455556666", "/quarterly/report", "FI", "Windows 10/11", "Chrome", "131.0.0.0", "https://news.example.org"}
	changed := 0
	for i := range day1 {
		if day1[i] == real[i] || day2[i] == real[i] || day1[i] == "" {
			t.Errorf("field %d stored %q on day 1 and %q on day 2 for the real %q", i, day1[i], day2[i], real[i])
		}
		if again[i] != day1[i] {
			t.Errorf("field %d: %q, then %q later the same day", i, day1[i], again[i])
		}
		if day2[i] != day1[i] {
			changed++
		}
	}
	// Stand-ins come from short lists and may repeat by chance; the ids do not.
	if day2[0] == day1[0] || day2[7] == day1[7] || changed < 5 {
		t.Errorf("day 2 %q vs day 1 %q: want new stand-ins", day2, day1)
	}
	if strings.Join(plain, "|") != strings.Join(real, "|") || sink.views[3].ScreenWidth != 1920 || sink.views[3].DeviceType != "desktop" {
		t.Errorf("site not in the list stored %q", plain)
	}
	if v := sink.views[0]; anonymize.TerminalName(v.ScreenWidth, v.ScreenHeight) == "" || v.DeviceType != "mothership" {
		t.Errorf("anonymized screen %dx%d, device %q", v.ScreenWidth, v.ScreenHeight, v.DeviceType)
	}
}

// An exclusion made from the dashboard names the stand-in it shows; it
// stops the visitor's hits for that day.
func TestAnonymize_ExclusionOfTheStandIn(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	standIn := anonymize.New([]byte("s3cret")).Day(now).VisitorID("c0ffee00deadbeef")
	for _, excluded := range []excludedSet{{}, {standIn: true}} {
		sink := &memSink{}
		tr := anonTracking(&now, sink, excluded)
		sendAnonBeacon(t, tr, "anon")
		r := httptest.NewRequest("POST", "/e", strings.NewReader(`{"siteId":"anon","events":[{"type":"click","data":{"tag":"A"}}]}`))
		r.AddCookie(&http.Cookie{Name: "_ev", Value: "c0ffee00deadbeef"})
		tr.ServeEvents(httptest.NewRecorder(), r, NewPeer("192.0.2.1", false))
		want := 2
		if excluded[standIn] {
			want = 0
		}
		if got := len(sink.views) + len(sink.events); got != want {
			t.Errorf("exclusions %v: stored %d records, want %d", excluded, got, want)
		}
		if want == 2 && (sink.views[0].VisitorID != standIn || sink.events[0].VisitorID != standIn || sink.events[0].Data != `{"tag":"A"}`) {
			t.Errorf("stored %+v and %+v", sink.views[0], sink.events[0])
		}
	}
}
