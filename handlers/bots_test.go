package handlers

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseIntParam_LikeJavaScriptParseInt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		isOK bool
	}{
		{"25", 25, true},
		{"-3", -3, true},
		{"+7", 7, true},
		{" 12abc", 12, true},
		{"0", 0, true},
		{"abc", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{"99999999999999999999", 1e9, true},
	} {
		if n, ok := ParseIntParam(tc.in); n != tc.n || ok != tc.isOK {
			t.Errorf("ParseIntParam(%q) = %d %v, want %d %v", tc.in, n, ok, tc.n, tc.isOK)
		}
	}
}

func FuzzParseIntParam(f *testing.F) {
	for _, s := range []string{"25", "-1", " +0x10", "1e3", "", "NaN", "200", "99999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := ParseIntParam(s)
		if !ok && n != 0 {
			t.Fatalf("NaN with value %d", n)
		}
		if n > 1e9 || n < -1e9 {
			t.Fatalf("%d out of the clamp", n)
		}
	})
}

func TestParseExclude_CutsAndValidates(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes
	req, err := ParseExclude([]byte(`{"visitor_id":"` + long + `","label":"` + strings.Repeat("l", 300) + `"}`))
	if err != nil || len(req.VisitorID) != 128 || len(req.Label) != 256 || !req.HasLabel {
		t.Fatalf("%+v %v", req, err)
	}
	if req, err := ParseExclude([]byte(`{"visitor_id":"a","label":5}`)); err != nil || req.HasLabel {
		t.Fatalf("non-string label: %+v %v, want no label", req, err)
	}
	for _, bad := range []string{``, `null`, `{}`, `{"visitor_id":null}`, `{"visitor_id":""}`, `{"visitor_id":["a"]}`, `"a"`} {
		if _, err := ParseExclude([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func FuzzParseExclude(f *testing.F) {
	for _, s := range []string{`{"visitor_id":"abc"}`, `{"visitor_id":"abc","label":"x"}`, `{}`, `[]`, `{"visitor_id":"` + strings.Repeat("\u00e9", 70) + `"}`, `nul`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := ParseExclude(b)
		if err != nil {
			return
		}
		if req.VisitorID == "" || len(req.VisitorID) > 128 || len(req.Label) > 256 {
			t.Fatalf("%+v breaks the limits", req)
		}
		if utf8.ValidString(string(b)) && (!utf8.ValidString(req.VisitorID) || !utf8.ValidString(req.Label)) {
			t.Fatalf("cut split a character: %+v", req)
		}
	})
}
