package e2e

// Real people, in the conditions that used to cost them their proof of
// work: a slow CPU, no WebAssembly, a CSP without 'wasm-unsafe-eval', a
// slow network. Each visit is a new tab of one browser (a new session)
// that reads for a second, scrolls and clicks; every visit's pageview
// must be stored with a valid proof.

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// peopleVisits is the number of visits per condition.
const peopleVisits = 20

// peoplePage is a page taller than the window, so that a visitor can
// scroll, loading ea.js for site after head.
func peoplePage(site, head string) string {
	return `<!doctype html>
<html><head><meta charset="utf-8"><title>people</title>
` + head + `<script src="/ea.js?s=` + site + `" data-site="` + site + `" defer></script>
</head>
<body style="margin:0;min-height:300vh"><p>people</p></body></html>
`
}

// peopleCase is one condition: its own site id and page, and what is set
// up in each visit's tab before the page loads.
type peopleCase struct {
	name  string
	head  string // added to the page's head
	setup []func(ctx context.Context) error
	// solver is the pv every beacon must carry, "" for either.
	solver string
}

var peopleCases = []peopleCase{
	{name: "normal", solver: "w"},
	{name: "cpu6x", setup: []func(context.Context) error{throttleCPU(6)}},
	{name: "nowasm", setup: []func(context.Context) error{addScript("delete window.WebAssembly")}},
	{name: "csp", head: noWasmEval, solver: "j"},
	{name: "slow3g", setup: []func(context.Context) error{slowNetwork}, solver: "w"},
}

// throttleCPU slows the tab's CPU rate times (DevTools' CPU throttling).
func throttleCPU(rate float64) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, emulation.SetCPUThrottlingRate, emulation.SetCPUThrottlingRateParams{Rate: rate})
		return err
	}
}

// slowNetwork is DevTools' "Fast 3G" profile (562.5 ms, 1.44 Mbit/s down,
// 675 kbit/s up) for the tab, with the cache off, so that every visit
// fetches ea.js through it.
func slowNetwork(ctx context.Context) error {
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		return err
	}
	if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		return err
	}
	_, err := chromedp.Call(ctx, emulateNetworkConditions, networkConditions{Latency: 562.5, DownloadThroughput: 1.6e6 / 8 * 0.9, UploadThroughput: 750e3 / 8 * 0.9})
	return err
}

// Network.emulateNetworkConditions, which cdproto no longer generates
// (DevTools marks it deprecated) and Chromium still runs.
type networkConditions struct {
	Offline            bool    `json:"offline"`
	Latency            float64 `json:"latency"`            // ms
	DownloadThroughput float64 `json:"downloadThroughput"` // bytes/s
	UploadThroughput   float64 `json:"uploadThroughput"`   // bytes/s
}

var emulateNetworkConditions = cdp.Command[networkConditions, cdp.Empty]{Method: "Network.emulateNetworkConditions"}

func peopleSite(c peopleCase) string { return "people-" + c.name }

// peoplePages are the cases' pages, by path.
func peoplePages() map[string]string {
	pages := map[string]string{}
	for _, c := range peopleCases {
		pages["/"+peopleSite(c)+".html"] = peoplePage(peopleSite(c), c.head)
	}
	return pages
}

// addScript runs js in every document of the tab before its own scripts.
func addScript(js string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: js})
		return err
	}
}

// newPersonBrowser starts headless Chromium as a person's browser:
// without the automation flag, so navigator.webdriver is false.
func newPersonBrowser(t *testing.T) context.Context {
	t.Helper()
	return newTab(t)
}

// personVisit opens a new tab, applies the case's setup, loads its page, reads
// for a second, scrolls with the mouse wheel and clicks, and returns the
// pageview beacon's query once sent.
func personVisit(t *testing.T, browser context.Context, c peopleCase) beacon {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser)
	defer cancel()
	ctx, stop := context.WithTimeout(tab, 60*time.Second)
	defer stop()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: open a tab: %v", c.name, err)
	}
	for _, f := range c.setup {
		if err := f(ctx); err != nil {
			t.Fatalf("%s: set the tab up: %v", c.name, err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(origin+"/"+peopleSite(c)+".html")); err != nil {
		t.Fatalf("%s: open the page: %v", c.name, err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("window.__echelon === 1")); err == nil && ok {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("%s: ea.js did not run within 30 s (%v)", c.name, err)
		}
	}
	time.Sleep(time.Second)
	err := chromedp.Do(ctx,
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseWheel, 200, 300, func(p *input.DispatchMouseEventParams) {
			// deltaX must be sent, and a zero is left out; the page has no width to scroll.
			p.DeltaX, p.DeltaY = 1, 600
		}),
		clickBody(),
	)
	if err != nil {
		t.Fatalf("%s: scroll and click: %v", c.name, err)
	}
	for {
		sent, err := chromedp.Run(ctx, chromedp.Evaluate[[]beacon](beaconsJS))
		if err != nil {
			t.Fatalf("%s: no pageview within a minute: %v", c.name, err)
		}
		if len(sent) > 0 {
			if wd, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("navigator.webdriver")); err != nil || wd {
				t.Fatalf("%s: navigator.webdriver = %v (%v); the person's browser must not say automation", c.name, wd, err)
			}
			return sent[0]
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Every visit of a real person produces a valid proof of work, in every
// condition: the server stores each pageview with pow_result valid and a
// score under the bot line.
func TestPeople_EveryVisitHasAValidProof(t *testing.T) {
	// Every visit comes from 127.0.0.1: the per-IP rate limit would soon
	// answer ea.js with 429, as it would for a crowd behind one NAT.
	srv := startServer(t, "rate_limit_max 0")
	browser := newPersonBrowser(t)
	for _, c := range peopleCases {
		solvers := map[string]int{}
		start := time.Now()
		for range peopleVisits {
			q := personVisit(t, browser, c).query(t)
			if q.Get("tok") == "" {
				t.Errorf("%s: a beacon without a token", c.name)
			}
			if q.Has("wd") {
				t.Errorf("%s: beacon says wd=%s", c.name, q.Get("wd"))
			}
			solvers[q.Get("pv")]++
		}
		t.Logf("%s: %d visits in %.1f s, solvers %v", c.name, peopleVisits, time.Since(start).Seconds(), solvers)
		for pv, n := range solvers {
			if (c.solver != "" && pv != c.solver) || (pv != "w" && pv != "j") {
				t.Errorf("%s: %d beacons with pv %q, want %q", c.name, n, pv, cmp.Or(c.solver, "w or j"))
			}
		}
	}
	views := srv.viewsBySite()
	for _, c := range peopleCases {
		got := views[peopleSite(c)]
		valid, details := 0, map[string]int{}
		for _, v := range got {
			details[v.BotScoreDetail]++
			if strings.Contains(v.BotScoreDetail, `"pow_result":"valid"`) && v.BotScore < 50 {
				valid++
			} else {
				t.Errorf("%s: view scored %d, %s", c.name, v.BotScore, v.BotScoreDetail)
			}
		}
		t.Logf("%s: score details %v", c.name, details)
		if len(got) != peopleVisits || valid != peopleVisits {
			t.Errorf("%s: %d views stored, %d with a valid proof under the bot line; want %d of %d", c.name, len(got), valid, peopleVisits, peopleVisits)
		}
	}
}

// viewsBySite unloads the config and returns the stored views of every
// people case's site.
func (s *server) viewsBySite() map[string][]storage.View {
	s.t.Helper()
	s.unload()
	st, err := storage.Open(storage.Options{Dir: s.db})
	if err != nil {
		s.t.Fatalf("open the store after unloading: %v", err)
	}
	defer st.Close()
	out := map[string][]storage.View{}
	for _, c := range peopleCases {
		site := peopleSite(c)
		err := st.Views(site, time.Unix(0, 0), time.Now().Add(time.Hour), func(v *storage.View) bool {
			out[site] = append(out[site], *v)
			return true
		})
		if err != nil {
			s.t.Fatal(fmt.Errorf("read views of %s: %w", site, err))
		}
	}
	return out
}
