package tracker

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/pow"
)

// solveCase is one search for the Node runner below.
type solveCase struct {
	Wasm   string `json:"wasm"`
	Key    string `json:"key"`
	Prefix string `json:"prefix"`
	Bits   int    `json:"bits"`
	Start  uint32 `json:"start"`
}

type solveResult struct {
	N      uint32 `json:"n"`
	Hash   string `json:"h"`
	Solver string `json:"s"`
}

// nodeRunner runs solve.js's search once per case under Node (V8, the
// engine of Chromium) and prints the results as JSON. With NO_WASM set, it
// deletes WebAssembly first, as a browser without it.
const nodeRunner = `
const fs = require("fs");
const cases = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
if (process.env.NO_WASM) delete globalThis.WebAssembly;
eval(fs.readFileSync(process.argv[3], "utf8"));
const out = [];
let left = cases.length;
cases.forEach((c, i) => search(c.wasm, c.key, c.prefix, c.bits, c.start, 0, (n, h, s) => {
  out[i] = {n, h, s};
  if (--left === 0) console.log(JSON.stringify(out));
}));`

// runSolve runs cases under Node and returns one result per case.
func runSolve(t *testing.T, cases []solveCase, noWasm bool) []solveResult {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found: this test runs solve.js under Node (.ci/run installs nodejs)")
	}
	dir := t.TempDir()
	in, _ := json.Marshal(cases)
	files := map[string][]byte{"cases.json": in, "run.js": []byte(nodeRunner)}
	src, err := os.ReadFile("solve.js")
	if err != nil {
		t.Fatal(err)
	}
	files["solve.js"] = src
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(node, filepath.Join(dir, "run.js"), filepath.Join(dir, "cases.json"), filepath.Join(dir, "solve.js"))
	cmd.Env = append(os.Environ(), "NO_WASM=")
	if noWasm {
		cmd.Env = append(cmd.Env, "NO_WASM=1")
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var res []solveResult
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(cases) {
		t.Fatalf("node printed %q (%v), want %d results", out, err, len(cases))
	}
	return res
}

// paramSets are the constants the solvers are checked with: the module
// constants of a few epochs of a secret, plus rotations at the edges of
// what the JavaScript twin handles differently (below, at and above 32).
func paramSets() []pow.Params {
	var sets []pow.Params
	for e := int64(0); e < 3; e++ {
		sets = append(sets, pow.ParamsForEpoch([]byte("solve-test"), 82000+e))
	}
	edge := pow.ParamsForEpoch([]byte("edges"), 1)
	edge.R = [5]uint8{7, 32, 53, 31, 33}
	edge.M[1] = 0xffffffffffffffff // every addition carries
	return append(sets, edge)
}

// The JavaScript solver computes the Go hash: for prefixes of every length
// modulo 8 (one, many whole blocks before the nonce), non-ASCII text, and
// nonces of every digit count up to 2^32 − 1, the hash of prefix+nonce is
// pow.Hash's, and a search finds the nonce pow.Solve finds.
func TestSearch_JavaScriptMatchesGoHash(t *testing.T) {
	var cases []solveCase
	type want struct {
		n uint32
		h [16]byte
	}
	var wants []want
	for _, p := range paramSets() {
		key := p.Hex()
		prefixes := []string{"", "x", "ü:"}
		for n := 3; n <= 90; n += 7 {
			prefixes = append(prefixes, strings.Repeat("abcdefghij", 9)[:n])
		}
		for i, prefix := range prefixes {
			for _, start := range []uint32{0, 9, 99, 123456789, 2147483647, 2147483648, 4294967295} {
				cases = append(cases, solveCase{Key: key, Prefix: prefix, Start: start})
				wants = append(wants, want{start, pow.Hash(&p, []byte(prefix+strconv.FormatUint(uint64(start), 10)))})
			}
			// A search that crosses digit counts (999999 → 1000000) and
			// one near the top of the range.
			for _, start := range []uint32{999000 + uint32(i), 4294960000} {
				n, h, ok := pow.Solve(&p, []byte(prefix), 9, start)
				if !ok {
					t.Fatalf("no 9-bit nonce after %d", start)
				}
				cases = append(cases, solveCase{Key: key, Prefix: prefix, Bits: 9, Start: start})
				wants = append(wants, want{n, h})
			}
		}
	}
	got := runSolve(t, cases, true)
	for i, c := range cases {
		w, g := wants[i], got[i]
		if g.Solver != "j" || g.N != w.n || g.Hash != hex.EncodeToString(w.h[:]) {
			t.Errorf("key %s prefix %q bits %d start %d: JS %d %s (%q), Go %d %x",
				c.Key[:8], c.Prefix, c.Bits, c.Start, g.N, g.Hash, g.Solver, w.n, w.h)
		}
	}
}

// With the module, the same searches run in WebAssembly ("w") and agree
// with the JavaScript twin nonce for nonce; a module that does not compile
// hands over to JavaScript; tokens from both verify.
func TestSearch_WebAssemblyAndJavaScriptAgree(t *testing.T) {
	v, err := pow.NewVerifier(pow.Config{Secret: []byte("solve-test"), Difficulty: 12})
	if err != nil {
		t.Fatal(err)
	}
	pz, err := v.Puzzle(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	const sid, site = "123e4567-e89b-42d3-a456-426614174000", "shop"
	prefix := pz.Challenge + ":" + sid + ":" + site + ":"
	key := pz.Module.Params.Hex()
	var cases []solveCase
	for _, start := range []uint32{0, 1 << 30, 3 << 30} {
		cases = append(cases, solveCase{Wasm: pz.Module.Base64, Key: key, Prefix: prefix, Bits: 12, Start: start})
	}
	broken := cases[0]
	broken.Wasm = "AGFzbQ==" // a header and nothing else
	withWasm := runSolve(t, append(cases, broken), false)
	withJS := runSolve(t, cases, true)
	for i, c := range cases {
		w, j := withWasm[i], withJS[i]
		if w.Solver != "w" || j.Solver != "j" || w.N != j.N || w.Hash != j.Hash {
			t.Errorf("start %d: WebAssembly %+v, JavaScript %+v; want the same nonce and hash", c.Start, w, j)
		}
		tok := pow.FormatToken(pz.Bucket, j.N, mustHash(t, j.Hash))
		if got := v.Check(tok, sid, site, "", 12, time.Now()); got != pow.Valid {
			t.Errorf("JavaScript token %s: %v", tok, got)
		}
	}
	if b := withWasm[len(cases)]; b.Solver != "j" || b.N != withJS[0].N {
		t.Errorf("a module that does not compile: %+v, want the JavaScript result %+v", b, withJS[0])
	}
}

func mustHash(t *testing.T, s string) [16]byte {
	t.Helper()
	var h [16]byte
	if b, err := hex.DecodeString(s); err != nil || len(b) != 16 {
		t.Fatalf("hash %q", s)
	} else {
		copy(h[:], b)
	}
	return h
}
