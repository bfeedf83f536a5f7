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
	name string
	// envs are the variables of the second cell: the current name first,
	// then the older one, if any.
	envs             []string
	defaults, bounds string
}

// optionRowPattern matches a table row whose first cell is one backticked
// option name: | `db_path` | `ECHELON_DB_PATH` | ... or | `base_path` | — | ...
var optionRowPattern = regexp.MustCompile("^\\| `([a-z_]+)` \\|")

var envNamePattern = regexp.MustCompile("`(ECHELON_[A-Z_]+)`")

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
		m := optionRowPattern.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		cells := strings.Split(strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) != 5 {
			t.Fatalf("option row %s has %d cells, want 5 (option, variable, default, bounds, meaning)", m[1], len(cells))
		}
		row := optionRow{name: m[1], defaults: cells[2], bounds: cells[3]}
		for _, e := range envNamePattern.FindAllStringSubmatch(cells[1], -1) {
			row.envs = append(row.envs, e[1])
		}
		rows = append(rows, row)
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
	for _, o := range options {
		parsed = append(parsed, o.name)
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

// TestDocs_OptionTableMatchesTheCode compares each documented row with the
// option table: its variables (the current name, then the older one), its
// default and, for integers and durations, its bounds.
func TestDocs_OptionTableMatchesTheCode(t *testing.T) {
	for _, row := range documentedOptions(t) {
		o := findOption(row.name)
		if o == nil {
			continue // reported by TestDocs_ConfigurationListsEveryCaddyfileSubdirective
		}
		var envs []string
		for _, e := range []string{o.env, o.oldEnv} {
			if e != "" {
				envs = append(envs, e)
			}
		}
		if !slices.Equal(row.envs, envs) {
			t.Errorf("option %s: docs name the variables %v, the code reads %v", row.name, row.envs, envs)
		}
		if want := o.documentedDefault(); row.defaults != want {
			t.Errorf("option %s: docs give the default %s, the code %s", row.name, row.defaults, want)
		}
		if want := o.documentedBounds(); want != "" && row.bounds != want {
			t.Errorf("option %s: docs give the bounds %s, the code %s", row.name, row.bounds, want)
		}
	}
}

// TestDocs_OlderVariableNamesAreDocumented: every older variable name the
// code still reads is named in the section on how values are resolved.
func TestDocs_OlderVariableNamesAreDocumented(t *testing.T) {
	b, err := os.ReadFile("docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(b), "## How values are resolved")
	section, _, _ = strings.Cut(section, "\n## ")
	for _, o := range options {
		if o.oldEnv != "" && !strings.Contains(section, o.oldEnv) {
			t.Errorf("%s (older name of %s) is not described under \"How values are resolved\"", o.oldEnv, o.env)
		}
	}
}
