package pow

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/tetratelabs/wazero"
)

func randomParams(rng *rand.Rand) Params {
	var seed [64]byte
	for i := range seed {
		seed[i] = byte(rng.Uint32())
	}
	return ParamsFromSeed(seed)
}

// The served module is deterministic, and with its round loop smaller
// than the unrolled reference module even with search added.
func TestSolverWasm_IsDeterministicAndSmallerThanOneHashSolverWasm(t *testing.T) {
	p := ParamsFromSeed(seqSeed())
	a, b := SolverWasm(&p), SolverWasm(&p)
	if !bytes.Equal(a, b) {
		t.Fatal("SolverWasm is not deterministic")
	}
	one := oneHashSolverWasm(&p)
	if len(a) >= len(one) {
		t.Fatalf("served module %d bytes, one-hash %d: the round loop should make it smaller", len(a), len(one))
	}
}

// For random parameters the served module compiles (interpreter and
// compiler), solve matches Hash on random inputs, and search's nonce
// verifies natively with the wanted leading zero bits.
func TestSolverWasm_RandomParamsMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	configs := []wazero.RuntimeConfig{wazero.NewRuntimeConfigInterpreter(), wazero.NewRuntimeConfigCompiler()}
	for i := range 24 {
		p := randomParams(rng)
		mod := SolverWasm(&p)
		if err := SelfCheck(ctx, &p, mod); err != nil {
			t.Fatalf("params %+v: %v", p, err)
		}
		inst, err := instantiate(ctx, configs[i%2], mod)
		if err != nil {
			t.Fatal(err)
		}
		for range 20 {
			in := make([]byte, rng.IntN(300))
			for j := range in {
				in[j] = byte(rng.Uint32())
			}
			got, err := inst.hash(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if want := Hash(&p, in); got != want {
				t.Fatalf("params %+v, %d-byte input: wasm %x, Go %x", p, len(in), got, want)
			}
		}
		bits := 6 + i%3
		prefix := []byte(Challenge([]byte{byte(i)}, int64(i)) + ":sid-" + strconv.Itoa(i) + ":site:")
		n, digits, h, err := inst.find(ctx, prefix, bits, uint32(rng.IntN(1000)), maxNonce)
		inst.close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if digits != strconv.FormatUint(uint64(n), 10) {
			t.Fatalf("search left digits %q for nonce %d", digits, n)
		}
		if want := Hash(&p, append(prefix, digits...)); h != want || LeadingZeroBits(h) < bits {
			t.Fatalf("search nonce %d: hash %x (%d zero bits), Go %x, want ≥ %d bits", n, h, LeadingZeroBits(h), want, bits)
		}
	}
}

func TestSolverWasm_SizeFitsTheScriptBudget(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	lo, hi := 1<<30, 0
	for range 1000 {
		p := randomParams(rng)
		n := len(SolverWasm(&p))
		lo, hi = min(lo, n), max(hi, n)
	}
	p := randomParams(rng)
	one, served := oneHashSolverWasm(&p), SolverWasm(&p)
	b64 := base64.StdEncoding.EncodeToString(served)
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write([]byte(b64))
	zw.Close()
	t.Logf("one-hash module %d bytes; served module %d bytes, %d as base64, %d as gzipped base64; random params: %d..%d bytes",
		len(one), len(served), len(b64), gz.Len(), lo, hi)
	if hi > 640 {
		t.Fatalf("served module up to %d bytes, budget 640 B", hi)
	}
}

func TestLeadingZeroBits(t *testing.T) {
	for _, c := range []struct {
		h    [16]byte
		want int
	}{
		{[16]byte{0x80}, 0},
		{[16]byte{0x01}, 7},
		{[16]byte{0x00, 0x0f}, 12},
		{[16]byte{8: 0x40}, 65},
		{[16]byte{}, 128},
	} {
		if got := LeadingZeroBits(c.h); got != c.want {
			t.Errorf("LeadingZeroBits(%x) = %d, want %d", c.h, got, c.want)
		}
	}
}

func TestSolve_FindsFirstNonceWithEnoughZeroBits(t *testing.T) {
	p := ParamsFromSeed(seqSeed())
	prefix := []byte("c:s:x:")
	n, h, ok := Solve(&p, prefix, 8, 0)
	if !ok || LeadingZeroBits(h) < 8 {
		t.Fatalf("Solve = %d %x %v", n, h, ok)
	}
	for m := range n {
		if LeadingZeroBits(Hash(&p, strconv.AppendUint(append([]byte(nil), prefix...), uint64(m), 10))) >= 8 {
			t.Fatalf("nonce %d already had 8 bits; Solve returned %d", m, n)
		}
	}
}
