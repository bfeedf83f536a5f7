package storage

import (
	"testing"
)

// The decoders read bytes from disk that may be damaged: any input must
// give a record or an error, never a panic. Whatever decodes must survive
// an encode/decode cycle unchanged.

func FuzzDecodeView(f *testing.F) {
	full, empty := fullView(), View{}
	f.Add(EncodeView(nil, &full))
	f.Add(EncodeView(nil, &empty))
	f.Add([]byte{})
	f.Add([]byte{viewVersion, 0xff, 0xff, 0x3f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var v View
		if err := DecodeView(b, &v); err != nil {
			return
		}
		var again View
		if err := DecodeView(EncodeView(nil, &v), &again); err != nil {
			t.Fatalf("re-encoded view does not decode: %v", err)
		}
		if again != v {
			t.Fatalf("re-encode changed the view:\n got %+v\nwant %+v", again, v)
		}
	})
}

func FuzzDecodeEvent(f *testing.F) {
	full, empty := fullEvent(), Event{}
	f.Add(EncodeEvent(nil, &full))
	f.Add(EncodeEvent(nil, &empty))
	f.Add([]byte{})
	f.Add([]byte{eventVersion, 0xff, 0x7f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Event
		if err := DecodeEvent(b, &e); err != nil {
			return
		}
		var again Event
		if err := DecodeEvent(EncodeEvent(nil, &e), &again); err != nil {
			t.Fatalf("re-encoded event does not decode: %v", err)
		}
		if again != e {
			t.Fatalf("re-encode changed the event:\n got %+v\nwant %+v", again, e)
		}
	})
}

// FuzzViewRoundTrip checks decode(encode(v)) == v for views built from
// arbitrary strings and numbers, including ones that look almost like hex
// ids, UUIDs or common values.
func FuzzViewRoundTrip(f *testing.F) {
	f.Add("0f1e2d3c4b5a6978", "/", "3b241101-e2bb-4255-8caf-4136c566a962", "desktop", int64(1834), 1512, -1, byte(3))
	f.Add("", "", "", "", int64(0), 0, 0, byte(0))
	f.Add("ABCDEF", "/ä?x=1", "3b241101-e2bb-4255-8caf-4136c566a96", "{}", int64(-9), -7, 100, byte(1))
	f.Fuzz(func(t *testing.T, visitor, path, session, other string, ms int64, width, score int, flags byte) {
		in := View{
			VisitorID: visitor, Path: path, SessionID: session,
			DeviceType: other, OSName: other, Referrer: path, BotScoreDetail: other, UTMTerm: visitor,
			InteractionMS: ms, ScreenWidth: width, ScreenHeight: -width, BotScore: score,
			IsReturning: flags&1 != 0, IsPWA: flags&2 != 0,
		}
		var out View
		if err := DecodeView(EncodeView(nil, &in), &out); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if out != in {
			t.Fatalf("round trip:\n got %+v\nwant %+v", out, in)
		}
	})
}

func FuzzEventRoundTrip(f *testing.F) {
	f.Add("click", "0f1e2d3c4b5a6978", `{"click":"buy"}`, 23, -1, true)
	f.Add("", "", "", 0, 0, false)
	f.Fuzz(func(t *testing.T, typ, visitor, data string, hour, score int, returning bool) {
		in := Event{
			EventType: typ, VisitorID: visitor, SessionID: visitor, Data: data, ExperimentID: typ,
			VariantID: data, UTMCampaign: typ, DeviceType: typ, BotScoreDetail: data, Referrer: visitor,
			Hour: hour, Month: -hour, DayOfWeek: score, BotScore: score, IsReturning: returning,
		}
		var out Event
		if err := DecodeEvent(EncodeEvent(nil, &in), &out); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if out != in {
			t.Fatalf("round trip:\n got %+v\nwant %+v", out, in)
		}
	})
}
