package echelon

import (
	"fmt"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/pow"
)

// BenchmarkAttackerCostPerCountedView measures what one forged pageview
// that counts costs its sender: a fresh session, a nonce search with the
// native Go solver (faster than the browser's WebAssembly, so a lower
// bound of an attacker's cost), and the server's check that admits the
// token as valid (a small part of the time). ns/op is the client CPU per
// counted view, on one core, at the default difficulty and at the ceiling
// the adaptive difficulty raises a flagged visitor to; hashes/op is the
// search's length. Reproduce with
//
//	go test -run '^$' -bench AttackerCost -benchtime 200x .
func BenchmarkAttackerCostPerCountedView(b *testing.B) {
	for _, bits := range []int{defaultPoWDifficulty, pow.DefaultMaxDifficulty} {
		b.Run(fmt.Sprintf("bits=%d", bits), func(b *testing.B) {
			v, err := pow.NewVerifier(pow.Config{Secret: []byte("attacker-cost"), Difficulty: defaultPoWDifficulty})
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			pz, err := v.Puzzle(now)
			if err != nil {
				b.Fatal(err)
			}
			var hashes uint64
			i := 0
			for b.Loop() {
				sid := fmt.Sprintf("%08x-aaaa-4bbb-8ccc-%012x", i, i)
				i++
				nonce, h, ok := pow.Solve(&pz.Module.Params, []byte(pz.Challenge+":"+sid+":shop:"), bits, 0)
				if !ok {
					b.Fatal("no nonce")
				}
				hashes += uint64(nonce) + 1
				if out := v.Check(pow.FormatToken(pz.Bucket, nonce, h), sid, "shop", "", bits, now); out != pow.Valid {
					b.Fatalf("token %v", out)
				}
			}
			b.ReportMetric(float64(hashes)/float64(b.N), "hashes/op")
		})
	}
}
