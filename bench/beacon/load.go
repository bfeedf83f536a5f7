package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// loadResult is what one load process reports on stdout, as JSON.
type loadResult struct {
	Requests int64   // responses read, whatever their status
	OK       int64   // 200 with the expected 43-byte body
	Non200   int64   // any other status
	BadBody  int64   // 200 with a body that is not 43 bytes
	Errors   int64   // connection or protocol errors
	Elapsed  float64 // seconds from the first request to the last response
	// IdlePolls counts the reads that found no data yet (-wait poll): many
	// per response mean the client waited for the server, which set the
	// pace; few mean the client did.
	IdlePolls  int64
	FirstError string `json:",omitempty"`
}

// maxErrors ends a round early: a broken server should not be hammered for
// the full duration.
const maxErrors = 100

// runLoad is the load-generator process (`beacon load -addr …`). It drives
// one fixed-duration round of keep-alive HTTP/1.1 requests against addr
// from a fixed number of workers and prints a loadResult.
//
// The client is a hand-written HTTP/1.1 loop over net.Conn: it builds each
// request into a reused buffer and reads only the status line, the
// Content-Length and the body. It costs the machine far less per request
// than net/http's client would, and every microsecond the client spends is
// a microsecond the server does not get on a 2-core box.
//
// With -wait poll a worker waiting for its response polls its socket
// with non-blocking reads instead of sleeping in the kernel. On loopback
// the server's write(2) runs the client's TCP receive and, when the client
// sleeps, its wake-up too, which a remote client would not cost the
// server; polling keeps the client awake, to measure what that part is
// worth. -wait block (the default) sleeps as an ordinary client does.
func runLoad(args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	addr := fs.String("addr", "", "server `host:port`")
	duration := fs.Duration("duration", 3*time.Second, "round length")
	workers := fs.Int("workers", 16, "concurrent keep-alive connections")
	ips := fs.Int("ips", 16384, "distinct client IPs sent in X-Forwarded-For")
	seq := fs.Uint64("seq", 0, "number of the first request; rounds use disjoint ranges")
	wait := fs.String("wait", "block", "how a worker waits for its response: poll or block")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *addr == "" || *workers < 1 || *ips < 1 || *ips > 1<<24 || (*wait != "poll" && *wait != "block") {
		return errors.New("load: need -addr, -workers >= 1, 1 <= -ips <= 16777216 and -wait poll or block")
	}
	res := drive(*addr, *duration, *workers, newRequests(*addr, *ips), *seq, *wait == "poll")
	return json.NewEncoder(os.Stdout).Encode(res)
}

// drive runs the workers until duration has passed and sums their counts.
// Request k (k = seq, seq+1, …, interleaved over the workers) is built by
// reqs.build(k), so every round sends different paths, sessions and IPs.
func drive(addr string, duration time.Duration, workers int, reqs *requests, seq uint64, poll bool) loadResult {
	var (
		stop  atomic.Bool
		mu    sync.Mutex
		total loadResult
		wg    sync.WaitGroup
	)
	start := time.Now()
	timer := time.AfterFunc(duration, func() { stop.Store(true) })
	defer timer.Stop()
	for w := range workers {
		wg.Go(func() {
			r := worker(addr, reqs, seq+uint64(w), uint64(workers), &stop, poll)
			mu.Lock()
			defer mu.Unlock()
			total.Requests += r.Requests
			total.OK += r.OK
			total.Non200 += r.Non200
			total.BadBody += r.BadBody
			total.Errors += r.Errors
			total.IdlePolls += r.IdlePolls
			if total.FirstError == "" {
				total.FirstError = r.FirstError
			}
		})
	}
	wg.Wait()
	total.Elapsed = time.Since(start).Seconds()
	return total
}

// worker sends requests k, k+step, k+2·step, … on one connection,
// reconnecting after an error or a Connection: close, until stop is set.
func worker(addr string, reqs *requests, k, step uint64, stop *atomic.Bool, poll bool) loadResult {
	var (
		res  loadResult
		conn net.Conn
		br   *bufio.Reader
		buf  = make([]byte, 0, 2048)
	)

	fail := func(err error) {
		res.Errors++
		if res.FirstError == "" {
			res.FirstError = err.Error()
		}
		if conn != nil {
			conn.Close()
			conn = nil
		}
	}
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for ; !stop.Load() && res.Errors < maxErrors; k += step {
		if conn == nil {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				fail(err)
				time.Sleep(10 * time.Millisecond)
				continue
			}
			var src io.Reader = c
			if poll {
				if src, err = newPollReader(c, &res.IdlePolls); err != nil {
					c.Close()
					fail(err)
					continue
				}
			}
			conn, br = c, bufio.NewReaderSize(src, 16<<10)
		}
		buf = reqs.build(buf[:0], k)
		if _, err := conn.Write(buf); err != nil {
			fail(err)
			continue
		}
		status, n, closing, err := readResponse(br)
		if err != nil {
			fail(err)
			continue
		}
		res.Requests++
		switch {
		case status != 200:
			res.Non200++
		case n != pixelLen:
			res.BadBody++
		default:
			res.OK++
		}
		if closing {
			conn.Close()
			conn = nil
		}
	}
	return res
}

// pixelLen is the body length of both routes: Echelon's GIF and the plain
// route's body.
const pixelLen = 43

// readResponse reads one HTTP/1.1 response and discards its body. It
// understands only Content-Length bodies, which is all both routes send.
func readResponse(br *bufio.Reader) (status, bodyLen int, closing bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, 0, false, fmt.Errorf("bad status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, 0, false, fmt.Errorf("bad status line %q", line)
	}
	length := -1
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, 0, false, err
		}
		if len(line) <= 2 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, 0, false, fmt.Errorf("bad header line %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, 0, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return 0, 0, false, fmt.Errorf("unexpected Transfer-Encoding %q", value)
		}
	}
	if length < 0 {
		return 0, 0, false, errors.New("response without Content-Length")
	}
	n, err := br.Discard(length)
	return status, n, closing, err
}

// Request variety. The product of the table sizes and the IP count is far
// larger than a round, so no two requests of a run are alike.
const (
	pathCount = 997 // prime, so paths and IPs do not move in lockstep
	siteID    = "bench"
	chromeUA  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	// pageviewsPerSession is how many consecutive requests of one client
	// IP share a session id.
	pageviewsPerSession = 4
)

// requests builds the beacon requests. Both routes get the very same bytes
// (the plain route ignores the query), so the client's cost per request is
// identical and the difference between the routes is the server's alone.
type requests struct {
	host  string
	ips   uint64
	paths []string // query-escaped base64 of each page path
	pages []string // the page URLs, for Referer
	refs  []string // query-escaped base64 referrers; "" sends none
}

func newRequests(host string, ips int) *requests {
	r := &requests{host: host, ips: uint64(ips)}
	sections := []string{"blog", "docs", "pricing", "about", "changelog", "guides"}
	for i := range pathCount {
		p := fmt.Sprintf("/%s/page-%d", sections[i%len(sections)], i)
		if i%10 == 0 {
			p += "?utm_source=newsletter&utm_medium=email"
		}
		r.pages = append(r.pages, "https://bench.example"+p)
		r.paths = append(r.paths, url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(p))))
	}
	for _, ref := range []string{"", "", "https://www.google.com/", "", "https://news.ycombinator.com/item?id=1", "https://bench.example/"} {
		if ref != "" {
			ref = url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(ref)))
		}
		r.refs = append(r.refs, ref)
	}
	return r
}

// build appends request k to dst. Request k comes from client IP k mod
// ips (10.x.y.z), views page k mod pathCount, and belongs to a session of
// pageviewsPerSession consecutive views of that IP.
func (r *requests) build(dst []byte, k uint64) []byte {
	ip := k % r.ips
	visit := k / r.ips
	session := visit / pageviewsPerSession
	page := k % pathCount

	dst = append(dst, "GET /b.gif?p="...)
	dst = append(dst, r.paths[page]...)
	dst = append(dst, "&s="+siteID+"&_v="...)
	dst = strconv.AppendUint(dst, 800+(k*37)%4200, 10)
	dst = append(dst, "&sw=1920&sh=1080&sid="...)
	// A UUID-shaped session id: 8-4-4-4-12 lower-case hex.
	dst = appendHex(dst, ip, 8)
	dst = append(dst, '-')
	dst = appendHex(dst, session>>48, 4)
	dst = append(dst, "-4"...)
	dst = appendHex(dst, session>>36, 3)
	dst = append(dst, "-8"...)
	dst = appendHex(dst, session>>24, 3)
	dst = append(dst, '-')
	dst = appendHex(dst, session, 12)
	if ref := r.refs[k%uint64(len(r.refs))]; ref != "" {
		dst = append(dst, "&ref="...)
		dst = append(dst, ref...)
	}
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, r.host...)
	dst = append(dst, "\r\nUser-Agent: "+chromeUA+
		"\r\nAccept: image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"+
		"\r\nAccept-Encoding: gzip, deflate, br, zstd"+
		"\r\nAccept-Language: en-US,en;q=0.9"+
		"\r\nSec-Ch-Ua: \"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\""+
		"\r\nSec-Ch-Ua-Mobile: ?0"+
		"\r\nSec-Ch-Ua-Platform: \"Windows\""+
		"\r\nSec-Fetch-Dest: image"+
		"\r\nSec-Fetch-Mode: no-cors"+
		"\r\nSec-Fetch-Site: same-origin"+
		"\r\nReferer: "...)
	dst = append(dst, r.pages[page]...)
	dst = append(dst, "\r\nX-Forwarded-For: 10."...)
	dst = strconv.AppendUint(dst, ip>>16&0xff, 10)
	dst = append(dst, '.')
	dst = strconv.AppendUint(dst, ip>>8&0xff, 10)
	dst = append(dst, '.')
	dst = strconv.AppendUint(dst, ip&0xff, 10)
	return append(dst, "\r\n\r\n"...)
}

// appendHex appends the low 4·width bits of v as width lower-case hex digits.
func appendHex(dst []byte, v uint64, width int) []byte {
	const digits = "0123456789abcdef"
	for i := width - 1; i >= 0; i-- {
		dst = append(dst, digits[v>>(4*uint(i))&0xf])
	}
	return dst
}
