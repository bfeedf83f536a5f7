package pow

import (
	"context"
	"encoding/base64"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Generation is the module served during one epoch.
type Generation struct {
	Epoch int64 // the epoch it serves
	// Source is the epoch whose parameters it uses: Epoch itself, or an
	// earlier epoch when this epoch's module failed its self-check and the
	// previous module is served on.
	Source int64
	Params Params
	Wasm   []byte
	Base64 string // standard base64 of Wasm, for the _w literal
}

// Rotator holds the module of each recent epoch. Modules are generated
// lazily on the first request for an epoch; concurrent callers share one
// generation. Every module is self-checked (SelfCheck) before use. If that
// fails, the newest earlier module keeps being served for the epoch, and
// the error goes to the OnError callback once.
//
// Because the parameters derive from the secret and the epoch only, every
// node with the same secret and generator serves the same bytes. A failed
// self-check is just as deterministic, so all nodes fall back alike.
type Rotator struct {
	secret   []byte
	generate func(*Params) []byte
	onError  func(error)

	slots    [rotatorSlots]atomic.Pointer[rotatorEntry]
	mu       sync.Mutex // guards inflight
	inflight map[int64]*flight
}

// rotatorSlots epochs are kept; verification needs at most two (a window
// spanning a boundary), generation of a third may be in flight.
const rotatorSlots = 4

type rotatorEntry struct {
	epoch int64
	gen   *Generation // nil if no module could be produced
	err   error       // set when gen is nil
}

type flight struct {
	done  chan struct{}
	entry *rotatorEntry
}

// NewRotator returns a Rotator for secret. generate emits a module for
// parameters (nil means SolverWasm; tests inject faulty ones); onError receives
// self-check failures (nil ignores them).
func NewRotator(secret []byte, generate func(*Params) []byte, onError func(error)) *Rotator {
	if generate == nil {
		generate = SolverWasm
	}
	if onError == nil {
		onError = func(error) {}
	}
	return &Rotator{
		secret:   append([]byte(nil), secret...),
		generate: generate,
		onError:  onError,
		inflight: make(map[int64]*flight),
	}
}

// At returns the module for the epoch of now.
func (r *Rotator) At(now time.Time) (*Generation, error) { return r.Get(Epoch(now)) }

// Get returns the module for epoch, generating it on first use. An error
// means no module passed its self-check, not even a previous one.
func (r *Rotator) Get(epoch int64) (*Generation, error) {
	if e := r.slot(epoch).Load(); e != nil && e.epoch == epoch {
		return e.gen, e.err
	}
	return r.getSlow(epoch)
}

// ParamsOf returns the parameters of epoch's module without generating
// it: those of the held module, or derived from the secret (one HMAC).
// For checking old tokens, whose modules are no longer held.
func (r *Rotator) ParamsOf(epoch int64) Params {
	if e := r.slot(epoch).Load(); e != nil && e.epoch == epoch && e.gen != nil {
		return e.gen.Params
	}
	return ParamsForEpoch(r.secret, epoch)
}

func (r *Rotator) slot(epoch int64) *atomic.Pointer[rotatorEntry] {
	return &r.slots[uint64(epoch)%rotatorSlots]
}

func (r *Rotator) getSlow(epoch int64) (*Generation, error) {
	r.mu.Lock()
	if e := r.slot(epoch).Load(); e != nil && e.epoch == epoch {
		r.mu.Unlock()
		return e.gen, e.err
	}
	if f, ok := r.inflight[epoch]; ok {
		r.mu.Unlock()
		<-f.done
		return f.entry.gen, f.entry.err
	}
	f := &flight{done: make(chan struct{})}
	r.inflight[epoch] = f
	r.mu.Unlock()

	f.entry = r.build(epoch)
	r.store(f.entry)
	r.mu.Lock()
	delete(r.inflight, epoch)
	r.mu.Unlock()
	close(f.done)
	return f.entry.gen, f.entry.err
}

// store keeps e unless its slot already holds a newer epoch.
func (r *Rotator) store(e *rotatorEntry) {
	s := r.slot(e.epoch)
	for {
		old := s.Load()
		if old != nil && old.epoch > e.epoch {
			return
		}
		if s.CompareAndSwap(old, e) {
			return
		}
	}
}

func (r *Rotator) build(epoch int64) *rotatorEntry {
	g, err := r.fresh(epoch)
	if err == nil {
		return &rotatorEntry{epoch: epoch, gen: g}
	}
	r.onError(err)

	prev := r.newestBefore(epoch)
	if prev == nil {
		// Nothing held (a fresh start): try the previous epoch once.
		if g, perr := r.fresh(epoch - 1); perr == nil {
			r.store(&rotatorEntry{epoch: epoch - 1, gen: g})
			prev = g
		}
	}
	if prev == nil {
		return &rotatorEntry{epoch: epoch, err: err}
	}
	fallback := *prev
	fallback.Epoch = epoch
	return &rotatorEntry{epoch: epoch, gen: &fallback}
}

// fresh generates and self-checks the module of epoch. A panicking
// generator is an error too, so waiting callers are never stranded.
func (r *Rotator) fresh(epoch int64) (g *Generation, err error) {
	defer func() {
		if v := recover(); v != nil {
			g, err = nil, fmt.Errorf("pow: module generator panicked for epoch %d: %v", epoch, v)
		}
	}()
	p := ParamsForEpoch(r.secret, epoch)
	wasm := r.generate(&p)
	if err := SelfCheck(context.Background(), &p, wasm); err != nil {
		return nil, fmt.Errorf("pow: module for epoch %d failed its self-check: %w", epoch, err)
	}
	return &Generation{
		Epoch:  epoch,
		Source: epoch,
		Params: p,
		Wasm:   wasm,
		Base64: base64.StdEncoding.EncodeToString(wasm),
	}, nil
}

// newestBefore returns the held module of the newest epoch before epoch.
func (r *Rotator) newestBefore(epoch int64) *Generation {
	var best *Generation
	for i := range r.slots {
		e := r.slots[i].Load()
		if e == nil || e.gen == nil || e.epoch >= epoch {
			continue
		}
		if best == nil || e.epoch > best.Epoch {
			best = e.gen
		}
	}
	return best
}
