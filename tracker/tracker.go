// Package tracker holds the ea.js source and assembles the script served to
// browsers: the per-minute challenge, the proof-of-work module and its
// difficulty are filled into the source's placeholders.
package tracker

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"

	"github.com/evanw/esbuild/pkg/api"
)

//go:embed ea.js
var source []byte

// Placeholders in ea.js; each stands inside a JS string literal, so after
// assembly the script reads `_c="<challenge>"`, `_w="<base64 module>"`,
// `_b="<bucket>"` and `_d="<bits>"` (pow.md §3 keeps the first two forms).
var (
	phChallenge  = []byte("%%CHALLENGE%%")
	phWasm       = []byte("%%WASM%%")
	phBucket     = []byte("%%BUCKET%%")
	phDifficulty = []byte("%%DIFFICULTY%%")
)

// Puzzle is what one assembly embeds.
type Puzzle struct {
	Challenge  string // 32 hex
	Bucket     int64  // minute bucket the challenge belongs to
	Epoch      int64  // the module's epoch (names the module)
	Wasm       string // base64 module
	Difficulty int    // leading zero bits the server expects
}

// Script is an assembled tracker with its validator.
type Script struct {
	Body []byte
	ETag string
}

// Assembler caches assembled scripts: a new one is built once per minute
// bucket (and per difficulty served), not per request. Make one with
// NewAssembler.
type Assembler struct {
	src   []byte // minified ea.js with its placeholders
	mu    sync.Mutex
	cache map[Puzzle]Script
}

// NewAssembler minifies the ea.js source once (esbuild's Go API: no Node
// step). The placeholders sit inside string literals, so they survive.
func NewAssembler() (*Assembler, error) {
	res := api.Transform(string(source), api.TransformOptions{
		Loader:            api.LoaderJS,
		Target:            api.ES2017,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		Charset:           api.CharsetUTF8,
	})
	if len(res.Errors) > 0 {
		return nil, fmt.Errorf("minify ea.js: %s", res.Errors[0].Text)
	}
	for _, ph := range [][]byte{phChallenge, phWasm, phBucket, phDifficulty} {
		if n := bytes.Count(res.Code, ph); n != 1 {
			return nil, fmt.Errorf("minify ea.js: placeholder %s appears %d times, want 1", ph, n)
		}
	}
	return &Assembler{src: res.Code}, nil
}

// maxCached bounds the cache; entries of past buckets are dropped first.
const maxCached = 16

// Script returns the tracker for pz, assembling it on first use.
func (a *Assembler) Script(pz Puzzle) Script {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s, ok := a.cache[pz]; ok {
		return s
	}
	if a.cache == nil || len(a.cache) >= maxCached {
		a.cache = a.prune(pz.Bucket)
	}
	s := assemble(a.src, pz)
	a.cache[pz] = s
	return s
}

// prune keeps only entries of the current bucket.
func (a *Assembler) prune(bucket int64) map[Puzzle]Script {
	next := make(map[Puzzle]Script, maxCached)
	for k, v := range a.cache {
		if k.Bucket == bucket {
			next[k] = v
		}
	}
	return next
}

func assemble(src []byte, pz Puzzle) Script {
	body := bytes.Replace(src, phChallenge, []byte(pz.Challenge), 1)
	body = bytes.Replace(body, phWasm, []byte(pz.Wasm), 1)
	body = bytes.Replace(body, phBucket, strconv.AppendInt(nil, pz.Bucket, 10), 1)
	body = bytes.Replace(body, phDifficulty, strconv.AppendInt(nil, int64(pz.Difficulty), 10), 1)
	sum := sha256.Sum256(body)
	return Script{Body: body, ETag: `"` + hex.EncodeToString(sum[:12]) + `"`}
}
