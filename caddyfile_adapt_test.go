package echelon

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/caddyfile_adapt from examples/")

// goldenSeparator divides the Caddyfile from its adapted JSON, as in
// Caddy's own caddyfile_adapt tests.
const goldenSeparator = "----------"

// envPlaceholder finds {env.NAME} and {$NAME} in a Caddyfile.
var envPlaceholder = regexp.MustCompile(`\{(?:env\.|\$)([A-Za-z_][A-Za-z0-9_]*)`)

// TestCaddyfileAdapt_Examples adapts every Caddyfile under examples/ and
// compares the JSON with its golden file in testdata/caddyfile_adapt
// (<example>.caddyfiletest: the Caddyfile, a line of dashes, the JSON).
// `go test -run TestCaddyfileAdapt_Examples -update .` rewrites them.
func TestCaddyfileAdapt_Examples(t *testing.T) {
	examples, err := filepath.Glob("examples/*/Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	examples = append([]string{"examples/Caddyfile"}, examples...)
	golden := map[string]bool{}
	for _, example := range examples {
		name := filepath.Base(filepath.Dir(example))
		path := filepath.Join("testdata", "caddyfile_adapt", name+".caddyfiletest")
		golden[path] = true
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(example)
			if err != nil {
				t.Fatal(err)
			}
			// The same values whatever the machine's environment, should
			// the adapter ever expand a placeholder.
			for _, m := range envPlaceholder.FindAllStringSubmatch(string(src), -1) {
				t.Setenv(m[1], "example-"+strings.ToLower(m[1]))
			}
			got := adaptIndented(t, src)
			if *updateGolden {
				out := string(src) + goldenSeparator + "\n" + got + "\n"
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run the test with -update to write it)", err)
			}
			caddyfile, want, ok := strings.Cut(string(b), goldenSeparator+"\n")
			if !ok {
				t.Fatalf("%s has no %s line", path, goldenSeparator)
			}
			if caddyfile != string(src) {
				t.Errorf("%s holds another Caddyfile than %s (run the test with -update)", path, example)
			}
			if strings.TrimSpace(want) != got {
				t.Errorf("%s adapts to\n%s\nwant (%s)\n%s", example, got, path, want)
			}
		})
	}
	stored, err := filepath.Glob("testdata/caddyfile_adapt/*.caddyfiletest")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range stored {
		if !golden[p] {
			t.Errorf("%s has no Caddyfile under examples/", p)
		}
	}
	if len(stored) == 0 && !*updateGolden {
		t.Error("no golden files in testdata/caddyfile_adapt")
	}
}

// adaptIndented is the Caddyfile adapter's JSON, indented with tabs as
// Caddy's own golden files are.
func adaptIndented(t *testing.T, caddyfile []byte) string {
	t.Helper()
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt(caddyfile, nil)
	if err != nil {
		t.Fatalf("adapt: %v", err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, out, "", "\t"); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}
