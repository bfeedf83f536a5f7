package handlers

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"unsafe"
)

// inside reports whether s's bytes lie within outer's memory.
func inside(s, outer string) bool {
	if len(s) == 0 {
		return false
	}
	p, o := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(outer)))
	return p >= o && p < o+uintptr(len(outer))
}

// TestParseBeacon_LongQueryIsNotHeld: the strings a parsed beacon keeps
// (site, session, path, UTM values) do not point into a long query or into
// a longer decoded value, so a buffered record holds only what it stores.
func TestParseBeacon_LongQueryIsNotHeld(t *testing.T) {
	q := url.Values{}
	q.Set("p", base64.StdEncoding.EncodeToString([]byte("/"+strings.Repeat("a", 6000))))
	q.Set("s", "shop")
	q.Set("sid", "0b7c2f0e-1111-4222-8333-444455556666")
	q.Set("_v", "1500")
	q.Set("uc", base64.StdEncoding.EncodeToString([]byte(strings.Repeat("c", 3000))))
	q.Set("junk", strings.Repeat("j", 8<<10))
	raw := q.Encode()
	b, err := ParseBeacon(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Path) != maxPathLen || len(b.UTMCampaign) != maxUTMLen {
		t.Fatalf("path %d bytes, utm %d; want the caps %d and %d", len(b.Path), len(b.UTMCampaign), maxPathLen, maxUTMLen)
	}
	for name, s := range map[string]string{"site": b.Site, "session": b.SessionID} {
		if inside(s, raw) {
			t.Errorf("%s points into the %d-byte query", name, len(raw))
		}
	}
	if cut := truncateRunes(strings.Repeat("x", 100), 10); len(cut) != 10 {
		t.Fatalf("truncateRunes kept %d", len(cut))
	}
	long := strings.Repeat("y", 100)
	if inside(truncateRunes(long, 10), long) {
		t.Error("a cut string shares the longer one's memory")
	}

	short := beaconRaw("shop")
	if b, _ := ParseBeacon(short); !inside(b.Site, short) {
		t.Error("a short query's site was copied: a normal beacon should not allocate for it")
	}
}

func beaconRaw(site string) string {
	q := url.Values{}
	q.Set("p", base64.StdEncoding.EncodeToString([]byte("/")))
	q.Set("s", site)
	q.Set("_v", "1500")
	return q.Encode()
}
