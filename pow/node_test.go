package pow

import (
	"encoding/base64"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// nodeScript is the browser snippet of the package doc, run under Node's V8
// (Chromium's engine): it solves one prefix and prints "nonce hex".
const nodeScript = `
const [b64, prefix, d, start] = process.argv.slice(1);
WebAssembly.instantiate(Buffer.from(b64, "base64")).then(({instance}) => {
  const x = instance.exports, m = new Uint8Array(x.memory.buffer);
  const p = new TextEncoder().encode(prefix);
  m.set(p, 0);
  const n = x.search(0, p.length, 2048, +d, +start, -1) >>> 0;
  let h = ""; for (let i = 2048; i < 2064; i++) h += (m[i] | 256).toString(16).slice(1);
  console.log(n + " " + h);
});`

// The JS calling convention of the package doc works in V8, including
// nonces above 2^31 (start near the top, bounded end).
func TestSolverWasm_SearchFromJavaScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found: this test runs the tracker snippet under Node (.ci/run installs nodejs)")
	}
	v := newTestVerifier(t, "js", Config{Difficulty: 10})
	pz, err := v.Puzzle(t0)
	if err != nil {
		t.Fatal(err)
	}
	prefix := pz.Challenge + ":" + testSID + ":" + testSite + ":"
	for _, start := range []string{"0", "4294960000"} {
		out, err := exec.Command(node, "-e", nodeScript, pz.Module.Base64, prefix, "10", start).Output()
		if err != nil {
			t.Fatal(err)
		}
		nonce, hash, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
		tok := strconv.FormatInt(pz.Bucket, 10) + "." + nonce + "." + hash
		if got := v.verifyNow(tok, testSID, testSite, 10, t0); got != Valid {
			t.Fatalf("token from JS %q: %v", tok, got)
		}
		t.Log(tok)
	}
}

// BenchmarkNodeSearch reports V8's time per hash for d = 16 over 50 solves
// (one node process per benchmark iteration).
func BenchmarkNodeSearch(b *testing.B) {
	node, err := exec.LookPath("node")
	if err != nil {
		b.Fatal("node not found (apt-get install nodejs)")
	}
	p := ParamsFromSeed(seqSeed())
	script := `
const [b64] = process.argv.slice(1);
const x = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(b64, "base64"))).exports;
const m = new Uint8Array(x.memory.buffer), enc = new TextEncoder();
let hashes = 0, t = [];
for (let i = 0; i < 50; i++) {
  const p = enc.encode(i.toString(16).padStart(32, "0") + ":123e4567-e89b-42d3-a456-426614174000:my-site:");
  m.set(p, 0);
  const s = performance.now();
  hashes += (x.search(0, p.length, 2048, 16, 0, -1) >>> 0) + 1;
  t.push(performance.now() - s);
}
t.sort((a, b) => a - b);
console.log(hashes + " " + t.reduce((a, b) => a + b) + " " + t[25] + " " + t[47]);`
	var hashes, ms, p50, p95 float64
	for b.Loop() {
		out, err := exec.Command(node, "-e", script, base64.StdEncoding.EncodeToString(SolverWasm(&p))).Output()
		if err != nil {
			b.Fatal(err)
		}
		f := strings.Fields(string(out))
		h, _ := strconv.ParseFloat(f[0], 64)
		m, _ := strconv.ParseFloat(f[1], 64)
		a, _ := strconv.ParseFloat(f[2], 64)
		c, _ := strconv.ParseFloat(f[3], 64)
		hashes, ms, p50, p95 = hashes+h, ms+m, a, c
	}
	b.ReportMetric(float64(time.Duration(ms*float64(time.Millisecond)))/hashes, "ns/hash")
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p95, "p95-ms")
}
