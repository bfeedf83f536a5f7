package echelon

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// optionRow is one row of the option table in docs/configuration.md.
type optionRow struct {
	name, env string
}

// optionRowPattern matches a table row whose first cell is one backticked
// option name: | `db_path` | `ECHELON_DB_PATH` | ... or | `base_path` | — | ...
var optionRowPattern = regexp.MustCompile("^\\| `([a-z_]+)` \\| (`(ECHELON_[A-Z_]+)`|—) \\|")

// documentedOptions reads the rows of the "## Options" table.
func documentedOptions(t *testing.T) []optionRow {
	t.Helper()
	b, err := os.ReadFile("docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Options\n")
	if !ok {
		t.Fatal(`docs/configuration.md has no "## Options" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var rows []optionRow
	for _, line := range strings.Split(section, "\n") {
		if m := optionRowPattern.FindStringSubmatch(line); m != nil {
			rows = append(rows, optionRow{name: m[1], env: m[3]})
		}
	}
	if len(rows) == 0 {
		t.Fatal("no option rows found in docs/configuration.md")
	}
	return rows
}

// sameSet fails for every name documented but not in the code, and in the
// code but not documented.
func sameSet(t *testing.T, what string, documented, actual []string) {
	t.Helper()
	doc := map[string]bool{}
	for _, n := range documented {
		if doc[n] {
			t.Errorf("%s %q is documented twice", what, n)
		}
		doc[n] = true
	}
	act := map[string]bool{}
	for _, n := range actual {
		act[n] = true
		if !doc[n] {
			t.Errorf("%s %q is accepted by the code but missing from docs/configuration.md", what, n)
		}
	}
	for n := range doc {
		if !act[n] {
			t.Errorf("%s %q is documented in docs/configuration.md but the code does not accept it", what, n)
		}
	}
}

func TestDocs_ConfigurationListsEveryCaddyfileSubdirective(t *testing.T) {
	var documented []string
	for _, r := range documentedOptions(t) {
		documented = append(documented, r.name)
	}
	var parsed []string
	for name := range subdirectives {
		parsed = append(parsed, name)
	}
	sort.Strings(parsed)
	sameSet(t, "subdirective", documented, parsed)

	// Through the parser itself: every documented name is accepted as a
	// subdirective (its value may still be refused), and a made-up one is
	// not, so the check can fail.
	for _, name := range append(documented, "not_an_option") {
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("echelon {\n" + name + " x\n}"))
		unknown := err != nil && strings.Contains(err.Error(), "unknown subdirective")
		if unknown != (name == "not_an_option") {
			t.Errorf("parsing %q: %v", name, err)
		}
	}
}

func TestDocs_ConfigurationListsEveryJSONField(t *testing.T) {
	var documented []string
	for _, r := range documentedOptions(t) {
		documented = append(documented, r.name)
	}
	var fields []string
	ht := reflect.TypeOf(Handler{})
	for i := 0; i < ht.NumField(); i++ {
		tag := ht.Field(i).Tag.Get("json")
		if name, _, _ := strings.Cut(tag, ","); name != "" && name != "-" {
			fields = append(fields, name)
		}
	}
	sameSet(t, "JSON field", documented, fields)
}

// TestDocs_ConfigurationNamesTheEnvironmentVariablesTheCodeReads compares
// the variable column with the ECHELON_* names config.go resolves, option by
// option where config.go pairs them on one line.
func TestDocs_ConfigurationNamesTheEnvironmentVariablesTheCodeReads(t *testing.T) {
	src, err := os.ReadFile("config.go")
	if err != nil {
		t.Fatal(err)
	}
	inCode := regexp.MustCompile(`"(ECHELON_[A-Z_]+)"`).FindAllStringSubmatch(string(src), -1)
	var code []string
	for _, m := range inCode {
		if !slices.Contains(code, m[1]) {
			code = append(code, m[1])
		}
	}
	var documented []string
	for _, r := range documentedOptions(t) {
		if r.env == "" {
			continue
		}
		documented = append(documented, r.env)
		// Where config.go names the option and its variable together, they
		// must be the pair the table gives.
		pair := regexp.MustCompile(`"` + r.name + `",\s*"(ECHELON_[A-Z_]+)"`).FindStringSubmatch(string(src))
		if pair != nil && pair[1] != r.env {
			t.Errorf("option %s: docs say %s, config.go reads %s", r.name, r.env, pair[1])
		}
	}
	sameSet(t, "environment variable", documented, code)
}
