package inject

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"
)

const (
	pageSize  = 100 << 10
	chunkSize = 4 << 10 // how a proxy hands the body on
)

// benchPage is a 100 KB page shaped like a real one: a head of about 2 KB
// (meta, links, inline style), then paragraphs full of tags. Without head
// it has no <head> section at all, so the scanner runs to the end.
func benchPage(head bool) []byte {
	var b bytes.Buffer
	b.WriteString("<!doctype html>\n<html lang=en>\n")
	if head {
		b.WriteString("<head>\n<meta charset=utf-8>\n<title>A product page</title>\n")
		for i := 0; b.Len() < 1800; i++ {
			fmt.Fprintf(&b, "<link rel=stylesheet href=\"/assets/app.%d.css\">\n<meta name=\"x-%d\" content=\"some content\">\n", i, i)
		}
		b.WriteString("<style>body{margin:0}.hero{display:grid}</style>\n</head>\n")
	}
	b.WriteString("<body>\n")
	for i := 0; b.Len() < pageSize-200; i++ {
		fmt.Fprintf(&b, "<p class=item>Item %d: <a href=\"/products/%d\">a thing</a> with <em>details</em> and a price.</p>\n", i, i)
	}
	b.WriteString("<script src=\"/assets/app.js\" defer></script>\n</body>\n</html>\n")
	return b.Bytes()
}

// conn stands for the connection: it copies what it is given into a reused
// buffer, as a real write copies into the socket's buffer.
type conn struct {
	h   http.Header
	buf []byte
}

func (c *conn) Header() http.Header         { return c.h }
func (c *conn) WriteHeader(int)             {}
func (c *conn) Write(p []byte) (int, error) { c.buf = append(c.buf, p...); return len(p), nil }

// discard costs nothing per byte, which makes any per-response overhead
// look as large as it can.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }

// benchCase is one sub-benchmark: a content type decides tagging, so the
// pass-through runs the same code path (Wrap, WriteHeader, writes, finish).
type benchCase struct {
	name, ct string
	head     bool
}

var benchCases = []benchCase{
	{"tagged", "text/html; charset=utf-8", true},
	{"passthrough", "text/css", true},
	{"tagged-no-head", "text/html; charset=utf-8", false}, // worst case: scans all 100 KB for </body>
}

// respond is the upstream behind Wrap: the page's headers, the page in
// 4 KB writes as a proxy hands them on, finish.
func respond(in *Injector, w http.ResponseWriter, r *http.Request, c benchCase, page []byte) error {
	w, finish := in.Wrap(w, r)
	h := w.Header()
	h.Set("Content-Type", c.ct)
	h.Set("Content-Length", strconv.Itoa(len(page)))
	w.WriteHeader(http.StatusOK)
	for i := 0; i < len(page); i += chunkSize {
		w.Write(page[i:min(i+chunkSize, len(page))])
	}
	return finish()
}

// A target is where responses go. start returns one, which serves one
// response of case c, and stop.
type target struct {
	name  string
	start func(tb testing.TB, in *Injector) (one func(c benchCase, page []byte), stop func())
}

// sink makes a target of a ResponseWriter that next returns reset.
func sink(name string, newNext func() func() http.ResponseWriter) target {
	return target{name, func(tb testing.TB, in *Injector) (func(benchCase, []byte), func()) {
		next, r := newNext(), navigation()
		return func(c benchCase, page []byte) {
			r.Header.Set("Accept-Encoding", "gzip")
			if err := respond(in, next(), r, c, page); err != nil {
				tb.Fatal(err)
			}
		}, func() {}
	}}
}

var targets = []target{
	// A real server on loopback: a GET, net/http on both ends, TCP.
	{"http", func(tb testing.TB, in *Injector) (func(benchCase, []byte), func()) {
		pages := map[string][]byte{}
		for _, c := range benchCases {
			pages[c.name] = benchPage(c.head)
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, c := range benchCases {
				if r.URL.Path == "/"+c.name {
					if err := respond(in, w, r, c, pages[c.name]); err != nil {
						tb.Error(err)
					}
				}
			}
		}))
		client := srv.Client()
		return func(c benchCase, _ []byte) {
			req, _ := http.NewRequest("GET", srv.URL+"/"+c.name, nil)
			req.Header.Set("Accept", "text/html")
			res, err := client.Do(req)
			if err != nil {
				tb.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}, srv.Close
	}},
	// A fresh recorder per response around a reused body: allocating
	// 100 KiB per response measures the runtime's large-object path (page
	// faults, zeroing, scavenging), which swings by tens of µs between runs.
	sink("recorder", func() func() http.ResponseWriter {
		body := bytes.NewBuffer(make([]byte, 0, 2*pageSize))
		return func() http.ResponseWriter {
			body.Reset()
			return &httptest.ResponseRecorder{HeaderMap: http.Header{}, Body: body, Code: http.StatusOK}
		}
	}),
	sink("conn", func() func() http.ResponseWriter {
		c := &conn{h: http.Header{}, buf: make([]byte, 0, 2*pageSize)}
		return func() http.ResponseWriter { clear(c.h); c.buf = c.buf[:0]; return c }
	}),
	sink("discard", func() func() http.ResponseWriter {
		d := &discard{h: http.Header{}}
		return func() http.ResponseWriter { clear(d.h); return d }
	}),
}

// BenchmarkInject compares tagging a 100 KB page with passing it through,
// per target.
//
//	go test -run '^$' -bench Inject -count 6 ./inject/
func BenchmarkInject(b *testing.B) {
	for _, tg := range targets {
		for _, c := range benchCases {
			b.Run(tg.name+"/"+c.name, func(b *testing.B) {
				one, stop := tg.start(b, mustNew(b))
				defer stop()
				page := benchPage(c.head)
				b.SetBytes(int64(len(page)))
				b.ReportAllocs()
				for b.Loop() {
					one(c, page)
				}
			})
		}
	}
}

// TestInject_Overhead measures tagging against pass-through in the same run
// and reports the ratio per target; the budget is 15% extra time
// per response. Blocks of tagged and passed-through responses alternate and
// the median of the block ratios is reported, so load from elsewhere lands
// on both sides. It runs with -bench only (timing means nothing under -race
// or beside other packages' tests), so it is a benchmark; the ratio is
// reported as the metric extra-%:
//
//	go test -run '^$' -bench OverheadRatio ./inject/
func BenchmarkInjectOverheadRatio(b *testing.B) {
	t := b
	const rounds = 31
	page := benchPage(true)
	tagged, passed := benchCases[0], benchCases[1]
	for _, tg := range targets {
		one, stop := tg.start(t, mustNew(t))
		block := func(c benchCase, n int) time.Duration {
			start := time.Now()
			for range n {
				one(c, page)
			}
			return time.Since(start)
		}
		n := 1 // responses per block: enough for about 5 ms
		for block(passed, n) < 5*time.Millisecond {
			n *= 2
		}
		var ratios []float64
		var sumT, sumP time.Duration
		for range rounds {
			dt, dp := block(tagged, n), block(passed, n)
			sumT, sumP = sumT+dt, sumP+dp
			ratios = append(ratios, float64(dt)/float64(dp))
		}
		stop()
		slices.Sort(ratios)
		per := func(d time.Duration) time.Duration { return d / time.Duration(rounds*n) }
		t.Logf("%-8s tagged %9v, passthrough %9v per response: median %+.1f%% (budget +15%%)",
			tg.name, per(sumT), per(sumP), 100*(ratios[rounds/2]-1))
		b.ReportMetric(100*(ratios[rounds/2]-1), tg.name+"-extra-%")
	}
}
