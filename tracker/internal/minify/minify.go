// Package minify turns the readable ea.js into the minified scripts the
// tracker package embeds, one per set of site features. It runs at
// `go generate` time (./gen) and in the test that checks the committed
// output is current, so that esbuild is never linked into Caddy.
package minify

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/evanw/esbuild/pkg/api"
)

// Features are the esbuild defines ea.js reads, in bit order: the script
// for feature set n has Features[i] true where bit i of n is set.
var Features = [...]string{"SITE_CONSENT", "SITE_ANON", "SITE_EXPERIMENTS"}

// Sets is the number of feature sets, and of minified scripts.
const Sets = 1 << len(Features)

// File names the minified script of feature set n.
func File(n int) string { return "ea-" + strconv.Itoa(n) + ".js" }

// includeSolve is the line of ea.js that solve.js replaces before
// minification.
var includeSolve = []byte("  // include: solve.js\n")

// placeholders stand inside JS string literals of ea.js; the tracker
// package fills each in once, so each must survive minification exactly
// once.
var placeholders = []string{"%%CHALLENGE%%", "%%WASM%%", "%%BUCKET%%", "%%DIFFICULTY%%", "%%PARAMS%%", "%%SITE%%"}

// Scripts minifies ea.js, with solve.js included, once per feature set;
// scripts[n] is the script of feature set n.
func Scripts(ea, solve []byte) (scripts [Sets][]byte, err error) {
	if !bytes.Contains(ea, includeSolve) {
		return scripts, fmt.Errorf("ea.js has no %q line", bytes.TrimSpace(includeSolve))
	}
	src := string(bytes.Replace(ea, includeSolve, solve, 1))
	for n := range scripts {
		if scripts[n], err = script(src, n); err != nil {
			return scripts, fmt.Errorf("minify %s: %w", File(n), err)
		}
	}
	return scripts, nil
}

func script(src string, n int) ([]byte, error) {
	def := make(map[string]string, len(Features))
	for i, name := range Features {
		def[name] = strconv.FormatBool(n&(1<<i) != 0)
	}
	res := api.Transform(src, api.TransformOptions{
		Loader:            api.LoaderJS,
		Target:            api.ES2017,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		Charset:           api.CharsetUTF8,
		Define:            def,
	})
	if len(res.Errors) > 0 {
		return nil, fmt.Errorf("%s", res.Errors[0].Text)
	}
	for _, ph := range placeholders {
		if c := bytes.Count(res.Code, []byte(ph)); c != 1 {
			return nil, fmt.Errorf("placeholder %s appears %d times, want 1", ph, c)
		}
	}
	return res.Code, nil
}
