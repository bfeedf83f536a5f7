// Package tracker holds the ea.js source and assembles the script served to
// browsers: the per-minute challenge, the proof-of-work module and its
// difficulty are filled into the source's placeholders.
package tracker

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
)

// ea.js, with solve.js (the proof-of-work search) included where it says
// so, is minified at `go generate` time with esbuild, once per feature set
// (below): minified/ea-N.js is the script of feature set N. A test fails
// when the committed scripts are older than their source.
//
//go:generate go run ./internal/minify/gen
//go:embed minified/*.js
var minified embed.FS

// Placeholders in ea.js; each stands inside a JS string literal, so after
// assembly the script reads `_c="<challenge>"`, `_w="<base64 module>"`,
// `_b="<bucket>"`, `_d="<bits>"` and `_k="<72 hex>"` (the module's
// constants, for the JavaScript solver).
var (
	phChallenge  = []byte("%%CHALLENGE%%")
	phWasm       = []byte("%%WASM%%")
	phBucket     = []byte("%%BUCKET%%")
	phDifficulty = []byte("%%DIFFICULTY%%")
	phParams     = []byte("%%PARAMS%%")
	phSite       = []byte("%%SITE%%")
)

// Puzzle is what one assembly embeds.
type Puzzle struct {
	Challenge string // 32 hex
	Bucket    int64  // minute bucket the challenge belongs to
	Epoch     int64  // the module's epoch (names the module)
	Wasm      string // base64 module
	// Params are the module's constants for the JavaScript solver
	// (pow.Params.Hex), so that it computes the module's hash.
	Params     string
	Difficulty int // leading zero bits the server expects
}

// Site is the per-site part of an assembly's identity: the site id, the
// options that change its script, and the version of the stored settings
// it embeds (storage's ScriptVersion), so that a change of experiments or
// consent CSS makes a new script.
type Site struct {
	ID      string
	Consent bool   // cookie_consent: data-cookie waits for the banner
	Anon    bool   // anonymize_sites lists the site: scramble values
	Version uint64 // changes whenever SiteData would
}

// SiteData is what a site's script embeds from the store.
type SiteData struct {
	ConsentCSS  string       // appended to the banner's style
	Experiments []Experiment // the active ones, for echelon.experiment
}

// Experiment is an active experiment as the tracker needs it.
type Experiment struct {
	ID                string
	AllocationPercent int // 1-100; sessions outside it get no variant
	Variants          []Variant
}

// Variant is one arm with its relative weight.
type Variant struct {
	ID     string
	Weight float64
}

// Script is an assembled tracker with its validator.
type Script struct {
	Body []byte
	ETag string
}

// Assembler caches assembled scripts: a new one is built once per minute
// bucket, site and settings version (and per difficulty served), not per
// request. Make one with NewAssembler.
type Assembler struct {
	src   [allFeatures + 1][]byte // minified ea.js with its placeholders, per feature set
	mu    sync.Mutex
	cache map[cacheKey]Script
}

// features are the parts of ea.js that only some sites use. A site's
// script is built without the code of the features it lacks, so that
// most sites get a smaller script: ea.js reads them as the esbuild
// defines SITE_CONSENT, SITE_ANON and SITE_EXPERIMENTS, in this bit order.
type features uint8

const (
	featConsent     features = 1 << iota // cookie_consent: the banner
	featAnon                             // anonymize_sites: scrambling
	featExperiments                      // active experiments: echelon.experiment
	allFeatures     = featConsent | featAnon | featExperiments
)

// featuresOf is what site and its data need.
func featuresOf(site Site, sd SiteData) features {
	var f features
	if site.Consent {
		f |= featConsent
	}
	if site.Anon {
		f |= featAnon
	}
	if len(sd.Experiments) > 0 {
		f |= featExperiments
	}
	return f
}

type cacheKey struct {
	pz   Puzzle
	site Site
}

// NewAssembler loads the minified script of every feature set. The
// placeholders sit inside string literals, so they survive minification;
// each must be there once.
func NewAssembler() (*Assembler, error) {
	a := &Assembler{}
	for f := range a.src {
		name := fmt.Sprintf("minified/ea-%d.js", f)
		code, err := minified.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", name, err)
		}
		for _, ph := range [][]byte{phChallenge, phWasm, phBucket, phDifficulty, phParams, phSite} {
			if n := bytes.Count(code, ph); n != 1 {
				return nil, fmt.Errorf("load %s: placeholder %s appears %d times, want 1", name, ph, n)
			}
		}
		a.src[f] = code
	}
	return a, nil
}

// maxCached bounds the cache; entries of past buckets and settings
// versions are dropped first, then all.
const maxCached = 256

// Script returns the tracker for pz and site, assembling it on first use;
// data is called then, for what the site's script embeds.
func (a *Assembler) Script(pz Puzzle, site Site, data func() SiteData) Script {
	key := cacheKey{pz, site}
	a.mu.Lock()
	s, ok := a.cache[key]
	a.mu.Unlock()
	if ok {
		return s
	}
	var sd SiteData
	if data != nil {
		sd = data()
	}
	s = assemble(a.src[featuresOf(site, sd)], pz, siteJSON(site, sd))
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cache == nil || len(a.cache) >= maxCached {
		a.cache = a.prune(key)
	}
	a.cache[key] = s
	return s
}

// prune keeps only entries of the current bucket and settings version; if
// that is still too many (many sites), nothing.
func (a *Assembler) prune(cur cacheKey) map[cacheKey]Script {
	next := make(map[cacheKey]Script, maxCached)
	for k, v := range a.cache {
		if k.pz.Bucket == cur.pz.Bucket && k.site.Version == cur.site.Version {
			next[k] = v
		}
	}
	if len(next) >= maxCached {
		clear(next)
	}
	return next
}

// siteJSON is the per-site configuration ea.js reads from its %%SITE%%
// string: {"c":1} consent banner on, {"a":1} anonymized site, "css" the
// banner's extra CSS, "x" the active experiments as
// {id: [allocation, [variant, weight], ...]}. Empty parts are left out.
func siteJSON(site Site, sd SiteData) []byte {
	cfg := map[string]any{}
	if site.Consent {
		cfg["c"] = 1
		if sd.ConsentCSS != "" {
			cfg["css"] = sd.ConsentCSS
		}
	}
	if site.Anon {
		cfg["a"] = 1
	}
	if len(sd.Experiments) > 0 {
		x := make(map[string][]any, len(sd.Experiments))
		for _, e := range sd.Experiments {
			arms := []any{e.AllocationPercent}
			for _, v := range e.Variants {
				arms = append(arms, []any{v.ID, v.Weight})
			}
			x[e.ID] = arms
		}
		cfg["x"] = x
	}
	b, _ := json.Marshal(cfg) // strings, numbers and maps of them
	// The JSON goes inside a JS string literal: encode it as a JSON string
	// (a valid JS string; Go escapes <, >, &, U+2028 and U+2029) and drop
	// the quotes.
	q, _ := json.Marshal(string(b))
	return q[1 : len(q)-1]
}

func assemble(src []byte, pz Puzzle, site []byte) Script {
	body := bytes.Replace(src, phChallenge, []byte(pz.Challenge), 1)
	body = bytes.Replace(body, phWasm, []byte(pz.Wasm), 1)
	body = bytes.Replace(body, phBucket, strconv.AppendInt(nil, pz.Bucket, 10), 1)
	body = bytes.Replace(body, phDifficulty, strconv.AppendInt(nil, int64(pz.Difficulty), 10), 1)
	body = bytes.Replace(body, phParams, []byte(pz.Params), 1)
	body = bytes.Replace(body, phSite, site, 1)
	sum := sha256.Sum256(body)
	return Script{Body: body, ETag: `"` + hex.EncodeToString(sum[:12]) + `"`}
}
