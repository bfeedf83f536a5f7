package pow

import (
	"bytes"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

const epoch0 = 80356 // epoch of t0

// faultyFor returns a generator that emits a plausible but wrong module (it
// compiles, with one magic constant changed) for the given epochs' params.
func faultyFor(secret string, epochs ...int64) func(*Params) []byte {
	bad := map[Params]bool{}
	for _, e := range epochs {
		bad[ParamsForEpoch([]byte(secret), e)] = true
	}
	return func(p *Params) []byte {
		if bad[*p] {
			q := *p
			q.M[0] ^= 1
			return SolverWasm(&q)
		}
		return SolverWasm(p)
	}
}

func TestRotator_FaultyModuleKeepsThePreviousOne(t *testing.T) {
	var errs []error
	r := NewRotator([]byte("s"), faultyFor("s", epoch0+1), func(err error) { errs = append(errs, err) })
	good, err := r.Get(epoch0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Get(epoch0 + 1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Epoch != epoch0+1 || got.Source != epoch0 || !bytes.Equal(got.Wasm, good.Wasm) || got.Params != good.Params {
		t.Fatalf("faulty epoch served %d/%d, want the previous module", got.Epoch, got.Source)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "self-check") {
		t.Fatalf("errors reported: %v", errs)
	}
	if again, _ := r.Get(epoch0 + 1); again != got || len(errs) != 1 {
		t.Fatal("a failed epoch is regenerated or reported again")
	}
	if next, _ := r.Get(epoch0 + 2); next.Source != epoch0+2 {
		t.Fatalf("the next epoch serves %d", next.Source)
	}
}

func TestVerifier_TokensOfAFallbackModuleVerify(t *testing.T) {
	var reported atomic.Int32
	v := newTestVerifier(t, "s", Config{Generate: faultyFor("s", epoch0), OnError: func(error) { reported.Add(1) }})
	// Fresh start inside the faulty epoch: the previous epoch's module is
	// generated and served instead.
	pz, err := v.Puzzle(t0)
	if err != nil {
		t.Fatal(err)
	}
	if pz.Module.Source != epoch0-1 || reported.Load() != 1 {
		t.Fatalf("serving epoch %d, %d errors", pz.Module.Source, reported.Load())
	}
	tok := mint(t, v, testSID, testSite, 0, t0)
	if got := v.Check(tok, testSID, testSite, "", 0, t0); got != Valid {
		t.Fatalf("token of the fallback module: %v", got)
	}
}

func TestRotator_NoModuleAtAllIsAnError(t *testing.T) {
	for name, broken := range map[string]func(*Params) []byte{
		"garbage": func(*Params) []byte { return []byte("not wasm") },
		"panic":   func(*Params) []byte { panic("boom") },
	} {
		var reported int
		v := newTestVerifier(t, "s", Config{Generate: broken, OnError: func(error) { reported++ }})
		if _, err := v.Puzzle(t0); err == nil {
			t.Fatalf("%s: Puzzle succeeded without a module", name)
		}
		if reported != 1 {
			t.Fatalf("%s: %d errors reported", name, reported)
		}
		if got := v.verifyNow("28928160.1.00000000000000000000000000000000", testSID, testSite, 0, t0); got != Invalid {
			t.Fatalf("%s: Verify without a module: %v", name, got)
		}
	}
}

func TestRotator_ConcurrentCallersShareOneGeneration(t *testing.T) {
	var calls atomic.Int32
	gen := func(p *Params) []byte { calls.Add(1); return SolverWasm(p) }
	r := NewRotator([]byte("s"), gen, func(err error) { t.Error(err) })
	var wg sync.WaitGroup
	results := make([]*Generation, 32)
	for i := range results {
		wg.Go(func() {
			g, err := r.Get(epoch0)
			if err != nil {
				t.Error(err)
			}
			results[i] = g
		})
	}
	wg.Wait()
	if calls.Load() != 1 {
		t.Fatalf("generator ran %d times", calls.Load())
	}
	for _, g := range results {
		if g != results[0] {
			t.Fatal("callers got different generations")
		}
	}
}

func TestSelfCheck_RejectsWrongModules(t *testing.T) {
	p := ParamsFromSeed(seqSeed())
	q := p
	q.R[2]++
	for name, wasm := range map[string][]byte{
		"garbage":         []byte("\x00asm garbage"),
		"one-hash only":   oneHashSolverWasm(&p),
		"other rotations": SolverWasm(&q),
		"truncated":       SolverWasm(&p)[:500],
	} {
		if err := SelfCheck(t.Context(), &p, wasm); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := SelfCheck(t.Context(), &p, SolverWasm(&p)); err != nil {
		t.Fatal(err)
	}
}
