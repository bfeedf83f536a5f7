// Command gen writes the minified tracker scripts: run from the tracker
// directory (`go generate ./tracker`), it reads ea.js and solve.js and
// writes minified/ea-N.js for every feature set N.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/echelon-analytics/caddy-echelon/tracker/internal/minify"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run() error {
	ea, err := os.ReadFile("ea.js")
	if err != nil {
		return err
	}
	solve, err := os.ReadFile("solve.js")
	if err != nil {
		return err
	}
	scripts, err := minify.Scripts(ea, solve)
	if err != nil {
		return err
	}
	if err := os.MkdirAll("minified", 0o755); err != nil {
		return err
	}
	for n, code := range scripts {
		if err := os.WriteFile(filepath.Join("minified", minify.File(n)), code, 0o644); err != nil {
			return err
		}
	}
	return nil
}
