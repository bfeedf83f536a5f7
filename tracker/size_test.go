package tracker

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/pow"
)

// gzipBudget is the limit for ea.js including the module.
const gzipBudget = 6 * 1024

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
	s := a.Script(Puzzle{Challenge: pz.Challenge, Bucket: pz.Bucket, Epoch: pz.Module.Source, Wasm: pz.Module.Base64, Difficulty: 16})
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(s.Body)
	zw.Close()
	t.Logf("module %d B (base64 %d B); ea.js %d B, gzipped %d B (budget %d B; Plausible 2.5 KB, GoatCounter 3.3 KB)",
		len(pz.Module.Wasm), len(pz.Module.Base64), len(s.Body), gz.Len(), gzipBudget)
	if gz.Len() > gzipBudget {
		t.Fatalf("ea.js gzipped is %d B, over the %d B budget", gz.Len(), gzipBudget)
	}
	if bytes.Contains(s.Body, []byte("%%")) {
		t.Errorf("a placeholder was left unfilled")
	}
}

func TestAssembler_FillsPlaceholdersAndCachesPerPuzzle(t *testing.T) {
	a := newAssembler(t)
	pz := Puzzle{Challenge: "c0ffee", Bucket: 42, Epoch: 7, Wasm: "AGFzbQ==", Difficulty: 13}
	s1 := a.Script(pz)
	for _, want := range []string{`"c0ffee"`, `"AGFzbQ=="`, `"42"`, `"13"`} {
		if !strings.Contains(string(s1.Body), want) {
			t.Errorf("script lacks %s", want)
		}
	}
	if s2 := a.Script(pz); &s2.Body[0] != &s1.Body[0] {
		t.Error("the same puzzle was assembled twice")
	}
	pz.Bucket = 43
	if s3 := a.Script(pz); s3.ETag == s1.ETag {
		t.Error("a new bucket must change the ETag")
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
	if len(a.src) >= len(source)*2/3 {
		t.Errorf("minified %d B from %d B: expected at least a third smaller", len(a.src), len(source))
	}
	if bytes.Contains(a.src, []byte("// ")) {
		t.Error("comments survived minification")
	}
}
