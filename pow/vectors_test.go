package pow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/tetratelabs/wazero"
)

// Known modules: byte lengths and SHA-256 sums of the one-hash module for
// fixed seeds, which pin the emitter's output byte for byte.

func seqSeed() [64]byte {
	var s [64]byte
	for i := range s {
		s[i] = byte(i)
	}
	return s
}

var secondParams = Params{
	M: [4]uint64{0xd732c3291380ae00, 0xb15a5f1ea2984298, 0x7cfa0c77288b5c97, 0x02a57a913b19924d},
	R: [5]uint8{13, 16, 37, 38, 30},
}

func TestParamsFromSeed_SpecVector(t *testing.T) {
	p := ParamsFromSeed(seqSeed())
	want := Params{
		M: [4]uint64{0x0706050403020100, 0x0f0e0d0c0b0a0908, 0x1716151413121110, 0x1f1e1d1c1b1a1918},
		R: [5]uint8{39, 40, 41, 42, 43},
	}
	if p != want {
		t.Fatalf("ParamsFromSeed(00..3F) = %+v, want %+v", p, want)
	}
}

type hashVector struct {
	params *Params
	in     string
	tok    string
}

func hashVectors() []hashVector {
	seq := ParamsFromSeed(seqSeed())
	return []hashVector{
		{&seq, "", "416fa393f364e7e030a8e4974ff85224"},
		{&seq, "abcdefg", "5661961c7fb162aef3bb578696f5ea6c"},
		{&seq, "abcdefgh", "69b65c98208cd17c2d2c9ebd104a3593"},
		{&seq, "challenge:session:site", "2ed79d35672d3ca43c2df0fc7195d885"},
		{&seq, "95c3d62afc0c40ec9db8433ba17029eb:123e4567-e89b-42d3-a456-426614174000:my-site", "bb11e1e4df248a5dfa14e2062239ca27"},
		{&secondParams, "challenge:session:site", "278fc8643a4a437b2dd6dd769615225a"},
	}
}

func TestHash_SpecVectors(t *testing.T) {
	for _, v := range hashVectors() {
		h := Hash(v.params, []byte(v.in))
		if got := hex.EncodeToString(h[:]); got != v.tok {
			t.Errorf("Hash(%q) = %s, want %s", v.in, got, v.tok)
		}
	}
}

func TestChallenge_SpecVector(t *testing.T) {
	got := Challenge([]byte("example-secret"), 28928160)
	if got != "95c3d62afc0c40ec9db8433ba17029eb" {
		t.Fatalf("Challenge = %s", got)
	}
	in := got + ":123e4567-e89b-42d3-a456-426614174000:my-site"
	if len(in) != 77 {
		t.Fatalf("input length %d, want 77", len(in))
	}
}

func TestOneHashSolverWasm_SpecVectors(t *testing.T) {
	seq := ParamsFromSeed(seqSeed())
	for _, c := range []struct {
		p      *Params
		size   int
		sha256 string
	}{
		{&seq, 924, "08da7346d78ef89ab804961d712807c2fa61b5e5f4cf97ee1799552282280361"},
		{&secondParams, 926, "287a7ea499c43ec0034127e30f9a362b19d579904dbbe54bff3c2d7ccbd5133e"},
	} {
		m := oneHashSolverWasm(c.p)
		sum := sha256.Sum256(m)
		if len(m) != c.size || hex.EncodeToString(sum[:]) != c.sha256 {
			t.Errorf("oneHashSolverWasm(%+v): %d bytes, sha256 %x; want %d, %s", *c.p, len(m), sum, c.size, c.sha256)
		}
	}
}

func TestOneHashSolverWasm_RunsSpecVectorsUnderWazero(t *testing.T) {
	ctx := context.Background()
	for _, v := range hashVectors() {
		for _, mod := range [][]byte{oneHashSolverWasm(v.params), SolverWasm(v.params)} {
			inst, err := instantiate(ctx, wazero.NewRuntimeConfigInterpreter(), mod)
			if err != nil {
				t.Fatal(err)
			}
			h, err := inst.hash(ctx, []byte(v.in))
			inst.close(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(h[:]); got != v.tok {
				t.Errorf("wasm solve(%q) = %s, want %s", v.in, got, v.tok)
			}
		}
	}
}
