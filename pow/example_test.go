package pow_test

import (
	"fmt"
	"time"

	"github.com/echelon-analytics/caddy-echelon/pow"
)

func ExampleVerifier() {
	v, err := pow.NewVerifier(pow.Config{Secret: []byte("example-secret"), Difficulty: 12})
	if err != nil {
		panic(err)
	}
	now := time.Date(2025, 1, 1, 0, 0, 30, 0, time.UTC)
	sid, site := "123e4567-e89b-42d3-a456-426614174000", "my-site"

	pz, _ := v.Puzzle(now) // what ea.js embeds
	fmt.Println("bucket", pz.Bucket, "epoch", pz.Module.Epoch)

	tok, _ := v.Mint(sid, site, v.Difficulty("", now), now) // what the browser computes
	fmt.Println(tok)
	fmt.Println(v.Check(tok, sid, site, "", 0, now.Add(2*time.Minute)))
	fmt.Println(v.Check(tok, sid, site, "", 0, now.Add(3*time.Minute)))
	fmt.Println(v.Check(tok, sid, site, "", 0, now.Add(12*time.Minute)))
	// Output:
	// bucket 28928160 epoch 80356
	// 28928160.7511.00027b8ca3b2e2edc4afae6a5c6becf0
	// valid
	// replayed
	// expired
}
