package e2e

// Solve times by solver and CPU speed at the default difficulty, measured
// in the browser: from ea.js's start to its token in sessionStorage
// (performance.now on both ends, through the page hook powHook), which
// includes decoding and compiling the module and starting the worker.

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// solveTimeLoads is how many page loads each figure is taken over.
const solveTimeLoads = 40

// The figures of docs/performance.md. The targets are, with WebAssembly,
// median ≤ 50 ms and p95 ≤ 150 ms (asserted by
// TestPoW_SolveTimeAtDefaultDifficulty; here only logged, as this test
// runs four figures in a row on a shared machine), and p95 ≤ 1 s on a 6×
// slower CPU, asserted here with twice the headroom measured. The
// JavaScript solver's figures are reported, not bounded.
func TestPoW_SolveTimeBySolver(t *testing.T) {
	startServer(t) // the default pow_difficulty
	browser := newPersonBrowser(t)
	for _, c := range []struct {
		name     string
		page     string
		cpu      float64
		solver   string
		p50, p95 float64 // bounds in ms, 0 for none
	}{
		{"WebAssembly", "/pow.html", 1, "w", 0, 0},
		{"JavaScript (CSP without 'wasm-unsafe-eval')", "/wasmcsp.html", 1, "j", 0, 0},
		{"WebAssembly, CPU 6x slower", "/pow.html", 6, "w", 0, 1000},
		{"JavaScript, CPU 6x slower", "/wasmcsp.html", 6, "j", 0, 0},
	} {
		tab, cancel := chromedp.NewContext(browser)
		if err := chromedp.Do(tab); err != nil {
			t.Fatal(err)
		}
		if err := throttleCPU(c.cpu)(tab); err != nil {
			t.Fatal(err)
		}
		fewest := 128
		ms := measureSolves(t, tab, origin+c.page, solveTimeLoads, func(tok string) {
			fewest = min(fewest, zeroBits(t, tok))
			if pv := eval[string](t, tab, `sessionStorage.getItem("_epv")`); pv != c.solver {
				t.Errorf("%s: solver %q, want %q", c.name, pv, c.solver)
			}
		})
		cancel()
		p50, p95 := percentile(ms, 50), percentile(ms, 95)
		t.Logf("%s: %d loads (fewest zero bits seen %d), solve median %.1f ms, p95 %.1f ms, max %.1f ms",
			c.name, solveTimeLoads, fewest, p50, p95, ms[len(ms)-1])
		if (c.p50 > 0 && p50 > c.p50) || (c.p95 > 0 && p95 > c.p95) {
			t.Errorf("%s: median %.1f ms, p95 %.1f ms; want at most %.0f and %.0f ms: %v", c.name, p50, p95, c.p50, c.p95, ms)
		}
	}
}
