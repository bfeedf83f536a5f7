package anonymize

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	day1 = time.Date(2026, 12, 3, 23, 59, 59, 0, time.UTC)
	day2 = time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
)

// The key is the secret followed by "echelon-anon-<UTC date>"; a visitor id
// is the first 16 hex digits of that HMAC.
func TestVisitorID_IsTheDaysHMAC(t *testing.T) {
	m := hmac.New(sha256.New, []byte("s3cret"+"echelon-anon-2026-12-03"))
	m.Write([]byte("0123456789abcdef"))
	want := hex.EncodeToString(m.Sum(nil))[:16]
	// 01:00 in Helsinki on the 4th is still the 3rd in UTC.
	helsinki := day1.In(time.FixedZone("EET", 2*3600))
	if got := New([]byte("s3cret")).Day(helsinki).VisitorID("0123456789abcdef"); got != want {
		t.Errorf("VisitorID = %s, want %s", got, want)
	}
}

// Every mapping: the same input on the same day gives the same output, on
// the next day (or under another secret) a different one for at least
// some inputs, and the stand-in never is the input.
func TestMappings_StableWithinADayDifferentTheNext(t *testing.T) {
	a, other := New([]byte("s3cret")), New([]byte("another"))
	inputs := []string{"FI", "Chrome", "Windows", "131.0", "/blog/hello-world", "https://news.example.org",
		"spring-sale", "0123456789abcdef", "0b7c2f0e-1111-4222-8333-444455556666", "exp-1", "Hunter2 secret!"}
	mappings := map[string]func(*Day, string) string{
		"visitor": (*Day).VisitorID, "session": (*Day).SessionID, "country": (*Day).Country, "os": (*Day).OS,
		"browser": (*Day).Browser, "version": (*Day).Version, "referrer": (*Day).Referrer, "path": (*Day).Path,
		"utm": (*Day).UTM, "experiment": (*Day).Experiment, "variant": (*Day).Variant, "form value": (*Day).FormValue,
		"screen": func(d *Day, s string) string {
			c, r := d.Screen(len(s)*100, len(s)*10)
			return strconv.Itoa(c) + "x" + strconv.Itoa(r)
		},
	}
	for name, fn := range mappings {
		changed, keyed := 0, 0
		for _, in := range inputs {
			first := fn(a.Day(day1), in)
			if again := fn(a.Day(day1.Add(-23*time.Hour)), in); again != first {
				t.Errorf("%s(%q): %q then %q on the same day", name, in, first, again)
			}
			if first == in {
				t.Errorf("%s(%q) kept the value", name, in)
			}
			if fn(a.Day(day2), in) != first {
				changed++
			}
			if fn(other.Day(day1), in) != first {
				keyed++
			}
		}
		// Small lists collide now and then; most inputs must move.
		if changed < len(inputs)/2 || keyed < len(inputs)/2 {
			t.Errorf("%s: %d of %d inputs changed the next day, %d under another secret", name, changed, len(inputs), keyed)
		}
	}
}

func TestMappings_Shapes(t *testing.T) {
	d := New([]byte("s3cret")).Day(day1)
	checks := []struct {
		name, got string
		re        string
	}{
		{"visitor", d.VisitorID("0123456789abcdef"), `^[0-9a-f]{16}$`},
		{"browser", d.Browser("Chrome"), `^(` + strings.Join(mammals[:], "|") + `)(` + strings.Join(bodyParts[:], "|") + `)$`},
		{"version", d.Version("131.0.6778.86"), `^([1-9]|[1-9][0-9]|1[0-4][0-9]|150)\.[0-9]$`},
		{"referrer", d.Referrer("https://news.example.org"), `^https://nsa-intranet\.gov/ops/(` + strings.Join(surveillance[:], "|") + `)-[0-9a-f]{4}$`},
		{"experiment", d.Experiment("exp-1"), `^experiment-[0-9a-f]{8}$`},
		{"variant", d.Variant("b"), `^variant-[0-9a-f]{8}$`},
		{"path", d.Path("/blog//2026/hello/"), `^/(` + strings.Join(operations[:], "|") + `)//(` + strings.Join(operations[:], "|") + `)/(` + strings.Join(operations[:], "|") + `)/$`},
		{"form value", d.FormValue("Ab9 x-é"), `^[A-Z][a-z][0-9] [a-z]-[a-z]$`},
	}
	for _, c := range checks {
		if !regexp.MustCompile(c.re).MatchString(c.got) {
			t.Errorf("%s = %q, want %s", c.name, c.got, c.re)
		}
	}
	for list, got := range map[string]string{"fishermen": d.SessionID("x"), "exoplanets": d.Country("FI"), "birds": d.OS("Windows"), "operations": d.UTM("spring")} {
		all := map[string][]string{"fishermen": fishermen[:], "exoplanets": exoplanets[:], "birds": birds[:], "operations": operations[:]}[list]
		if !slices.Contains(all, got) {
			t.Errorf("%q is not one of the %s", got, list)
		}
	}
	if c, r := d.Screen(1920, 1080); TerminalName(c, r) == "" {
		t.Errorf("screen 1920x1080 mapped to %dx%d, not a terminal", c, r)
	}
	if c, r := d.Screen(0, 0); c != 0 || r != 0 {
		t.Errorf("no screen mapped to %dx%d", c, r)
	}
	for in, want := range map[string]string{"desktop": "mothership", "tablet": "shuttle", "mobile": "probe", "tv": "unknown-vessel", "": ""} {
		if got := d.Device(in); got != want {
			t.Errorf("Device(%q) = %q, want %q", in, got, want)
		}
	}
	for name, fn := range map[string]func(string) string{"visitor": d.VisitorID, "session": d.SessionID, "referrer": d.Referrer, "path": d.Path, "utm": d.UTM, "version": d.Version} {
		if got := fn(""); got != "" {
			t.Errorf("%s(\"\") = %q: a missing value must stay missing", name, got)
		}
	}
	if got := d.Path("/"); got != "/" {
		t.Errorf("Path(/) = %q", got)
	}
}

func TestEventData_KeepsOnlyTheListedKeys(t *testing.T) {
	d := New([]byte("s3cret")).Day(day1)
	cases := []struct{ typ, in, keys string }{
		{"form_blur", `{"tag":"input","field_name":"email","value":"Jane.Doe42@example.org","value_length":22,"secret":"x","path":"/signup/step-2"}`, "field_name,path,tag,value,value_length"},
		{"scroll_depth", `{"depth":75,"path":"/blog/post","selector":"#x"}`, "depth,path"},
		{"outbound", `{"host":"partner.example","href":"https://partner.example/?ref=me"}`, "host"},
		{"custom", `{"name":"signup","plan":"pro","path":"/pricing"}`, ""},
		{"experiment_exposure", `{"experiment_id":"exp-1"}`, ""},
		{"click", `not json`, ""},
		{"click", `["tag"]`, ""},
	}
	for _, c := range cases {
		out := d.EventData(c.typ, c.in)
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("%s: %q is not a JSON object", c.typ, out)
		}
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if strings.Join(keys, ",") != c.keys {
			t.Errorf("%s %s kept %v, want %s", c.typ, c.in, keys, c.keys)
		}
		for _, real := range []string{"Jane", "Doe", "example.org", "signup", "step-2", "blog", "ref=me"} {
			if strings.Contains(out, real) {
				t.Errorf("%s data %s still holds %q", c.typ, out, real)
			}
		}
		if p, ok := m["path"]; ok && p != d.Path(regexp.MustCompile(`"path":"([^"]*)"`).FindStringSubmatch(c.in)[1]) {
			t.Errorf("%s path %v is not the day's path mapping", c.typ, p)
		}
	}
	blur := d.EventData("form_blur", `{"value":"Jane.Doe42@example.org","value_length":22}`)
	if !strings.Contains(blur, `"value":"`+d.FormValue("Jane.Doe42@example.org")+`"`) || !strings.Contains(blur, `"value_length":22`) {
		t.Errorf("form_blur data %s", blur)
	}
	if got := d.EventData("click", `{"tag":"a","path":{"nested":"/real/path"}}`); strings.Contains(got, "real") {
		t.Errorf("a non-string path slipped through: %s", got)
	}
	if got := d.EventData("click", ""); got != "" {
		t.Errorf("no data became %q", got)
	}
}

func FuzzEventData(f *testing.F) {
	f.Add("form_blur", `{"value":"Ab9 é","path":"/a/b","tag":"input"}`)
	f.Add("click", `{"tag":"a","path":null}`)
	f.Add("custom", `{"name":"x"}`)
	f.Add("scroll_depth", `{"depth":1e999}`)
	d := New([]byte("fuzz")).Day(day1)
	f.Fuzz(func(t *testing.T, typ, data string) {
		out := d.EventData(typ, data)
		if data != "" && !json.Valid([]byte(out)) {
			t.Fatalf("EventData(%q, %q) = %q, not JSON", typ, data, out)
		}
		_ = d.Path(data)
		_ = d.FormValue(data)
	})
}

func BenchmarkView(b *testing.B) {
	a := New([]byte("bench-secret"))
	b.ReportAllocs()
	for b.Loop() {
		d := a.Day(day1)
		_ = d.VisitorID("0123456789abcdef")
		_ = d.SessionID("0b7c2f0e-1111-4222-8333-444455556666")
		_ = d.Path("/blog/2026/hello")
		_ = d.Country("FI")
		_, _ = d.Screen(1920, 1080)
		_ = d.OS("Windows")
		_ = d.Browser("Chrome")
		_ = d.Version("131")
		_ = d.Referrer("https://news.example.org")
	}
}
