package handlers

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/echelon-analytics/caddy-echelon/scoring"
)

// DefaultHoldBeacons is how many answered beacons Echelon processes
// together when it runs in Caddy (Tracking.HoldBeacons).
const DefaultHoldBeacons = 128

// heldBeacon is what processing a beacon needs of its request, taken
// before the answer: the query's parameters, the headers' signals and the
// arrival time. A held one keeps at most maxSharedQuery bytes of the query
// (the parameters are substrings of it), a User-Agent of at most
// maxCachedUA bytes, and no other header text but a clipped
// Sec-Fetch-Dest.
type heldBeacon struct {
	q      rawParams
	rawLen int
	uai    *uaEntry
	peer   Peer
	cookie string        // the request's valid _ev cookie, or ""
	in     scoring.Input // the request's header signals (scoreInput), no site yet
	lang   uint64        // scoring.LanguageHash of Accept-Language, 0 without
	now    time.Time     // arrival, UTC
}

// maxFetchDest clips a held Sec-Fetch-Dest: the values a browser sends
// are short words, and a longer one scores the same clipped.
const maxFetchDest = 32

// holdBeacon takes what processing r needs.
func (t *Tracking) holdBeacon(r *http.Request, uai *uaEntry, brands scoring.Brands, peer Peer) heldBeacon {
	h := heldBeacon{
		q:      scanRaw(r.URL.RawQuery),
		rawLen: len(r.URL.RawQuery),
		uai:    uai,
		peer:   peer,
		cookie: visitorCookie(r),
		in:     t.scoreInput(r, uai.ua, brands, peer, scoring.HitBeacon, ""),
		now:    t.Now().UTC(),
	}
	if len(h.in.FetchDest) > maxFetchDest {
		h.in.FetchDest = strings.Clone(h.in.FetchDest[:maxFetchDest])
	}
	if v := r.Header["Accept-Language"]; len(v) > 0 && t.Prints != nil { // canonical key: no Values
		h.lang = scoring.LanguageHash(v[0])
	}
	return h
}

// holdable reports whether h may wait for its processing: not in cookie
// mode, whose answer sets the _ev cookie, and not with a query or a
// User-Agent longer than a held beacon may keep.
func (h *heldBeacon) holdable() bool {
	return h.rawLen <= maxSharedQuery && len(h.uai.ua) <= maxCachedUA && h.q.get(qCookie) != "1"
}

// beaconBatch holds answered beacons until they are processed together:
// run one after another in a tight loop rather than between the reading
// and the answering of requests, a beacon's processing costs about 10 µs
// less server CPU (docs/performance.md, Beacon path). Tracking.ProcessHeld
// processes them: when a batch is full, before an event batch, before a
// bot sighting or an adaptive-difficulty flag changes an IP's state, and
// through the writer (storage.Writer.Feed) before every flush of views,
// on Close and before an API write; StopHolding at unload.
type beaconBatch struct {
	run    sync.Mutex // held while a batch is processed, so that ProcessHeld returns after every beacon held before it
	mu     sync.Mutex // guards held, spare and closed
	held   []heldBeacon
	spare  []heldBeacon // the array of the last processed batch, empty; nil while a batch is processed
	closed bool
}

// hold adds h unless the batch is closed, off (size 0) or holds twice
// size already (while a full batch waits for the one being processed);
// full reports that the caller should process the batch.
func (bb *beaconBatch) hold(h *heldBeacon, size int) (held, full bool) {
	bb.mu.Lock()
	defer bb.mu.Unlock()
	if bb.closed || size <= 0 || len(bb.held) >= 2*size {
		return false, false
	}
	if bb.held == nil {
		bb.held = make([]heldBeacon, 0, size)
	}
	bb.held = append(bb.held, *h)
	return true, len(bb.held) >= size
}

// take returns the held beacons, nil if there are none, and goes on in
// the spare array.
func (bb *beaconBatch) take() []heldBeacon {
	bb.mu.Lock()
	defer bb.mu.Unlock()
	if len(bb.held) == 0 {
		return nil
	}
	held := bb.held
	bb.held, bb.spare = bb.spare, nil
	return held
}

// giveBack keeps a processed batch's array as the spare one.
func (bb *beaconBatch) giveBack(held []heldBeacon) {
	clear(held)
	bb.mu.Lock()
	bb.spare = held[:0]
	bb.mu.Unlock()
}

// ProcessHeld processes the beacons answered and not processed yet. It
// returns when every beacon held before the call is processed. The writer
// calls it before each flush of views (storage.Writer.Feed), and an event
// batch before its events, so that an event follows its pageview.
func (t *Tracking) ProcessHeld() {
	bb := &t.batch
	bb.run.Lock()
	defer bb.run.Unlock()
	held := bb.take()
	if held == nil {
		return
	}
	for i := range held {
		outcome, _ := t.processBeacon(&held[i])
		t.Observe.Beacon(outcome)
	}
	bb.giveBack(held)
}

// StopHolding processes the held beacons; from then on each beacon is
// processed before its answer. The Caddy module calls it when it unloads.
func (t *Tracking) StopHolding() {
	t.batch.mu.Lock()
	t.batch.closed = true
	t.batch.mu.Unlock()
	t.ProcessHeld()
}
