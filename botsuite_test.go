package echelon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/internal/testkit/testcaddy"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// The bot-traffic suite: forged traffic of each kind an attacker can send
// with plain HTTP clients goes through real Caddy with the default
// settings, each kind to a site of its own that one real visitor has also
// seen. Each kind must stay out of the clean statistics (at most 5 % of
// its beacons counted), must not move an experiment (no conversion), and
// shows up in the site's traffic quality under the reason expected.

const (
	suiteBeacons = 30
	suiteMetric  = "signup"
)

// fullChrome is what a real Chrome on Windows sends with the tracker's
// pixel: a coherent User-Agent, client hints, fetch metadata, language
// and the page as referrer.
func fullChrome() http.Header {
	return http.Header{
		"User-Agent":         {chromeUA},
		"Accept":             {"image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"},
		"Accept-Language":    {"en-US,en;q=0.9"},
		"Sec-Ch-Ua":          {`"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"`},
		"Sec-Ch-Ua-Mobile":   {"?0"},
		"Sec-Ch-Ua-Platform": {`"Windows"`},
		"Sec-Fetch-Site":     {"same-origin"},
		"Sec-Fetch-Mode":     {"no-cors"},
		"Sec-Fetch-Dest":     {"image"},
		"Referer":            {"https://shop.example/pricing"},
	}
}

// sourceClient sends from a loopback address of its own (Linux routes
// all of 127.0.0.0/8 to lo), so the server sees distinct clients.
func sourceClient(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: testcaddy.Retrying(&http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	})}
}

// suiteSend sends one request with exactly the headers h.
func suiteSend(t *testing.T, c *http.Client, method, url, body string, h http.Header) int {
	t.Helper()
	var req *http.Request
	var err error
	if body != "" {
		req, err = http.NewRequest(method, url, strings.NewReader(body))
	} else {
		req, err = http.NewRequest(method, url, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h.Clone()
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	res.Body.Close()
	return res.StatusCode
}

// hit is one forged pageview and the events sent with it.
type hit struct {
	client   *http.Client
	header   http.Header
	sid, tok string
	extra    map[string]string // more beacon parameters
}

// suiteKind is one kind of forged traffic.
type suiteKind struct {
	name, site string
	reason     storage.Reason // where its beacons must show in the quality
	realViews  int            // views of real visitors its hits make (a token's owner)
	// hits makes the kind's beacons; tokens may be minted with the
	// package's own solver (mint).
	hits func(t *testing.T, dir, site string) []hit
}

func suiteSession(kind, i int) string { return fmt.Sprintf("5e55%04x-0000-4000-8000-%012x", kind, i) }

func madeUpToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%d.%d.%s", time.Now().Unix()/60, 1+int(b[0])<<8|int(b[1]), hex.EncodeToString(b[:]))
}

var suiteKinds = []suiteKind{
	{"script with its own User-Agent", "bs-script", storage.ReasonPoWMissing, 0, func(t *testing.T, dir, site string) []hit {
		c := sourceClient("127.0.0.11")
		h := http.Header{"User-Agent": {"acme-harvester/2.3 (+https://acme.example/bot)"}, "Accept": {"*/*"}}
		return repeatHits(1, c, h, nil)
	}},
	{"browser headers, no token, one address", "bs-browser", storage.ReasonPoWMissing, 0, func(t *testing.T, dir, site string) []hit {
		return repeatHits(2, sourceClient("127.0.0.12"), fullChrome(), nil)
	}},
	{"browser headers, no token, 30 addresses", "bs-pool", storage.ReasonPoWMissing, 0, func(t *testing.T, dir, site string) []hit {
		hits := repeatHits(3, nil, fullChrome(), nil)
		for i := range hits {
			hits[i].client = sourceClient(fmt.Sprintf("127.0.1.%d", i+1))
		}
		return hits
	}},
	{"made-up token in the right shape", "bs-madeup", storage.ReasonPoWInvalid, 0, func(t *testing.T, dir, site string) []hit {
		hits := repeatHits(4, sourceClient("127.0.0.14"), fullChrome(), nil)
		for i := range hits {
			hits[i].tok = madeUpToken()
		}
		return hits
	}},
	{"replayed real token", "bs-replay", storage.ReasonPoWReplayed, 1, func(t *testing.T, dir, site string) []hit {
		// A token a real visitor solved and used (suiteVisitor sends it
		// first), captured with its session id and replayed from elsewhere.
		sid := suiteSession(5, 0)
		tok := mint(t, dir, sid, site, time.Now())
		suiteVisitor(t, site, sid, tok, "127.0.2.50")
		hits := repeatHits(5, sourceClient("127.0.0.15"), fullChrome(), nil)
		for i := range hits {
			hits[i].sid, hits[i].tok = sid, tok
		}
		return hits
	}},
	{"headless brand, valid proofs", "bs-headless", storage.ReasonKnownUA, 0, func(t *testing.T, dir, site string) []hit {
		h := fullChrome()
		h.Set("Sec-Ch-Ua", `"Chromium";v="131", "HeadlessChrome";v="131", "Not_A Brand";v="24"`)
		hits := repeatHits(6, sourceClient("127.0.0.16"), h, nil)
		for i := range hits {
			hits[i].tok = mint(t, dir, hits[i].sid, site, time.Now())
		}
		return hits
	}},
	{"navigator.webdriver reported, valid proofs", "bs-webdriver", storage.ReasonKnownUA, 0, func(t *testing.T, dir, site string) []hit {
		hits := repeatHits(7, sourceClient("127.0.0.17"), fullChrome(), map[string]string{"wd": "1", "pv": "w"})
		for i := range hits {
			hits[i].tok = mint(t, dir, hits[i].sid, site, time.Now())
		}
		return hits
	}},
	{"forged experiment traffic with curl", "bs-curl-exp", storage.ReasonKnownUA, 0, func(t *testing.T, dir, site string) []hit {
		return repeatHits(8, sourceClient("127.0.0.18"), http.Header{"User-Agent": {"curl/8.5.0"}, "Accept": {"*/*"}}, nil)
	}},
}

func repeatHits(kind int, c *http.Client, h http.Header, extra map[string]string) []hit {
	hits := make([]hit, suiteBeacons)
	for i := range hits {
		hits[i] = hit{client: c, header: h, sid: suiteSession(kind, i+1), extra: extra}
	}
	return hits
}

// suiteVisitor is a real visitor: a valid proof and a real browser's
// headers, from an address of its own.
func suiteVisitor(t *testing.T, site, sid, tok, ip string) {
	t.Helper()
	q := beaconQuery("/", site, map[string]string{"sid": sid, "tok": tok, "pv": "w"})
	if s := suiteSend(t, sourceClient(ip), "GET", baseURL+"/b.gif?"+q, "", fullChrome()); s != 200 {
		t.Fatalf("real visitor: %d", s)
	}
}

// TestBotSuite_ForgedTrafficStaysOutOfTheStatistics is the acceptance
// suite of the proof of work with the default settings.
func TestBotSuite_ForgedTrafficStaysOutOfTheStatistics(t *testing.T) {
	_, dir := startCaddy(t, "secret "+testSecret)
	sh := sharedOf(t, dir)
	st := sh.store
	now := time.Now()
	for k, kind := range suiteKinds {
		exp := "exp-" + kind.site
		if err := st.CreateExperiment(storage.Experiment{ID: exp, Name: kind.name, MetricEventType: suiteMetric, Status: "active",
			AllocationPercent: 100, CreatedAt: now, StartedAt: now,
			Variants: []storage.Variant{{ID: "a", Name: "A", Weight: 1, IsControl: true}, {ID: "b", Name: "B", Weight: 1}}}); err != nil {
			t.Fatal(err)
		}
		// One real visitor registers the site (a site only bots named is
		// stored under (other), which would make the check below empty).
		sid := suiteSession(100+k, 0)
		suiteVisitor(t, kind.site, sid, mint(t, dir, sid, kind.site, now), fmt.Sprintf("127.0.2.%d", k+1))
	}
	if err := sh.writer.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, kind := range suiteKinds {
		exp := "exp-" + kind.site
		for i, h := range kind.hits(t, dir, kind.site) {
			set := map[string]string{"sid": h.sid, "tok": h.tok}
			for name, v := range h.extra {
				set[name] = v
			}
			if s := suiteSend(t, h.client, "GET", baseURL+"/b.gif?"+beaconQuery(fmt.Sprintf("/p%d", i), kind.site, set), "", h.header); s != 200 {
				t.Fatalf("%s: b.gif %d", kind.name, s)
			}
			// Every forged session claims an exposure and a conversion.
			// The tracker says pv and wd in the body.
			extra := ""
			if h.extra["wd"] == "1" {
				extra = `"pv":"w","wd":1,`
			}
			body := fmt.Sprintf(`{"siteId":%q,"tok":%q,%s"events":[`+
				`{"type":"experiment_exposure","sessionId":%q,"data":{"experiment_id":%q,"variant_id":"%s","path":"/"}},`+
				`{"type":"custom","sessionId":%q,"data":{"name":%q,"path":"/done"}}]}`,
				kind.site, h.tok, extra, h.sid, exp, []string{"a", "b"}[i%2], h.sid, suiteMetric)
			url := baseURL + "/e"
			eh := h.header.Clone()
			eh.Set("Content-Type", "text/plain;charset=UTF-8")
			eh.Set("Sec-Fetch-Dest", "empty")
			if s := suiteSend(t, h.client, "POST", url, body, eh); s != 204 {
				t.Fatalf("%s: e %d", kind.name, s)
			}
		}
	}
	if err := sh.writer.Flush(); err != nil {
		t.Fatal(err)
	}
	// A correlator sweep runs as it would within two minutes.
	sh.corr.sweep(time.Now())
	if err := sh.writer.Flush(); err != nil {
		t.Fatal(err)
	}

	for _, kind := range suiteKinds {
		t.Run(kind.name, func(t *testing.T) {
			o, err := st.Overview(kind.site, 1, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			forged := int(o.Visits) - 1 - kind.realViews // less the real visitors' views
			if int(o.VerifiedVisits) < 1+kind.realViews {
				t.Errorf("the real visitor's view is not counted as verified: %+v", o)
			}
			if forged*100 > 5*suiteBeacons {
				t.Errorf("%d of %d forged beacons in the clean statistics (over 5%%)", forged, suiteBeacons)
			}
			e, err := st.ExperimentByID("exp-" + kind.site)
			if err != nil {
				t.Fatal(err)
			}
			res, err := st.ExperimentResults(e)
			if err != nil {
				t.Fatal(err)
			}
			conv, imp := 0, 0
			for _, r := range res {
				conv += r.Conversions
				imp += r.Impressions
			}
			if conv != 0 || imp*100 > 5*suiteBeacons {
				t.Errorf("experiment: %d impressions, %d conversions; want none", imp, conv)
			}
			q, err := st.Quality(kind.site, 1, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			var filtered uint64
			for _, d := range q {
				filtered += d.Filtered[kind.reason][0]
			}
			if int(filtered)*100 < 95*suiteBeacons {
				t.Errorf("quality: %d beacons under %s, want at least 95%% of %d", filtered, kind.reason, suiteBeacons)
			}
			t.Logf("%s: %d of %d counted, %d under %s; experiment %d impressions, %d conversions",
				kind.site, forged, suiteBeacons, filtered, kind.reason, imp, conv)
		})
	}
}

// TestBotSuite_RealVisitorsStillCount: no false positives. 30 people with
// the same common setup, from 30 addresses, each with a valid proof and a
// real browser's headers, all count, all verified, and a correlator sweep
// leaves them alone; their experiment exposures and conversions count.
func TestBotSuite_RealVisitorsStillCount(t *testing.T) {
	_, dir := startCaddy(t, "secret "+testSecret)
	sh := sharedOf(t, dir)
	st := sh.store
	now := time.Now()
	const site, exp = "bs-people", "exp-people"
	if err := st.CreateExperiment(storage.Experiment{ID: exp, Name: "People", MetricEventType: suiteMetric, Status: "active",
		AllocationPercent: 100, CreatedAt: now, StartedAt: now,
		Variants: []storage.Variant{{ID: "a", Name: "A", Weight: 1, IsControl: true}, {ID: "b", Name: "B", Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	for i := range suiteBeacons {
		sid := suiteSession(200, i)
		tok := mint(t, dir, sid, site, now)
		c := sourceClient(fmt.Sprintf("127.0.3.%d", i+1))
		if s := suiteSend(t, c, "GET", baseURL+"/b.gif?"+beaconQuery("/", site, map[string]string{"sid": sid, "tok": tok, "pv": "w"}), "", fullChrome()); s != 200 {
			t.Fatalf("b.gif %d", s)
		}
		body := fmt.Sprintf(`{"siteId":%q,"tok":%q,"pv":"w","events":[`+
			`{"type":"experiment_exposure","sessionId":%q,"data":{"experiment_id":%q,"variant_id":"a","path":"/"}},`+
			`{"type":"custom","sessionId":%q,"data":{"name":%q,"path":"/done"}}]}`, site, tok, sid, exp, sid, suiteMetric)
		if s := suiteSend(t, c, "POST", baseURL+"/e", body, fullChrome()); s != 204 {
			t.Fatalf("e %d", s)
		}
	}
	if err := sh.writer.Flush(); err != nil {
		t.Fatal(err)
	}
	if r := sh.corr.sweep(time.Now()); r.views != 0 {
		t.Errorf("the correlator raised %d real visitors' views", r.views)
	}
	o, err := st.Overview(site, 1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if o.Visits != suiteBeacons || o.VerifiedVisits != suiteBeacons {
		t.Errorf("%d visits, %d verified; want all %d", o.Visits, o.VerifiedVisits, suiteBeacons)
	}
	e, err := st.ExperimentByID(exp)
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.ExperimentResults(e)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Impressions != suiteBeacons || res[0].Conversions != suiteBeacons {
		t.Errorf("experiment %+v, want %d impressions and conversions", res, suiteBeacons)
	}
}
