package e2e

// Proof of work through Caddy: the served ea.js (tracker.Assembler fills in
// the puzzle), the token on b.gif and what the stored view records.

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// The score detail the server stores (scoring.Result.DetailJSON) for a
// real browser with a valid token.
const (
	powValid = `{"pow":0,"pow_result":"valid"}`
)

// pageview loads path, waits past the 800 ms gate and the 1 s under which
// the timing signal scores, clicks and returns the beacon it sent.
func pageview(t *testing.T, ctx context.Context, path string) beacon {
	t.Helper()
	do(t, ctx, chromedp.Navigate(origin+path))
	trackerLoaded(t, ctx)
	time.Sleep(1100 * time.Millisecond)
	do(t, ctx, clickBody())
	return waitBeacons(t, ctx, 1)[0]
}

// oneView returns the only stored view.
func oneView(t *testing.T, srv *server) storage.View {
	t.Helper()
	views := srv.views()
	if len(views) != 1 {
		t.Fatalf("stored %d views, want 1: %+v", len(views), views)
	}
	return views[0]
}

func TestPoW_CSPBlockedWorkerStillValid(t *testing.T) {
	ctx := newTab(t)
	srv := startServer(t)

	b := pageview(t, ctx, "/csp.html")
	if got := eval[string](t, ctx, `window.cspBlocked || ""`); got != "worker-src" {
		t.Fatalf("CSP violation %q, want worker-src: the page did not block the worker", got)
	}
	if b.query(t).Get("tok") == "" {
		t.Fatal("beacon has no tok")
	}
	if v := oneView(t, srv); v.BotScore != 0 || v.BotScoreDetail != powValid {
		t.Errorf("bot_score = %d, detail %s; want 0 and %s", v.BotScore, v.BotScoreDetail, powValid)
	}
}

// WebAssembly deleted on the page: the page searches with the JavaScript
// solver, the worker (which has its own WebAssembly) with the module; the
// first token goes, either verifies.
func TestPoW_NoWebAssemblyStillValid(t *testing.T) {
	ctx := newTab(t)
	srv := startServer(t)

	b := pageview(t, ctx, "/nowasm.html")
	q := b.query(t)
	if q.Get("tok") == "" || (q.Get("pv") != "w" && q.Get("pv") != "j") {
		t.Errorf("beacon without WebAssembly: tok %q pv %q; want a token from either solver", q.Get("tok"), q.Get("pv"))
	}
	if v := oneView(t, srv); v.BotScore != 0 || v.BotScoreDetail != powValid {
		t.Errorf("bot_score = %d, detail %s; want 0 and %s", v.BotScore, v.BotScoreDetail, powValid)
	}
}

// A page CSP without 'wasm-unsafe-eval' blocks WebAssembly, and the blob
// worker too (script-src covers workers here): the page's JavaScript
// solver makes the token, which verifies.
func TestPoW_CSPWithoutWasmEvalSolvesInJavaScript(t *testing.T) {
	ctx := newTab(t)
	srv := startServer(t)

	b := pageview(t, ctx, "/wasmcsp.html")
	if q := b.query(t); q.Get("tok") == "" || q.Get("pv") != "j" {
		t.Errorf("beacon tok %q pv %q; want a token from the JavaScript solver", q.Get("tok"), q.Get("pv"))
	}
	if v := oneView(t, srv); v.BotScore != 0 || v.BotScoreDetail != powValid {
		t.Errorf("bot_score = %d, detail %s; want 0 and %s", v.BotScore, v.BotScoreDetail, powValid)
	}
}

// solveLoads is how many page loads a solve-time figure is taken over.
const solveLoads = 30

// solveFigures loads the pow page solveLoads times in a fresh browser
// against the running server and returns the sorted solve times and the
// fewest leading zero bits seen (≈ the served difficulty).
func solveFigures(t *testing.T) ([]float64, int) {
	t.Helper()
	ctx := newTab(t) // fresh: ea.js of another difficulty may be cached
	fewest := 128
	ms := measureSolves(t, ctx, origin+"/pow.html", solveLoads, func(tok string) {
		fewest = min(fewest, zeroBits(t, tok))
	})
	return ms, fewest
}

// TestPoW_SolveTimeAtDefaultDifficulty holds the default difficulty to its
// target (docs/performance.md, Proof of work): p95 solve time ≤ 150 ms in
// headless Chromium at the difficulty served by default. The median target
// (≤ 50 ms) is logged, not asserted: it depends more on the machine's load
// than on d.
func TestPoW_SolveTimeAtDefaultDifficulty(t *testing.T) {
	startServer(t)
	ms, fewest := solveFigures(t)
	p50, p95 := percentile(ms, 50), percentile(ms, 95)
	t.Logf("default difficulty (fewest zero bits seen %d): %d loads, solve median %.1f ms, p95 %.1f ms, max %.1f ms",
		fewest, solveLoads, p50, p95, ms[len(ms)-1])
	if p95 > 150 {
		t.Errorf("solve p95 %.1f ms (median %.1f ms) over 150 ms at the default difficulty: times %v", p95, p50, ms)
	}
}

// TestPoW_SolveTimeByDifficulty logs the figures for choosing d.
func TestPoW_SolveTimeByDifficulty(t *testing.T) {
	for _, d := range []int{12, 14, 16, 18, 20} {
		t.Run(strconv.Itoa(d), func(t *testing.T) {
			startServer(t, "pow_difficulty "+strconv.Itoa(d))
			ms, fewest := solveFigures(t)
			if fewest < d {
				t.Errorf("a token has %d zero bits, want at least pow_difficulty %d", fewest, d)
			}
			t.Logf("pow_difficulty %d: %d loads, solve median %.1f ms, p95 %.1f ms, max %.1f ms",
				d, solveLoads, percentile(ms, 50), percentile(ms, 95), ms[len(ms)-1])
		})
	}
}
