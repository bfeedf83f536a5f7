package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// withoutKeyFields is what a value alone carries: the key holds the rest.
func viewWithoutKey(v View) View {
	v.ID, v.CreatedAt, v.SiteID = 0, time.Time{}, ""
	return v
}

func eventWithoutKey(e Event) Event {
	e.ID, e.CreatedAt, e.SiteID = 0, time.Time{}, ""
	return e
}

func TestViewCodec_RoundTrips(t *testing.T) {
	long := "/" + strings.Repeat("ä", 1023) + "x" // 2048 bytes
	if len(long) != 2048 {
		t.Fatalf("long path has %d bytes", len(long))
	}
	tests := []struct {
		name string
		edit func(*View)
	}{
		{"fully populated", func(*View) {}},
		{"empty", func(v *View) { *v = View{} }},
		{"unicode", func(v *View) {
			v.Path, v.Referrer, v.UTMTerm = "/日本語/ページ?q=ünïcødé🚀", "https://例え.jp", "café"
		}},
		{"2048-char path", func(v *View) { v.Path = long }},
		{"server-ingested score -1", func(v *View) { v.BotScore = -1 }},
		{"extreme numbers", func(v *View) {
			v.InteractionMS, v.ScreenWidth, v.ScreenHeight, v.BotScore = math.MaxInt64, math.MinInt64, -5, 100
		}},
		{"near-hex and near-uuid strings stay exact", func(v *View) {
			v.VisitorID = "0F1E2D3C4B5A6978"                     // upper case
			v.SessionID = "3B241101-E2BB-4255-8CAF-4136C566A962" // upper case
			v.Path = "abc"                                       // odd hex length
			v.UTMSource = "------------------------------------" // 36 chars, not a UUID
			v.UTMMedium = "3b241101e2bb-4255-8caf-4136c566a962-"
		}},
		{"common strings", func(v *View) {
			v.Path, v.DeviceType, v.Referrer, v.BrowserName, v.BotScoreDetail = "/", "tablet", "direct_or_unknown", "UC Browser", "{}"
		}},
		{"only flags", func(v *View) { *v = View{IsPWA: true} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := fullView()
			tt.edit(&in)
			b := EncodeView(nil, &in)
			var out View
			if err := DecodeView(b, &out); err != nil {
				t.Fatalf("DecodeView: %v", err)
			}
			if want := viewWithoutKey(in); out != want {
				t.Errorf("round trip:\n got %+v\nwant %+v", out, want)
			}
		})
	}
}

func TestEventCodec_RoundTrips(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Event)
	}{
		{"fully populated", func(*Event) {}},
		{"empty", func(e *Event) { *e = Event{} }},
		{"ingested", func(e *Event) {
			e.VisitorID, e.BotScore, e.BotScoreDetail, e.EventType = "", -1, `{"source":"api_ingest"}`, "checkout_started"
		}},
		{"unicode data", func(e *Event) { e.Data = `{"name":"Ünïcødé ✓","path":"/ß"}` }},
		{"midnight sunday january", func(e *Event) { e.Hour, e.DayOfWeek, e.Month = 0, 0, 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := fullEvent()
			tt.edit(&in)
			b := EncodeEvent(nil, &in)
			var out Event
			if err := DecodeEvent(b, &out); err != nil {
				t.Fatalf("DecodeEvent: %v", err)
			}
			if want := eventWithoutKey(in); out != want {
				t.Errorf("round trip:\n got %+v\nwant %+v", out, want)
			}
		})
	}
}

func TestDecodeView_KeepsKeyFieldsAndResetsTheRest(t *testing.T) {
	when := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	v := fullView()
	b := EncodeView(nil, &View{Path: "/only"})
	v.ID, v.CreatedAt, v.SiteID = 7, when, "site"
	if err := DecodeView(b, &v); err != nil {
		t.Fatal(err)
	}
	want := View{ID: 7, CreatedAt: when, SiteID: "site", Path: "/only"}
	if v != want {
		t.Errorf("got %+v, want %+v", v, want)
	}
}

func TestEncodeView_AppendsToDst(t *testing.T) {
	v := fullView()
	b := EncodeView([]byte("prefix"), &v)
	if !bytes.HasPrefix(b, []byte("prefix")) {
		t.Fatalf("dst not kept: %q", b[:6])
	}
	var out View
	if err := DecodeView(b[6:], &out); err != nil {
		t.Fatal(err)
	}
}

func TestEncodeView_PacksIDsAndCommonValues(t *testing.T) {
	// want is the size of the one field's token (header + body).
	tests := []struct {
		name string
		v    View
		want int
	}{
		{"16 hex visitor id in 8 bytes", View{VisitorID: "0f1e2d3c4b5a6978"}, 1 + 8},
		{"uuid session in 16 bytes", View{SessionID: "3b241101-e2bb-4255-8caf-4136c566a962"}, 1 + 16},
		{"device type in one byte", View{DeviceType: "desktop"}, 1},
		{"referrer class in one byte", View{Referrer: "direct_or_unknown"}, 1},
		{"raw path", View{Path: "/pricing"}, 1 + 8},
		{"empty fields cost nothing", View{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := EncodeView(nil, &tt.v)
			_, maskLen := binary.Uvarint(b[1:])
			if got := len(b) - 1 - maskLen; got != tt.want {
				t.Errorf("token takes %d bytes, want %d (value %x)", got, tt.want, b)
			}
		})
	}
}

func TestDecode_RejectsGarbage(t *testing.T) {
	v := fullView()
	valid := EncodeView(nil, &v)
	// A record whose first string (VisitorID) is the token tok.
	withToken := func(tok ...byte) []byte { return append([]byte{viewVersion, 1 << 6}, tok...) }
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"unknown version", append([]byte{99}, valid[1:]...)},
		{"version zero", append([]byte{0}, valid[1:]...)},
		{"trailing byte", append(append([]byte{}, valid...), 0)},
		{"unknown mask bit", []byte{viewVersion, 0x80, 0x80, 0x80, 0x40}},
		{"mask overflow", []byte{viewVersion, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"missing mask", []byte{viewVersion}},
		{"common index out of range", withToken(binary.AppendUvarint(nil, uint64(len(commonStrings))<<2|tokCommon)...)},
		{"uuid token with length", withToken(1<<2 | tokUUID)},
		{"short uuid", withToken(tokUUID, 1, 2, 3)},
		{"string longer than input", withToken(10<<2, 'a')},
		{"hex longer than input", withToken(10<<2|tokHex, 0xab)},
		{"huge length", withToken(0xfc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out View
			if err := DecodeView(tt.in, &out); err == nil {
				t.Fatalf("DecodeView(%x) = nil error, decoded %+v", tt.in, out)
			}
		})
	}
}

func TestDecode_AcceptsLastCommonString(t *testing.T) {
	last := uint64(len(commonStrings) - 1)
	b := append([]byte{viewVersion, 1 << 6}, binary.AppendUvarint(nil, last<<2|tokCommon)...)
	var v View
	if err := DecodeView(b, &v); err != nil {
		t.Fatal(err)
	}
	if v.VisitorID != commonStrings[last] {
		t.Errorf("VisitorID = %q", v.VisitorID)
	}
}

func TestDecode_RejectsEveryTruncation(t *testing.T) {
	v := fullView()
	vb := EncodeView(nil, &v)
	for n := range len(vb) {
		var out View
		if err := DecodeView(vb[:n], &out); err == nil {
			t.Errorf("view truncated to %d of %d bytes decoded", n, len(vb))
		}
	}
	e := fullEvent()
	eb := EncodeEvent(nil, &e)
	for n := range len(eb) {
		var out Event
		if err := DecodeEvent(eb[:n], &out); err == nil {
			t.Errorf("event truncated to %d of %d bytes decoded", n, len(eb))
		}
	}
}

func TestDecodeView_UnknownVersionIsNamed(t *testing.T) {
	err := DecodeView([]byte{2, 0}, new(View))
	if err == nil || !strings.Contains(err.Error(), "unknown version 2") {
		t.Fatalf("err = %v", err)
	}
	if errors.Is(err, errTruncated) {
		t.Errorf("version error reported as truncation")
	}
}

func TestLookupCommon_FindsEveryCommonStringAndNothingElse(t *testing.T) {
	for i, s := range commonStrings {
		if got, ok := lookupCommon(s); !ok || got != uint64(i) {
			t.Errorf("lookupCommon(%q) = %d, %v; want %d", s, got, ok, i)
		}
	}
	for _, s := range []string{"desktoP", "Chrome ", "x", "/a", "{ }", "search\x00", "Windows 10/12"} {
		if got, ok := lookupCommon(s); ok {
			t.Errorf("lookupCommon(%q) = %d, want not found", s, got)
		}
	}
}
