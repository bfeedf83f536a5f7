package inject

import (
	"io"
	"net/http"
	"strconv"
	"strings"
)

type state uint8

const (
	undecided state = iota // no final status yet
	scanning               // an HTML 200: looking for where the tag goes
	passing                // forwarding untouched, or the tag is in
)

// outcome is what the headers can say when they go out.
type outcome uint8

const (
	unchanged outcome = iota // the body goes out as the upstream sent it
	tagged                   // the body gets the tag: Content-Length grows by it
	unknown                  // not known yet: Content-Length must go
)

// writer is the http.ResponseWriter Wrap hands the next handler. Like any
// ResponseWriter it is used by one goroutine at a time.
type writer struct {
	http.ResponseWriter
	in    *Injector
	state state
	// committed says the status line has gone to ResponseWriter. While
	// scanning it is held back until the outcome is known, the handler
	// flushes, or pending outgrows the limit.
	committed bool
	status    int
	// pending holds bytes received but not yet written: everything while
	// uncommitted, else the bytes from the candidate </body> on (if any),
	// and last a partial end tag to scan again with the next write.
	pending []byte
	scanned int // pending[:scanned] has been scanned
	cand    int // offset in pending of the last </body> seen, or -1
	// carry holds the last bytes scanned, to find markers split across
	// writes; joint is scratch space for that search.
	carry, joint []byte
	pooled       *[]byte // the pool's buffer pending started in, if any
	err          error   // the first write error; later writes return it
}

// WriteHeader decides from the status and headers whether the body is a
// page to tag. A 1xx other than 101 is forwarded and decides nothing.
func (w *writer) WriteHeader(code int) {
	switch {
	case w.state == passing:
		w.ResponseWriter.WriteHeader(code)
		return
	case w.state == scanning:
		return // superfluous; the status is the first one
	case code >= 100 && code < 200 && code != http.StatusSwitchingProtocols:
		w.ResponseWriter.WriteHeader(code)
		return
	}
	if code != http.StatusOK || !taggable(w.Header()) {
		w.pass()
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.state, w.status = scanning, code
	buf := make([]byte, 0, 3*w.in.carry)
	w.carry, w.joint = buf[:0:w.in.carry], buf[w.in.carry:w.in.carry]
	if h := w.Header(); len(h["Content-Length"]) == 0 || len(h["Trailer"]) > 0 {
		// Holding the status line back only pays to correct a
		// Content-Length; with trailers it would even do harm, as their
		// values are set in the header map after the body.
		w.commit(unknown)
	}
}

// taggable reports whether a 200 response with header h may get the tag:
// uncompressed HTML, not a range, not marked no-transform, not a download.
func taggable(h http.Header) bool {
	if ct, _, _ := strings.Cut(first(h["Content-Type"]), ";"); !strings.EqualFold(strings.TrimSpace(ct), "text/html") {
		return false
	}
	for _, ce := range h["Content-Encoding"] {
		if ce = strings.TrimSpace(ce); ce != "" && !strings.EqualFold(ce, "identity") {
			return false
		}
	}
	if len(h["Content-Range"]) > 0 {
		return false
	}
	for _, cc := range h["Cache-Control"] {
		if strings.Contains(strings.ToLower(cc), "no-transform") {
			return false
		}
	}
	if cd, _, _ := strings.Cut(first(h["Content-Disposition"]), ";"); strings.EqualFold(strings.TrimSpace(cd), "attachment") {
		return false
	}
	return true
}

// first returns the first value of a header, or "". Headers are read by
// their canonical keys directly: this runs for every response.
func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// pass makes the writer a plain forwarder from now on.
// It returns a pooled pending buffer, so nothing may use pending after.
func (w *writer) pass() {
	w.state, w.committed = passing, true
	if w.pooled != nil {
		w.in.bufs.Put(w.pooled)
		w.pooled = nil
	}
	w.pending, w.carry, w.joint = nil, nil, nil
}

// commit sends the status line with the headers fixed for o.
func (w *writer) commit(o outcome) {
	if o != unchanged {
		h := w.Header()
		cl := first(h["Content-Length"])
		delete(h, "Content-Length")
		if n, err := strconv.ParseInt(cl, 10, 64); o == tagged && err == nil && n >= 0 {
			h["Content-Length"] = []string{strconv.FormatInt(n+int64(len(w.in.tag)), 10)}
		}
		// The body is no longer the upstream's bytes: a strong validator
		// would let If-Range splice the upstream's ranges into our page.
		if et := first(h["Etag"]); et != "" && !strings.HasPrefix(et, "W/") {
			h["Etag"] = []string{"W/" + et}
		}
		delete(h, "Accept-Ranges")
	}
	w.committed = true
	w.ResponseWriter.WriteHeader(w.status)
}

func (w *writer) Write(p []byte) (int, error) {
	if w.state == undecided {
		w.WriteHeader(http.StatusOK)
	}
	if w.state == passing {
		return w.ResponseWriter.Write(p)
	}
	if w.err != nil {
		return 0, w.err
	}
	if err := w.scan(p); err != nil {
		w.err = err
		return 0, err
	}
	return len(p), nil
}

// scan takes the next bytes of a page: it writes what is settled and keeps
// the rest in pending.
func (w *writer) scan(p []byte) error {
	buf, from := p, 0
	if len(w.pending) > 0 {
		w.pending = append(w.pending, p...)
		buf, from = w.pending, w.scanned
	}
	f := findTags(buf, from)
	if w.in.mentions(w.carry, buf[from:f.end], w.joint) {
		return w.release(buf, -1, unchanged)
	}
	if f.head >= 0 {
		return w.release(buf, f.head, tagged)
	}
	w.carry = w.in.keepCarry(w.carry, buf[from:f.end])
	if f.body >= 0 {
		w.cand = f.body
	}
	if !w.committed {
		if len(buf) <= w.in.limit {
			w.hold(buf, 0, f.end)
			return nil
		}
		w.commit(unknown)
	}
	keep := f.end
	if w.cand >= 0 {
		if f.end-w.cand > w.in.limit {
			w.cand = -1 // too much after this </body> to hold
		} else {
			keep = w.cand
		}
	}
	if err := w.write(buf[:keep]); err != nil {
		return err
	}
	w.hold(buf, keep, f.end)
	return nil
}

// release ends scanning: it commits the headers for o if not yet done and
// writes buf, with the tag at offset at (-1: nowhere).
func (w *writer) release(buf []byte, at int, o outcome) error {
	if !w.committed {
		w.commit(o)
	}
	err := w.writeTagged(buf, at)
	w.pass()
	return err
}

// writeTagged writes buf with the tag at offset at (-1: nowhere), in one
// Write: a compressing writer outside (Caddy's encode) decides from the
// first write whether the body is long enough to compress, so it must not
// see the page cut into a few bytes before the tag.
func (w *writer) writeTagged(buf []byte, at int) error {
	if at < 0 {
		return w.write(buf)
	}
	out := make([]byte, 0, len(buf)+len(w.in.tag))
	out = append(out, buf[:at]...)
	out = append(out, w.in.tag...)
	return w.write(append(out, buf[at:]...))
}

// hold keeps buf[keep:] in pending; buf[keep:end] has been scanned.
func (w *writer) hold(buf []byte, keep, end int) {
	if len(w.pending) > 0 { // buf is pending
		w.pending = w.pending[:copy(w.pending, w.pending[keep:])]
	} else {
		if w.pooled == nil && !w.committed {
			// Until the headers go, the page may be held up to the
			// limit: one pooled buffer instead of a growing slice.
			w.pooled = w.in.buffer()
			w.pending = (*w.pooled)[:0]
		}
		w.pending = append(w.pending[:0], buf[keep:]...)
	}
	w.scanned = end - keep
	if w.cand >= 0 {
		w.cand -= keep
	}
}

func (w *writer) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	_, err := w.ResponseWriter.Write(b)
	return err
}

// finish ends the body: a withheld partial end tag is just text now, and
// the last </body> seen, if still held, gets the tag.
func (w *writer) finish() error {
	if w.state != scanning || w.err != nil {
		w.pass()
		return w.err
	}
	if w.cand < 0 {
		return w.release(w.pending, -1, unchanged)
	}
	return w.release(w.pending, w.cand, tagged)
}

// FlushError writes everything that cannot be part of the insertion point
// and flushes. Before the outcome is known that commits the headers
// without Content-Length.
func (w *writer) FlushError() error {
	if w.state == undecided {
		w.WriteHeader(http.StatusOK)
	}
	if w.state == scanning {
		if w.err != nil {
			return w.err
		}
		if !w.committed {
			w.commit(unknown)
			keep := w.scanned
			if w.cand >= 0 {
				keep = w.cand
			}
			if err := w.write(w.pending[:keep]); err != nil {
				w.err = err
				return err
			}
			w.hold(w.pending, keep, w.scanned)
		}
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush implements http.Flusher.
func (w *writer) Flush() { _ = w.FlushError() }

// ReadFrom keeps io.Copy's fast path (sendfile) for passed-through bodies.
func (w *writer) ReadFrom(r io.Reader) (int64, error) {
	if w.state == undecided {
		w.WriteHeader(http.StatusOK)
	}
	if w.state == passing {
		return io.Copy(w.ResponseWriter, r)
	}
	return io.Copy(writeOnly{w}, r)
}

// writeOnly hides writer's ReadFrom from io.Copy.
type writeOnly struct{ io.Writer }

// Unwrap lets http.ResponseController reach the connection.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
