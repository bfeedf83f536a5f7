package e2e

// Proof of work in the browser against a small httptest server that
// assembles ea.js itself (tracker.Assembler) from a pow.Verifier's puzzle,
// so that the tokens can be checked in Go (pow.Verifier.Verify and Check)
// without Caddy. The cases through Caddy are in pow_test.go.

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/bits"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/echelon-analytics/caddy-echelon/pow"
	"github.com/echelon-analytics/caddy-echelon/tracker"
)

// The placeholders ea.js must carry exactly once each, inside string
// literals (tracker.Assembler replaces the first occurrence of each).
var placeholders = []string{
	`var _c = "%%CHALLENGE%%", _w = "%%WASM%%", _b = "%%BUCKET%%", _d = "%%DIFFICULTY%%", _k = "%%PARAMS%%";`,
	"%%CHALLENGE%%", "%%WASM%%", "%%BUCKET%%", "%%DIFFICULTY%%", "%%PARAMS%%", "%%SITE%%",
}

// trackerSource is ea.js as committed (tests run in the package directory).
func trackerSource(t *testing.T) []byte {
	t.Helper()
	src, err := os.ReadFile("../../tracker/ea.js")
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestTracker_PlaceholdersOnce(t *testing.T) {
	src := string(trackerSource(t))
	for _, p := range placeholders {
		if n := strings.Count(src, p); n != 1 {
			t.Errorf("ea.js has %q %d times, want once", p, n)
		}
	}
}

// Head snippets for the test pages. powHook goes before ea.js on every
// pow page and records, on the page's performance clock:
//   - execAt: when ea.js started, i.e. first read document.currentScript
//     (its first statement after the double-load check);
//   - tokReady: a promise of when ea.js stored its token in _etok;
//   - firstDown: the first trusted pointerdown;
//   - cspBlocked: the directive of a CSP violation, if any.
//
// This keeps test-only code out of ea.js.
const (
	powHook = `<script>
(function () {
	var cs = Object.getOwnPropertyDescriptor(Document.prototype, "currentScript").get;
	Object.defineProperty(Document.prototype, "currentScript", {configurable: true, get: function () {
		if (!window.execAt) window.execAt = performance.now();
		return cs.call(this);
	}});
	var set = Storage.prototype.setItem;
	window.tokReady = new Promise(function (resolve) {
		Storage.prototype.setItem = function (k, v) {
			if (k === "_etok") resolve(performance.now());
			return set.apply(this, arguments);
		};
	});
	addEventListener("pointerdown", function (e) {
		if (e.isTrusted && !window.firstDown) window.firstDown = performance.now();
	}, true);
	document.addEventListener("securitypolicyviolation", function (e) {
		window.cspBlocked = e.effectiveDirective;
	});
})();
</script>
`
	// blockWorkers forbids every worker, blob: ones included.
	blockWorkers = `<meta http-equiv="Content-Security-Policy" content="worker-src 'none'">` + "\n"
	// noWasm makes a browser without WebAssembly.
	noWasm = "<script>delete window.WebAssembly</script>\n"
	// noWasmEval is a page CSP without 'wasm-unsafe-eval': no WebAssembly,
	// and no blob worker either (script-src covers workers).
	noWasmEval = `<meta http-equiv="Content-Security-Policy" content="script-src 'self' 'unsafe-inline'">` + "\n"
	// pageWasmFails lets WebAssembly fail on the page only (a worker has its
	// own), so the token has to come from the worker.
	pageWasmFails = `<script>WebAssembly.instantiate = function () { return Promise.reject(new Error("not on the page")); };</script>` + "\n"
)

// powPage is a page that loads ea.js after head (CSP meta, scripts) and the
// hook. Like pageHTML, the body fills the viewport.
func powPage(head string) string {
	return `<!doctype html>
<html><head><meta charset="utf-8"><title>pow</title>
` + head + powHook + `<script src="/ea.js?s=e2e" data-site="e2e" defer></script>
</head>
<body style="margin:0;min-height:100vh"><p>pow</p></body></html>
`
}

// powPages are the pages both servers offer, by path.
var powPages = map[string]string{
	"/pow.html":     powPage(""),
	"/csp.html":     powPage(blockWorkers),
	"/nowasm.html":  powPage(noWasm),
	"/wasmcsp.html": powPage(noWasmEval),
	// early.html records a custom event as soon as ea.js has run.
	"/early.html":  powPage("") + `<script>addEventListener("DOMContentLoaded", function () { echelon.track("early"); });</script>` + "\n",
	"/worker.html": powPage(pageWasmFails),
}

// solveServer serves powPages, ea.js with the verifier's current puzzle
// filled in, and records b.gif queries.
type solveServer struct {
	*httptest.Server
	v *pow.Verifier

	mu     sync.Mutex
	hits   []url.Values
	events []map[string]any // POST e bodies
}

// startSolveServer serves and verifies the given difficulty. A difficulty
// above pow.MaxDifficultyLimit is only served (the verifier keeps its
// default), for a solve that never finishes.
func startSolveServer(t *testing.T, difficulty int) *solveServer {
	t.Helper()
	v, err := pow.NewVerifier(pow.Config{Secret: []byte("e2e-secret"), Difficulty: min(difficulty, pow.MaxDifficultyLimit)})
	if err != nil {
		t.Fatal(err)
	}
	scripts, err := tracker.NewAssembler()
	if err != nil {
		t.Fatal(err)
	}
	s := &solveServer{v: v}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ea.js":
			pz, err := v.Puzzle(time.Now())
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			script := scripts.Script(tracker.Puzzle{
				Challenge:  pz.Challenge,
				Bucket:     pz.Bucket,
				Epoch:      pz.Module.Source,
				Wasm:       pz.Module.Base64,
				Params:     pz.Module.Params.Hex(),
				Difficulty: difficulty,
			}, tracker.Site{ID: site}, nil)
			w.Header().Set("Content-Type", "application/javascript; charset=utf-8")
			w.Header().Set("Cache-Control", "public, max-age=300") // as Caddy serves it
			_, _ = w.Write(script.Body)
		case "/b.gif":
			s.mu.Lock()
			s.hits = append(s.hits, r.URL.Query())
			s.mu.Unlock()
			w.Header().Set("Content-Type", "image/gif")
			_, _ = w.Write([]byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"))
		case "/e":
			var body map[string]any
			if err := json.NewDecoder(r.Body).Decode(&body); err == nil {
				s.mu.Lock()
				s.events = append(s.events, body)
				s.mu.Unlock()
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			page, ok := powPages[r.URL.Path]
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(page))
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// eventBodies returns the POST e bodies received so far.
func (s *solveServer) eventBodies() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// beaconQueries returns the b.gif queries received so far.
func (s *solveServer) beaconQueries() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.hits)
}

// waitToken waits until ea.js on the current page stored its token and
// returns it with the solve time: ms from ea.js's start to the stored
// token, which includes decoding and compiling the module and starting the
// worker.
func waitToken(t *testing.T, ctx context.Context) (string, float64) {
	t.Helper()
	ms := eval[float64](t, ctx, `tokReady.then(function (at) { return at - window.execAt; })`, chromedp.EvalAwaitPromise)
	return eval[string](t, ctx, `sessionStorage.getItem("_etok")`), ms
}

// percentile is the nearest-rank percentile p (0..100) of sorted ms.
func percentile(sorted []float64, p float64) float64 {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

// measureSolves loads pageURL n times in one tab (each load a new document,
// so the solve restarts; ea.js comes from the cache after the first, as
// on a real site) and returns the sorted solve times. check gets each
// load's token.
func measureSolves(t *testing.T, ctx context.Context, pageURL string, n int, check func(tok string)) []float64 {
	t.Helper()
	ms := make([]float64, 0, n)
	for range n {
		do(t, ctx, chromedp.Navigate(pageURL))
		tok, d := waitToken(t, ctx)
		check(tok)
		ms = append(ms, d)
	}
	slices.Sort(ms)
	return ms
}

// tokenParts splits a token into bucket, nonce and hash.
func tokenParts(t *testing.T, tok string) (bucket int64, nonce uint32, hash string) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || len(parts[2]) != 32 {
		t.Fatalf("token %q is not <bucket>.<nonce>.<32 hex>", tok)
	}
	b, err1 := strconv.ParseInt(parts[0], 10, 64)
	n, err2 := strconv.ParseUint(parts[1], 10, 32)
	if err1 != nil || err2 != nil {
		t.Fatalf("token %q: bucket or nonce not decimal", tok)
	}
	return b, uint32(n), parts[2]
}

// zeroBits counts the leading zero bits of a token's hash.
func zeroBits(t *testing.T, tok string) int {
	t.Helper()
	_, _, h := tokenParts(t, tok)
	raw, err := hex.DecodeString(h)
	if err != nil {
		t.Fatalf("token %q: %v", tok, err)
	}
	n := 0
	for _, c := range raw {
		if c != 0 {
			return n + bits.LeadingZeros8(c)
		}
		n += 8
	}
	return n
}

// Which search found a token: ea.js starts the worker below 2^30 and the
// page at 2^30 and above.
const pageNonces = 1 << 30

// tokenLast checks that tok is the last parameter of the beacon's raw
// query, where the tracker puts it.
func tokenLast(t *testing.T, rawQuery string) {
	t.Helper()
	i := strings.LastIndex(rawQuery, "&")
	if !strings.HasPrefix(rawQuery[i+1:], "tok=") {
		t.Errorf("tok is not the last beacon parameter: %s", rawQuery)
	}
}

// WebAssembly fails on the page only: the worker searches with the module
// and the page with the JavaScript solver. The token of either verifies,
// goes on the beacon, last, and pv names its solver: w for the worker's
// nonces (below 2^30), j for the page's.
func TestSolve_WorkerTokenVerifies(t *testing.T) {
	ctx := newTab(t)
	srv := startSolveServer(t, 14)

	do(t, ctx, chromedp.Navigate(srv.URL+"/worker.html"))
	stored, _ := waitToken(t, ctx)
	want := "w"
	if _, n, _ := tokenParts(t, stored); n >= pageNonces {
		want = "j"
	}
	if pv := eval[string](t, ctx, `sessionStorage.getItem("_epv")`); pv != want {
		t.Errorf("_epv = %q for token %s, want %q", pv, stored, want)
	}
	time.Sleep(800 * time.Millisecond)
	do(t, ctx, clickBody())
	sent := waitBeacons(t, ctx, 1)
	q := sent[0].query(t)
	tok, sid := q.Get("tok"), q.Get("sid")
	if tok != stored {
		t.Fatalf("beacon tok = %q, want the stored _etok %q", tok, stored)
	}
	tokenLast(t, strings.SplitN(sent[0].Name, "?", 2)[1])
	if q.Get("pv") != want {
		t.Errorf("beacon pv = %q, want %q", q.Get("pv"), want)
	}
	if got := srv.v.Check(tok, sid, "e2e", "", 14, time.Now()); got != pow.Valid {
		t.Errorf("Check(%q) = %v, want valid", tok, got)
	}
	if got := len(srv.beaconQueries()); got != 1 {
		t.Errorf("server got %d beacons, want 1", got)
	}
}

// Workers blocked by CSP: the page's own search makes the token, without
// long tasks.
func TestSolve_CSPBlocksWorkerPageSearches(t *testing.T) {
	ctx := newTab(t)
	srv := startSolveServer(t, 16)

	do(t, ctx, chromedp.Navigate(srv.URL+"/csp.html"))
	tok, _ := waitToken(t, ctx)
	if got := eval[string](t, ctx, `window.cspBlocked || ""`); got != "worker-src" {
		t.Fatalf("CSP violation %q, want worker-src: the page did not block the worker", got)
	}
	if _, n, _ := tokenParts(t, tok); n < pageNonces {
		t.Errorf("token %s has a worker nonce; the worker was blocked", tok)
	}
	sid := eval[string](t, ctx, `sessionStorage.getItem("_esid")`)
	if got := srv.v.Check(tok, sid, "e2e", "", 16, time.Now()); got != pow.Valid {
		t.Errorf("Check(%q) = %v, want valid", tok, got)
	}
	// The page stays responsive: searching 2^16 hashes (expected) in
	// slices makes no long task (>= 50 ms). One is allowed, for a busy
	// machine.
	long := eval[[]float64](t, ctx, `new Promise(function (resolve) {
		var seen = [];
		new PerformanceObserver(function (l) { l.getEntries().forEach(function (e) { seen.push(e.duration); }); })
			.observe({type: "longtask", buffered: true});
		setTimeout(function () { resolve(seen); }, 50);
	})`, chromedp.EvalAwaitPromise)
	if len(long) > 1 {
		t.Errorf("long tasks while solving on the page: %v ms", long)
	}
}

// A pageview waits for its token however long the solve takes (here it
// never ends), and leaves without one when the page goes away. This
// browser runs with the automation flag, so the view says wd=1.
func TestSolve_BeaconWaitsForTokenUntilPagehide(t *testing.T) {
	ctx := newAutomatedTab(t)
	srv := startSolveServer(t, 64) // ~10^19 hashes: never done

	do(t, ctx, chromedp.Navigate(srv.URL+"/pow.html"))
	trackerLoaded(t, ctx)
	time.Sleep(time.Second)
	do(t, ctx, clickBody())
	time.Sleep(1500 * time.Millisecond)
	if n := len(srv.beaconQueries()); n != 0 {
		t.Fatalf("server got %d beacons while the solve was running, want 0: the view must wait for its token", n)
	}
	do(t, ctx, chromedp.Navigate(srv.URL+"/elsewhere")) // pagehide on the pow page
	deadline := time.Now().Add(3 * time.Second)
	for len(srv.beaconQueries()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	hits := srv.beaconQueries()
	if len(hits) != 1 {
		t.Fatalf("server got %d beacons after the page went away, want 1", len(hits))
	}
	q := hits[0]
	if q.Get("tok") != "" || q.Get("pv") != "" {
		t.Errorf("beacon has tok %q pv %q; the 64-bit solve cannot be done", q.Get("tok"), q.Get("pv"))
	}
	if q.Get("wd") != "1" {
		t.Errorf("wd = %q, want 1: navigator.webdriver is true in this browser", q.Get("wd"))
	}
}

// Events carry the session's token with the solver that made it, and
// wd=1 from this browser, which runs with the automation flag; an event
// sent before the session's first token waits for it.
func TestSolve_EventsCarrySolverAndWebdriver(t *testing.T) {
	ctx := newAutomatedTab(t)
	srv := startSolveServer(t, 12)

	do(t, ctx, chromedp.Navigate(srv.URL+"/wasmcsp.html"))
	tok, _ := waitToken(t, ctx)
	eval[any](t, ctx, `echelon.track("after")`)
	deadline := time.Now().Add(3 * time.Second)
	for len(srv.eventBodies()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	bodies := srv.eventBodies()
	if len(bodies) != 1 {
		t.Fatalf("server got %d event requests, want 1", len(bodies))
	}
	b := bodies[0]
	if b["tok"] != tok || b["pv"] != "j" || b["wd"] != 1.0 {
		t.Errorf("event body tok %v pv %v wd %v; want %s, j (the CSP blocks WebAssembly) and 1", b["tok"], b["pv"], b["wd"], tok)
	}

	// A new tab's session has no token yet when the page calls track at
	// once: the event waits for the page's solve and carries its token.
	tab, cancel := chromedp.NewContext(ctx)
	defer cancel()
	do(t, tab, chromedp.Navigate(srv.URL+"/early.html"))
	deadline = time.Now().Add(3 * time.Second)
	for len(srv.eventBodies()) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	bodies = srv.eventBodies()
	if len(bodies) != 2 {
		t.Fatalf("server got %d event requests, want 2", len(bodies))
	}
	b = bodies[1]
	early, _ := b["tok"].(string)
	var sid string
	if evs, _ := b["events"].([]any); len(evs) == 1 {
		ev, _ := evs[0].(map[string]any)
		sid, _ = ev["sessionId"].(string)
	}
	if got := srv.v.Check(early, sid, "e2e", "", 12, time.Now()); got != pow.Valid || (b["pv"] != "w" && b["pv"] != "j") || b["wd"] != 1.0 {
		t.Errorf("early event body tok %q (%v) pv %v wd %v; want the new session's valid token, its solver and 1", early, got, b["pv"], b["wd"])
	}
}

// Reloads run the cached script (same challenge, same session) and must
// still make distinct tokens, or the second pageview scores as replayed.
func TestSolve_ReloadsMakeFreshTokens(t *testing.T) {
	ctx := newTab(t)
	srv := startSolveServer(t, 12)
	measureSolves(t, ctx, srv.URL+"/pow.html", 5, func(tok string) {
		sid := eval[string](t, ctx, `sessionStorage.getItem("_esid")`)
		if got := srv.v.Check(tok, sid, "e2e", "", 12, time.Now()); got != pow.Valid {
			t.Errorf("reload token %q: %v, want valid", tok, got)
		}
	})
}
