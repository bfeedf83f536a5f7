package handlers

import (
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParsePerfMetrics_CutsAndKeeps(t *testing.T) {
	long := strings.Repeat("é", 200)
	ms, err := ParsePerfMetrics([]byte(`[{"category":"` + long + `","metric":"m","value":-0.5,"unit":"` + long + `",
		"commit_hash":"` + strings.Repeat("a", 80) + `","branch":null,"metadata":{ "k" : [1, 2] }}]`))
	if err != nil {
		t.Fatal(err)
	}
	m := ms[0]
	if utf8.RuneCountInString(m.Category) != 128 || utf8.RuneCountInString(m.Unit) != 32 || !utf8.ValidString(m.Category) {
		t.Fatalf("cuts: %d %d", utf8.RuneCountInString(m.Category), utf8.RuneCountInString(m.Unit))
	}
	if m.CommitHash == nil || len(*m.CommitHash) != 64 || m.Branch != nil || m.Value != -0.5 {
		t.Fatalf("%+v", m)
	}
	if string(m.Metadata) != `{"k":[1,2]}` {
		t.Fatalf("metadata %s", m.Metadata)
	}
}

func TestQueryInt(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want int
	}{
		{"", 100}, {"0", 100}, {"abc", 100}, {"50", 50}, {"50abc", 50}, {"+7", 7}, {"-3", 1},
		{"5000", 1000}, {"99999999999999999999999", 1000}, {"-99999999999999999999999", 1}, {"1.9", 1},
	} {
		r := httptest.NewRequest("GET", "/?limit="+tc.raw, nil)
		if got := intParam(r.URL.Query(), "limit", 100, 1, 1000); got != tc.want {
			t.Errorf("limit=%q: %d; want %d", tc.raw, got, tc.want)
		}
	}
}

// FuzzParsePerfMetrics: any body is either refused or gives metrics within
// the documented limits; never a panic.
func FuzzParsePerfMetrics(f *testing.F) {
	for _, seed := range []string{
		`[{"category":"c","metric":"m","value":1,"unit":"u"}]`,
		`[{"category":"c","metric":"m","value":1e308,"unit":"u","metadata":{"a":[null,true,"x"]},"branch":"b","commit_hash":"h"}]`,
		`[]`, `{}`, `null`, `[null]`, `[1]`, `[{"value":NaN}]`, `[{"category":"\u0000","metric":"\ud800","value":0,"unit":"u"}]`,
		`[{"category":"c","metric":"m","value":1,"unit":"u"}] trailing`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ms, err := ParsePerfMetrics(body)
		if err != nil {
			return
		}
		if len(ms) > perfMaxItems {
			t.Fatalf("%d items", len(ms))
		}
		for _, m := range ms {
			if m.Category == "" || m.Metric == "" || m.Unit == "" ||
				utf8.RuneCountInString(m.Category) > 128 || utf8.RuneCountInString(m.Metric) > 128 || utf8.RuneCountInString(m.Unit) > 32 ||
				len(m.Metadata) > perfMaxMetadata || m.Value != m.Value {
				t.Fatalf("out of limits: %+v", m)
			}
		}
	})
}
