package pow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Memory layout every caller uses: input at 0, output at 2048.
const (
	InPtr  = 0
	OutPtr = 2048
)

// selfCheckTimeout stops a broken module that never returns.
const selfCheckTimeout = 5 * time.Second

// SelfCheck compiles wasm under wazero (interpreter) and compares it with the
// Go reference on fixed inputs: solve against Hash on inputs of many lengths
// and bytes, and search against Solve (first nonce found, its digits in
// memory, its hash, and the "not found in [start, end)" answer).
func SelfCheck(ctx context.Context, p *Params, wasm []byte) error {
	ctx, cancel := context.WithTimeout(ctx, selfCheckTimeout)
	defer cancel()
	cfg := wazero.NewRuntimeConfigInterpreter().WithCloseOnContextDone(true)
	inst, err := instantiate(ctx, cfg, wasm)
	if err != nil {
		return err
	}
	defer inst.close(ctx)
	if inst.search == nil {
		return errors.New("pow self-check: module has no search export")
	}

	for _, in := range selfCheckInputs() {
		got, err := inst.hash(ctx, in)
		if err != nil {
			return err
		}
		if want := Hash(p, in); got != want {
			return fmt.Errorf("pow self-check: solve(%d bytes) = %x, Go hash %x", len(in), got, want)
		}
	}

	prefix := []byte("0123456789abcdef0123456789abcdef:self-check:site:")
	for _, c := range []struct {
		bits  int
		start uint32
	}{
		{6, 0},
		{4, 4294960000}, // ten digits, above 2^31: unsigned division
	} {
		wantN, wantH, ok := Solve(p, prefix, c.bits, c.start)
		if !ok {
			return fmt.Errorf("pow self-check: Go found no nonce for %d bits from %d", c.bits, c.start)
		}
		n, digits, h, err := inst.find(ctx, prefix, c.bits, c.start, maxNonce)
		if err != nil {
			return err
		}
		if n != wantN || h != wantH || digits != strconv.FormatUint(uint64(wantN), 10) {
			return fmt.Errorf("pow self-check: search(%d bits from %d) = %d %q %x, Go %d %x",
				c.bits, c.start, n, digits, h, wantN, wantH)
		}
	}
	if n, _, _, err := inst.find(ctx, prefix, 120, 10, 14); err != nil || n != 14 {
		return fmt.Errorf("pow self-check: bounded search returned %d (want 14), err %v", n, err)
	}
	return nil
}

func selfCheckInputs() [][]byte {
	var ins [][]byte
	pattern := []byte("challenge:session:site:0123456789")
	for n := 0; n <= len(pattern); n++ {
		ins = append(ins, pattern[:n])
	}
	high := make([]byte, 300) // every byte value (unsigned loads), length > 255
	for i := range high {
		high[i] = byte(255 - i)
	}
	return append(ins, high[:77], high[:255], high)
}

// instance is one instantiated module under wazero.
type instance struct {
	rt     wazero.Runtime
	mem    api.Memory
	solve  api.Function
	search api.Function // nil for oneHashSolverWasm
}

func instantiate(ctx context.Context, cfg wazero.RuntimeConfig, wasm []byte) (*instance, error) {
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	mod, err := rt.Instantiate(ctx, wasm)
	if err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("pow self-check: instantiate: %w", err)
	}
	inst := &instance{rt: rt, mem: mod.Memory(), solve: mod.ExportedFunction("solve"), search: mod.ExportedFunction("search")}
	if inst.mem == nil || inst.solve == nil {
		rt.Close(ctx)
		return nil, errors.New("pow self-check: module lacks memory or solve")
	}
	return inst, nil
}

func (in *instance) close(ctx context.Context) { in.rt.Close(ctx) }

// hash runs solve(InPtr, len(input), OutPtr).
func (in *instance) hash(ctx context.Context, input []byte) ([16]byte, error) {
	var h [16]byte
	if !in.mem.Write(InPtr, input) {
		return h, errors.New("pow self-check: input does not fit")
	}
	if _, err := in.solve.Call(ctx, InPtr, uint64(len(input)), OutPtr); err != nil {
		return h, fmt.Errorf("pow self-check: solve: %w", err)
	}
	return in.read(OutPtr)
}

// find runs search(InPtr, len(prefix), OutPtr, bits, start, end) and returns
// the nonce, the digits the module left after the prefix and the hash.
func (in *instance) find(ctx context.Context, prefix []byte, bits int, start, end uint32) (uint32, string, [16]byte, error) {
	var h [16]byte
	// Zeros after the prefix, so stale digits of an earlier call cannot
	// pass for this call's.
	padded := append(append([]byte(nil), prefix...), make([]byte, maxNonceDigits)...)
	if !in.mem.Write(InPtr, padded) {
		return 0, "", h, errors.New("pow self-check: prefix does not fit")
	}
	res, err := in.search.Call(ctx, InPtr, uint64(len(prefix)), OutPtr, uint64(bits), uint64(start), uint64(end))
	if err != nil {
		return 0, "", h, fmt.Errorf("pow self-check: search: %w", err)
	}
	n := uint32(res[0])
	tail, _ := in.mem.Read(InPtr+uint32(len(prefix)), maxNonceDigits)
	digits := string(tail)
	if i := bytes.IndexFunc(tail, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		digits = string(tail[:i])
	}
	h, err = in.read(OutPtr)
	return n, digits, h, err
}

func (in *instance) read(off uint32) ([16]byte, error) {
	var h [16]byte
	b, ok := in.mem.Read(off, 16)
	if !ok {
		return h, errors.New("pow self-check: output out of range")
	}
	copy(h[:], b)
	return h, nil
}
