package handlers

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

func TestDecodeB64_AcceptsBothAlphabetsAndRestoresPlus(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"L2E/Yj1j", "/a?b=c", true},
		{"L2E_Yj1j", "/a?b=c", true},           // URL-safe
		{"L2E/Yj1j+w==", "/a?b=c\uFFFD", true}, // padded, invalid UTF-8 byte replaced
		{"L2E/Yj1j w", "/a?b=c\uFFFD", true},   // '+' that became a space
		{"L8OkZ3U", "/ägu", true},              // unpadded UTF-8
		{"", "", false},
		{"!!!", "", false},
		{"L2E", "/a", true},
	}
	for _, c := range cases {
		got, ok := decodeB64(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("decodeB64(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestPercentDecodeLenient_KeepsMalformedEscapes(t *testing.T) {
	cases := map[string]string{
		"/a%20b":      "/a b",
		"/100%":       "/100%",
		"/%zz%2":      "/%zz%2",
		"/%C3%A4":     "/ä",
		"/%FF":        "/\uFFFD",
		"/plain":      "/plain",
		"/%E6%97%A5%": "/日%",
		"/x?q=%2525":  "/x?q=%25",
	}
	for in, want := range cases {
		if got := percentDecodeLenient(in); got != want {
			t.Errorf("percentDecodeLenient(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseBeacon_InteractionBoundaries(t *testing.T) {
	for v, ok := range map[string]bool{"799": false, "800": true, "3600000": true, "3600001": false, "spa": true, "SPA": false, "": false, "1e3": false, "-900": false} {
		q := url.Values{"p": {"Lw"}, "_v": {v}}
		_, err := ParseBeacon(q.Encode())
		if (err == nil) != ok {
			t.Errorf("_v=%q: err %v, want ok=%v", v, err, ok)
		}
	}
}

func TestParseBeacon_ScreenAndSession(t *testing.T) {
	cases := []struct {
		sw, sh      string
		sent, valid bool
	}{
		{"", "", false, false},
		{"1920", "1080", true, true},
		{"10000", "1", true, true},
		{"10001", "1080", true, false},
		{"0", "1080", true, false},
		{"1920", "", true, false},
		{"NaN", "1080", true, false},
		{"1e3", "1080", true, false},
	}
	for _, c := range cases {
		q := url.Values{"p": {"Lw"}, "_v": {"900"}, "sw": {c.sw}, "sh": {c.sh}}
		b, err := ParseBeacon(q.Encode())
		if err != nil || b.ScreenSent != c.sent || b.ScreenValid != c.valid {
			t.Errorf("sw=%q sh=%q: sent %v valid %v err %v; want %v %v", c.sw, c.sh, b.ScreenSent, b.ScreenValid, err, c.sent, c.valid)
		}
	}
	for sid, ok := range map[string]bool{
		"0b7c2f0e-1111-4222-8333-444455556666": true,
		"0B7C2F0E-1111-4222-8333-444455556666": false,
		"0b7c2f0e-1111-4222-8333-44445555666":  false,
		"k3j4h5":                               false,
	} {
		b, _ := ParseBeacon(url.Values{"p": {"Lw"}, "_v": {"900"}, "sid": {sid}}.Encode())
		if (b.SessionID != "") != ok {
			t.Errorf("sid %q kept=%v, want %v", sid, b.SessionID != "", ok)
		}
	}
}

// FuzzParseBeacon feeds arbitrary query strings: the parser never panics,
// and whatever it accepts satisfies the stored-row invariants.
func FuzzParseBeacon(f *testing.F) {
	f.Add("p=L2E/Yj1j&s=shop&_v=1200&sw=1920&sh=1080&sid=0b7c2f0e-1111-4222-8333-444455556666&tok=abc")
	f.Add("p=L8OkZ3U&_v=spa&ref=aHR0cHM6Ly9nb29nbGUuY29tLw&uc=eA")
	f.Add("p=%%%&_v=&sw=NaN")
	f.Add("p=L2EA&_v=900&s=" + strings.Repeat("x", 100))
	f.Add("p=Lw&_v=1000&pv=w&wd=1&pv=j&wd=0")
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		b, err := ParseBeacon(q.Encode())
		if err != nil {
			return
		}
		if !strings.HasPrefix(b.Path, "/") || utf8.RuneCountInString(b.Path) > maxPathLen || !utf8.ValidString(b.Path) || hasControl(b.Path) {
			t.Fatalf("accepted bad path %q", b.Path)
		}
		if !storage.ValidSiteID(b.Site) {
			t.Fatalf("site %q", b.Site)
		}
		if b.Solver != "" && b.Solver != SolverWasm && b.Solver != SolverJS || b.Webdriver != (q.Get("wd") == "1") {
			t.Fatalf("solver %q webdriver %v from %q", b.Solver, b.Webdriver, raw)
		}
		if b.SessionID != "" && !validSessionID(b.SessionID) {
			t.Fatalf("session %q", b.SessionID)
		}
		if !b.SPA && (b.InteractionMS < minInteraction || b.InteractionMS > maxInteraction) {
			t.Fatalf("interaction %d", b.InteractionMS)
		}
		if b.ScreenValid && (b.ScreenWidth <= 0 || b.ScreenWidth > maxScreen || b.ScreenHeight <= 0 || b.ScreenHeight > maxScreen) {
			t.Fatalf("screen %dx%d", b.ScreenWidth, b.ScreenHeight)
		}
		for _, u := range []string{b.UTMSource, b.UTMMedium, b.UTMCampaign, b.UTMContent, b.UTMTerm, b.Referrer} {
			if !utf8.ValidString(u) || utf8.RuneCountInString(u) > 4096 {
				t.Fatalf("text field %q", u)
			}
		}
	})
}

// FuzzParseEvents feeds arbitrary bodies: never a panic, and accepted events
// hold only allowed types, valid JSON data within the cap, and at most 20.
func FuzzParseEvents(f *testing.F) {
	f.Add([]byte(`{"siteId":"s","tok":"t","events":[{"type":"click","data":{"a":1},"sessionId":"0b7c2f0e-1111-4222-8333-444455556666"}]}`))
	f.Add([]byte(`{"events":[null,1,"x",{"type":"custom","data":[1,2]},{"type":"web_vital","data":{"experiment_id":5}}]}`))
	f.Add([]byte(`{"events":5}`))
	f.Add([]byte(``))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := ParseEvents(body)
		if err != nil {
			return
		}
		if len(b.Events) > maxEventsPerReq {
			t.Fatalf("%d events", len(b.Events))
		}
		for _, e := range b.Events {
			if !eventTypes[e.Type] {
				t.Fatalf("type %q", e.Type)
			}
			limit := maxEventData
			if e.Type == "custom" {
				limit = maxCustomData
			}
			if !json.Valid([]byte(e.Data)) || utf8.RuneCountInString(e.Data) > limit {
				t.Fatalf("data %q", e.Data)
			}
			if e.SessionID != "" && !validSessionID(e.SessionID) {
				t.Fatalf("session %q", e.SessionID)
			}
			if utf8.RuneCountInString(e.ExperimentID) > maxExperimentID || utf8.RuneCountInString(e.VariantID) > maxExperimentID ||
				utf8.RuneCountInString(e.UTMCampaign) > maxUTMCampaign {
				t.Fatalf("ids %q %q %q", e.ExperimentID, e.VariantID, e.UTMCampaign)
			}
		}
	})
}

// TestParseEvents_CustomEventAtTheTrackLimitsIsKept builds the largest
// custom event echelon.track can send and checks the server keeps it.
func TestParseEvents_CustomEventAtTheTrackLimitsIsKept(t *testing.T) {
	data := map[string]string{"name": strings.Repeat("n", 128), "path": "/" + strings.Repeat("p", 2047)}
	for i := 0; i < 16; i++ {
		data[fmt.Sprintf("%064d", i)] = strings.Repeat("v", 512)
	}
	ev, _ := json.Marshal(map[string]any{"type": "custom", "data": data})
	body := `{"siteId":"s","tok":"","events":[` + string(ev) + `]}`
	if len(body) > maxEventBody {
		t.Fatalf("body %d B exceeds the 16 KB cap", len(body))
	}
	b, err := ParseEvents([]byte(body))
	if err != nil || len(b.Events) != 1 {
		t.Fatalf("largest custom event dropped: %v %+v", err, b)
	}
	ev2, _ := json.Marshal(map[string]any{"type": "click", "data": map[string]string{"x": strings.Repeat("v", 3000)}})
	if b, _ := ParseEvents([]byte(`{"events":[` + string(ev2) + `]}`)); len(b.Events) != 0 {
		t.Error("a 3 KB click event must still be skipped")
	}
}

// The tracker says in the body which solver made the token and whether
// navigator.webdriver is set; only a valid solver and a true wd count.
func TestParseEvents_SolverAndWebdriverFromTheBody(t *testing.T) {
	for _, c := range []struct {
		body   string
		solver string
		wd     bool
	}{
		{`{"siteId":"s","tok":"t","pv":"w","wd":1,"events":[]}`, SolverWasm, true},
		{`{"siteId":"s","tok":"t","pv":"j","events":[]}`, SolverJS, false},
		{`{"siteId":"s","pv":"x","wd":true,"events":[]}`, "", true},
		{`{"siteId":"s","wd":0,"events":[]}`, "", false},
		{`{"siteId":"s","wd":"yes","events":[]}`, "", false},
	} {
		b, err := ParseEvents([]byte(c.body))
		if err != nil || b.Solver != c.solver || b.Webdriver != c.wd {
			t.Errorf("ParseEvents(%s) = solver %q wd %v (%v), want %q %v", c.body, b.Solver, b.Webdriver, err, c.solver, c.wd)
		}
	}
}
