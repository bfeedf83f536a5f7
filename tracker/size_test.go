package tracker

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/pow"
)

// gzipBudget is the size limit for ea.js including the module
// (docs/performance.md, Proof of work).
const gzipBudget = 6 * 1024

// A plain site's ea.js, with the module and the JavaScript solver, stays
// within the budget for the modules of 64 epochs (the module's length
// varies by a few bytes with its constants).
func TestScript_SizeWithModuleWithinBudget(t *testing.T) {
	v, err := pow.NewVerifier(pow.Config{Secret: []byte("size-test")})
	if err != nil {
		t.Fatal(err)
	}
	pz, err := v.Puzzle(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a := newAssembler(t)
	lo, hi, body := 1<<30, 0, 0
	var puzzle Puzzle
	for e := range int64(64) {
		p := pow.ParamsForEpoch([]byte("size-test"), pz.Module.Epoch+e)
		wasm := pow.SolverWasm(&p)
		puzzle = Puzzle{Challenge: pz.Challenge, Bucket: pz.Bucket + e, Epoch: pz.Module.Epoch + e,
			Wasm: base64.StdEncoding.EncodeToString(wasm), Params: p.Hex(), Difficulty: 14}
		s := a.Script(puzzle, Site{ID: "shop"}, nil)
		if bytes.Contains(s.Body, []byte("%%")) {
			t.Fatalf("a placeholder was left unfilled")
		}
		n := gzipSize(s.Body)
		lo, hi, body = min(lo, n), max(hi, n), len(s.Body)
	}
	t.Logf("module %d B (base64 %d B); plain site's ea.js %d B, gzipped %d-%d B over 64 epochs (budget %d B; Plausible 2.5 KB, GoatCounter 3.3 KB)",
		len(pz.Module.Wasm), len(pz.Module.Base64), body, lo, hi, gzipBudget)
	if hi > gzipBudget {
		t.Fatalf("ea.js gzipped is up to %d B, over the %d B budget", hi, gzipBudget)
	}
	// A site with the banner, its CSS, scrambling and two experiments gets
	// the code of all three and its data: over the budget, which is the
	// plain site's.
	full := a.Script(puzzle, Site{ID: "shop", Consent: true, Anon: true}, func() SiteData {
		return SiteData{ConsentCSS: ":host{background:#036}button{border-radius:4px}", Experiments: []Experiment{
			{ID: "checkout-button", AllocationPercent: 100, Variants: []Variant{{"control", 1}, {"green", 1}}},
			{ID: "pricing-copy", AllocationPercent: 50, Variants: []Variant{{"a", 2}, {"b", 1}, {"c", 1}}},
		}}
	})
	t.Logf("with consent CSS, anonymization and two experiments: %d B, gzipped %d B", len(full.Body), gzipSize(full.Body))
}

// A site's script carries the code of the features it uses, and only
// those.
func TestAssembler_LeavesOutUnusedFeatures(t *testing.T) {
	a := newAssembler(t)
	pz := Puzzle{Challenge: "c0ffee", Bucket: 42, Wasm: "AGFzbQ==", Difficulty: 13}
	exp := func() SiteData {
		return SiteData{Experiments: []Experiment{{ID: "e1", AllocationPercent: 50, Variants: []Variant{{"a", 1}}}}}
	}
	marks := map[string]string{"banner": "echelon-consent", "scrambling": `[a-z\d]/gi`, "experiments": "experiment_exposure"}
	for _, c := range []struct {
		site Site
		data func() SiteData
		has  map[string]bool
	}{
		{Site{ID: "plain"}, nil, map[string]bool{}},
		{Site{ID: "consent", Consent: true}, nil, map[string]bool{"banner": true}},
		{Site{ID: "anon", Anon: true}, nil, map[string]bool{"scrambling": true}},
		{Site{ID: "exp"}, exp, map[string]bool{"experiments": true}},
		{Site{ID: "all", Consent: true, Anon: true}, exp, map[string]bool{"banner": true, "scrambling": true, "experiments": true}},
	} {
		body := string(a.Script(pz, c.site, c.data).Body)
		for feature, mark := range marks {
			if strings.Contains(body, mark) != c.has[feature] {
				t.Errorf("%s: carries %s = %v, want %v", c.site.ID, feature, !c.has[feature], c.has[feature])
			}
		}
		if !strings.Contains(body, "experiment:") || !strings.Contains(body, "track:") {
			t.Errorf("%s: window.echelon lacks experiment or track", c.site.ID)
		}
	}
}

func gzipSize(b []byte) int {
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return gz.Len()
}

func TestAssembler_FillsPlaceholdersAndCachesPerPuzzle(t *testing.T) {
	a := newAssembler(t)
	pz := Puzzle{Challenge: "c0ffee", Bucket: 42, Epoch: 7, Wasm: "AGFzbQ==", Difficulty: 13}
	s1 := a.Script(pz, Site{ID: "a"}, nil)
	for _, want := range []string{`"c0ffee"`, `"AGFzbQ=="`, `"42"`, `"13"`, `"{}"`} {
		if !strings.Contains(string(s1.Body), want) {
			t.Errorf("script lacks %s", want)
		}
	}
	if s2 := a.Script(pz, Site{ID: "a"}, nil); &s2.Body[0] != &s1.Body[0] {
		t.Error("the same puzzle was assembled twice")
	}
	pz.Bucket = 43
	if s3 := a.Script(pz, Site{ID: "a"}, nil); s3.ETag == s1.ETag {
		t.Error("a new bucket must change the ETag")
	}
}

// A site's script embeds its data, is assembled once per settings version
// (the data loader runs once per version), and a new version, which the
// store makes on every experiment or consent CSS write, makes a new
// script.
func TestAssembler_SiteDataCachedPerVersion(t *testing.T) {
	a := newAssembler(t)
	pz := Puzzle{Challenge: "c0ffee", Bucket: 42, Wasm: "AGFzbQ==", Difficulty: 13}
	loads := 0
	css := `</script><b>"é\u2028` + "\u2028"
	data := func() SiteData {
		loads++
		return SiteData{ConsentCSS: css[:len(css)-(loads-1)*3], Experiments: []Experiment{{ID: "e1", AllocationPercent: 50, Variants: []Variant{{"a", 1}, {"b", 2.5}}}}}
	}
	site := Site{ID: "shop", Consent: true, Anon: true, Version: 1}
	s1 := a.Script(pz, site, data)
	a.Script(pz, site, data)
	if loads != 1 {
		t.Errorf("data loaded %d times for one version, want 1", loads)
	}
	// The embedded string is JSON inside a JS string literal.
	body := string(s1.Body)
	i := strings.Index(body, `"{\"`)
	if i < 0 {
		t.Fatalf("no site JSON in the script")
	}
	var lit string
	if err := json.NewDecoder(strings.NewReader(body[i:])).Decode(&lit); err != nil {
		t.Fatalf("site literal: %v", err)
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(lit), &cfg); err != nil {
		t.Fatalf("site JSON %q: %v", lit, err)
	}
	want := map[string]any{"c": 1.0, "a": 1.0, "css": css, "x": map[string]any{"e1": []any{50.0, []any{"a", 1.0}, []any{"b", 2.5}}}}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("site config %v, want %v", cfg, want)
	}
	if strings.Contains(body, "</script>") || strings.ContainsRune(body, 0x2028) {
		t.Errorf("the CSS is not escaped for a script: %s", body[i:i+120])
	}
	site.Version = 2
	if s2 := a.Script(pz, site, data); loads != 2 || s2.ETag == s1.ETag {
		t.Errorf("a new version: loads %d, same ETag %v; want a fresh assembly", loads, s2.ETag == s1.ETag)
	}
	if s3 := a.Script(pz, Site{ID: "other", Version: 2}, nil); strings.Contains(string(s3.Body), "e1") {
		t.Error("a script without data embeds another site's")
	}
}

func newAssembler(t *testing.T) *Assembler {
	t.Helper()
	a, err := NewAssembler()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestNewAssembler_MinifiesTheSource(t *testing.T) {
	a := newAssembler(t)
	full, source := a.src[allFeatures], readSource(t, "ea.js")
	if len(full) >= len(source)*2/3 {
		t.Errorf("minified %d B from %d B: expected at least a third smaller", len(full), len(source))
	}
	if bytes.Contains(full, []byte("// ")) {
		t.Error("comments survived minification")
	}
}
