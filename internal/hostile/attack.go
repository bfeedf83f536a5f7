// Package hostile is the hostile-load run shared by the bench/hostile
// program and the root package's scaled-down test: one client, no proof of
// work, random site ids, paths, UTM values and User-Agents and a large
// header on every request, against a store that also holds a real site.
// It measures what the load leaves behind (live heap, store size) and what
// it does to the real site's numbers and queries. See docs/performance.md.
package hostile

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ClientIP is the one client every hostile request comes from (sent as
// X-Forwarded-For: the server must trust the loopback proxy).
const ClientIP = "203.0.113.66"

// Attack builds the hostile requests against Base (http://host:port, the
// tracking routes at the root).
type Attack struct {
	Base string
	// HeaderBytes is the size of the Accept-Language every request
	// carries (8 KB in the load).
	HeaderBytes int
}

// request kinds, by share of the load: beacons, event batches, and paths
// that are not Echelon's (they reach the next handler, and the request
// stats).
func (a *Attack) request(rng *rand.Rand) (*http.Request, error) {
	var req *http.Request
	var err error
	switch k := rng.IntN(20); {
	case k < 14:
		req, err = http.NewRequest("GET", a.Base+"/b.gif?"+a.beaconQuery(rng), nil)
	case k < 18:
		req, err = http.NewRequest("POST", a.Base+"/e", strings.NewReader(a.eventsBody(rng)))
		if err == nil {
			req.Header.Set("Content-Type", "text/plain")
		}
	default:
		req, err = http.NewRequest("GET", a.Base+"/"+word(rng, 20+rng.IntN(200))+"?q="+word(rng, 40), nil)
	}
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", fmt.Sprintf("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.%d.%d.%d Safari/537.36 %s",
		rng.IntN(1000), rng.IntN(10000), rng.IntN(1000), word(rng, 8+rng.IntN(40))))
	req.Header.Set("Accept-Language", a.language(rng))
	req.Header.Set("X-Forwarded-For", ClientIP)
	return req, nil
}

func (a *Attack) beaconQuery(rng *rand.Rand) string {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	q := []string{
		"p=" + b64("/"+word(rng, 1+rng.IntN(30))+"/"+word(rng, rng.IntN(150))),
		"s=" + word(rng, 4+rng.IntN(20)),
		fmt.Sprintf("_v=%d", 800+rng.IntN(4000)),
		fmt.Sprintf("sw=%d&sh=%d", 300+rng.IntN(3000), 300+rng.IntN(2000)),
		fmt.Sprintf("sid=%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Uint64()>>16),
		"uc=" + b64(word(rng, 5+rng.IntN(60))),
		"us=" + b64(word(rng, 5+rng.IntN(30))),
		"um=" + b64(word(rng, 5+rng.IntN(30))),
		"ut=" + b64(word(rng, 5+rng.IntN(30))),
		"ref=" + b64("https://"+word(rng, 5+rng.IntN(20))+".example/"+word(rng, rng.IntN(100))),
	}
	return strings.Join(q, "&")
}

func (a *Attack) eventsBody(rng *rand.Rand) string {
	types := []string{"click", "scroll_depth", "custom", "outbound", "form_submit"}
	evs := make([]map[string]any, 1+rng.IntN(5))
	for i := range evs {
		evs[i] = map[string]any{
			"type": types[rng.IntN(len(types))], "utmCampaign": word(rng, 5+rng.IntN(60)),
			"data": map[string]any{"name": word(rng, 5+rng.IntN(40)), "x": word(rng, rng.IntN(200))},
		}
	}
	b, _ := json.Marshal(map[string]any{"siteId": word(rng, 4+rng.IntN(20)), "events": evs})
	return string(b)
}

// language is an Accept-Language of HeaderBytes bytes, different on every
// request.
func (a *Attack) language(rng *rand.Rand) string {
	var b strings.Builder
	b.Grow(a.HeaderBytes)
	b.WriteString("en-US")
	for b.Len() < a.HeaderBytes-16 {
		fmt.Fprintf(&b, ",%s;q=0.%d", word(rng, 2+rng.IntN(6)), rng.IntN(10))
	}
	return b.String()
}

// word is n random lower-case letters and digits.
func word(rng *rand.Rand, n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

// Result counts what a Run sent and got back.
type Result struct {
	Requests, Errors int64
	Status           map[int]int64
	Elapsed          time.Duration
	FirstError       string
}

// Run sends n hostile requests from workers concurrent keep-alive
// connections and waits for every answer. Request i is drawn from a
// generator seeded with seed and i, so a run is reproducible.
func (a *Attack) Run(n, workers int, seed uint64) Result {
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: workers, DisableCompression: true},
		Timeout:   30 * time.Second,
	}
	defer client.CloseIdleConnections()
	var (
		next   atomic.Int64
		mu     sync.Mutex
		res    = Result{Status: map[int]int64{}}
		wg     sync.WaitGroup
		errors atomic.Int64
	)
	start := time.Now()
	for range workers {
		wg.Go(func() {
			local := map[int]int64{}
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					break
				}
				rng := rand.New(rand.NewPCG(seed, uint64(i)))
				req, err := a.request(rng)
				if err == nil {
					var resp *http.Response
					if resp, err = client.Do(req); err == nil {
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						local[resp.StatusCode]++
						continue
					}
				}
				if errors.Add(1) == 1 {
					mu.Lock()
					res.FirstError = err.Error()
					mu.Unlock()
				}
			}
			mu.Lock()
			for s, c := range local {
				res.Status[s] += c
				res.Requests += c
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Errors = errors.Load()
	res.Elapsed = time.Since(start)
	return res
}
