package sqliteimport

import (
	"encoding/json"
	"math"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseTime_TheOriginalsForms(t *testing.T) {
	want := time.Date(2026, 5, 1, 12, 30, 15, 123e6, time.UTC)
	for _, v := range []any{
		"2026-05-01T12:30:15.123Z", "2026-05-01 12:30:15.123", "2026-05-01T14:30:15.123+02:00", []byte("2026-05-01T12:30:15.123456Z"),
		int64(want.UnixMilli()), float64(want.UnixMilli()) / 1000, "1777638615.123",
	} {
		got, err := parseTime(v)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%#v) = %v, %v", v, got, err)
		}
	}
	for _, v := range []any{nil, "", "yesterday", "2026-13-01T00:00:00Z", int64(-5), math.NaN(), 1e300, true} {
		if got, err := parseTime(v); err == nil {
			t.Errorf("parseTime(%#v) = %v, want an error", v, got)
		}
	}
}

func TestJSONText_UnwrapsTheDoubleEncoding(t *testing.T) {
	for in, want := range map[string]string{
		`{"a": 1}`:          `{"a":1}`,
		`"{\"a\": [1, 2]}"`: `{"a":[1,2]}`,
		`"plain"`:           `"plain"`,
		`42`:                `42`,
		`{"a":`:             ``,
		``:                  ``,
	} {
		if got := jsonText(in, 100); got != want {
			t.Errorf("jsonText(%q) = %q, want %q", in, got, want)
		}
	}
	if got := jsonObject(`[1]`, 100); got != "" {
		t.Errorf("jsonObject of an array = %q", got)
	}
}

// FuzzRowValues feeds every converter text, numbers and bytes as SQLite may
// return them: none panics, and each result keeps its promise.
func FuzzRowValues(f *testing.F) {
	for _, s := range []string{"2026-05-01T12:30:15.123Z", "2026-05-01 12:30:15", "1777638615", `{"a":1}`, `"{\"b\":2}"`,
		"\xff\xfe", "9e999", "-1", "  12  ", "caf\u00e9"} {
		f.Add(s, int64(len(s)), float64(len(s))/3, 8)
	}
	f.Fuzz(func(t *testing.T, s string, n int64, x float64, max int) {
		max = max%4096 + 1
		if max <= 0 {
			max += 4096
		}
		for _, v := range []any{s, []byte(s), n, x, nil} {
			if tm, err := parseTime(v); err == nil && (tm.Location() != time.UTC || tm.Before(time.Unix(0, 0))) {
				t.Fatalf("parseTime(%#v) = %v", v, tm)
			}
			if got := text(v, max); len(got) > max || !utf8.ValidString(got) {
				t.Fatalf("text(%#v, %d) = %q", v, max, got)
			}
			_ = integer(v)
			if f, ok := number(v); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
				t.Fatalf("number(%#v) = %v", v, f)
			}
			if got := jsonText(v, max); got != "" && (len(got) > max || !json.Valid([]byte(got))) {
				t.Fatalf("jsonText(%#v, %d) = %q", v, max, got)
			}
			if got := jsonObject(v, max); got != "" && got[0] != '{' {
				t.Fatalf("jsonObject(%#v) = %q", v, got)
			}
		}
	})
}
