package pow

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
)

// A typical hash input: 32-hex challenge, UUID sid, short site, nonce.
var benchInput = []byte("95c3d62afc0c40ec9db8433ba17029eb:123e4567-e89b-42d3-a456-426614174000:my-site:123456")

func BenchmarkHash(b *testing.B) {
	p := ParamsFromSeed(seqSeed())
	b.SetBytes(int64(len(benchInput)))
	b.ReportAllocs()
	for b.Loop() {
		Hash(&p, benchInput)
	}
}

// BenchmarkVerify is the hot path: a valid token, challenge and module cached.
func BenchmarkVerify(b *testing.B) {
	v := newTestVerifier(b, "bench", Config{Difficulty: 8})
	tok := mint(b, v, testSID, testSite, 8, t0)
	if v.verifyNow(tok, testSID, testSite, 0, t0) != Valid {
		b.Fatal("token invalid")
	}
	b.ReportAllocs()
	for b.Loop() {
		v.verifyNow(tok, testSID, testSite, 0, t0)
	}
}

// BenchmarkVerifyColdChallenge verifies a token of a bucket whose challenge
// is not cached yet (one HMAC), as the first token of each minute does.
func BenchmarkVerifyColdChallenge(b *testing.B) {
	v := newTestVerifier(b, "bench", Config{Difficulty: 8})
	tok := mint(b, v, testSID, testSite, 8, t0)
	b.ReportAllocs()
	for b.Loop() {
		v.challenges[uint64(Bucket(t0))%uint64(len(v.challenges))].Store(nil)
		v.verifyNow(tok, testSID, testSite, 0, t0)
	}
}

// BenchmarkCheck is BenchmarkVerify plus admission of a new token into the replay
// cache (distinct tokens, so every one is admitted).
func BenchmarkCheck(b *testing.B) {
	v := newTestVerifier(b, "bench", Config{Difficulty: 1, ReplayCap: 1 << 22, SessionCap: 1 << 22})
	toks := make([]string, 1<<16)
	sids := make([]string, len(toks))
	for i := range toks {
		sids[i] = fmt.Sprintf("%08x-e89b-42d3-a456-426614174000", i)
		toks[i] = mint(b, v, sids[i], testSite, 1, t0)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(toks) { // start over in a new minute so tokens are new
			b.StopTimer()
			v = newTestVerifier(b, "bench", Config{Difficulty: 1, ReplayCap: 1 << 22, SessionCap: 1 << 22})
			i = 0
			b.StartTimer()
		}
		v.Check(toks[i], sids[i], testSite, "", 0, t0)
		i++
	}
}

func BenchmarkGenerateAndSelfCheck(b *testing.B) {
	secret := []byte("bench")
	ctx := context.Background()
	epoch := int64(epoch0)
	for b.Loop() {
		p := ParamsForEpoch(secret, epoch)
		if err := SelfCheck(ctx, &p, SolverWasm(&p)); err != nil {
			b.Fatal(err)
		}
		epoch++
	}
}

// BenchmarkSolveNative measures the work per difficulty natively: hashes/op
// is the mean number of hash evaluations per solve (expected 2^d), with
// p50/p95 of the same; ns/op is the native solve time.
func BenchmarkSolveNative(b *testing.B) {
	p := ParamsFromSeed(seqSeed())
	for d := 8; d <= 16; d++ {
		b.Run("d="+strconv.Itoa(d), func(b *testing.B) {
			var tries []float64
			i := 0
			for b.Loop() {
				prefix := []byte(Challenge([]byte("k"), int64(i)) + ":" + testSID + ":" + testSite + ":")
				n, _, _ := Solve(&p, prefix, d, 0)
				tries = append(tries, float64(n)+1)
				i++
			}
			reportTries(b, tries)
		})
	}
}

func reportTries(b *testing.B, tries []float64) {
	sum := 0.0
	for _, t := range tries {
		sum += t
	}
	slices.Sort(tries)
	b.ReportMetric(sum/float64(len(tries)), "hashes/op")
	b.ReportMetric(tries[len(tries)/2], "p50-hashes")
	b.ReportMetric(tries[len(tries)*95/100], "p95-hashes")
}

// BenchmarkWasmSearch runs the module's search under wazero (d = 12) and
// reports the time per hash evaluation, a stand-in for a browser's.
func BenchmarkWasmSearch(b *testing.B) {
	p := ParamsFromSeed(seqSeed())
	mod := SolverWasm(&p)
	for _, c := range []struct {
		name string
		cfg  wazero.RuntimeConfig
	}{
		{"compiler", wazero.NewRuntimeConfigCompiler()},
		{"interpreter", wazero.NewRuntimeConfigInterpreter()},
	} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			inst, err := instantiate(ctx, c.cfg, mod)
			if err != nil {
				b.Fatal(err)
			}
			defer inst.close(ctx)
			var hashes float64
			i := 0
			start := time.Now()
			for b.Loop() {
				prefix := []byte(Challenge([]byte("k"), int64(i)) + ":" + testSID + ":" + testSite + ":")
				n, _, _, err := inst.find(ctx, prefix, 12, 0, maxNonce)
				if err != nil {
					b.Fatal(err)
				}
				hashes += float64(n) + 1
				i++
			}
			b.ReportMetric(float64(time.Since(start).Nanoseconds())/hashes, "ns/hash")
			b.ReportMetric(hashes/float64(i), "hashes/op")
		})
	}
}

// TestSolve_MeanWorkIsTwoToTheD checks the expected work on a small d with
// many samples, so the benchmark figures can be trusted.
func TestSolve_MeanWorkIsTwoToTheD(t *testing.T) {
	p := ParamsFromSeed(seqSeed())
	rng := rand.New(rand.NewPCG(5, 6))
	const d, samples = 6, 4000
	sum := 0.0
	for range samples {
		prefix := []byte(strconv.FormatUint(rng.Uint64(), 16) + ":")
		n, _, _ := Solve(&p, prefix, d, 0)
		sum += float64(n) + 1
	}
	mean := sum / samples
	if mean < 56 || mean > 72 { // 64 ± ~4 standard errors
		t.Fatalf("mean hashes for d=%d: %.1f, want ≈ 64", d, mean)
	}
}
