package echelon

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestOptions_EachRowFillsTheJSONFieldOfItsName: the table's field accessor
// points at the Handler field whose JSON name is the option's name, and every
// JSON field has exactly one row.
func TestOptions_EachRowFillsTheJSONFieldOfItsName(t *testing.T) {
	var h Handler
	hv := reflect.ValueOf(&h).Elem()
	byName := map[string]uintptr{}
	for i := 0; i < hv.NumField(); i++ {
		name, _, _ := strings.Cut(hv.Type().Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			byName[name] = hv.Field(i).Addr().Pointer()
		}
	}
	seen := map[string]bool{}
	for _, o := range options {
		if seen[o.name] {
			t.Errorf("option %s is in the table twice", o.name)
		}
		seen[o.name] = true
		addr, ok := byName[o.name]
		if !ok {
			t.Errorf("option %s has no JSON field of that name", o.name)
			continue
		}
		if got := reflect.ValueOf(o.field(&h)).Pointer(); got != addr {
			t.Errorf("option %s fills another field than json:%q", o.name, o.name)
		}
		// set accepts the field's kind: a panic here is a field of a type
		// the parser does not know.
		_ = o.set(&Handler{}, []string{"1"})
	}
	for name := range byName {
		if !seen[name] {
			t.Errorf("JSON field %s has no row in the option table", name)
		}
	}
}

// TestOptions_HandlerFieldsAreTheReference: go doc of Handler is the
// configuration reference, so every JSON field has a comment of its own that
// states its default and names its variable.
func TestOptions_HandlerFieldsAreTheReference(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "module.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var fields *ast.FieldList
	ast.Inspect(f, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSpec); ok && ts.Name.Name == "Handler" {
			fields = ts.Type.(*ast.StructType).Fields
		}
		return fields == nil
	})
	if fields == nil {
		t.Fatal("no Handler struct in module.go")
	}
	documented := 0
	for _, fl := range fields.List {
		if fl.Tag == nil || !strings.Contains(fl.Tag.Value, `json:"`) {
			continue
		}
		name := strings.Split(strings.Split(fl.Tag.Value, `json:"`)[1], ",")[0]
		o := findOption(name)
		if o == nil {
			continue // reported by TestOptions_EachRowFillsTheJSONFieldOfItsName
		}
		documented++
		if len(fl.Names) != 1 || fl.Doc == nil {
			t.Errorf("field %s: needs a comment of its own", name)
			continue
		}
		doc := strings.Join(strings.Fields(fl.Doc.Text()), " ")
		if !strings.HasPrefix(doc, fl.Names[0].Name+" ") && !strings.HasPrefix(doc, fl.Names[0].Name+",") {
			t.Errorf("field %s: the comment should start with %s", name, fl.Names[0].Name)
		}
		if !strings.Contains(doc, "Default: ") {
			t.Errorf("field %s: the comment states no default", name)
		}
		// Plain defaults and integer bounds are stated as the table has them.
		if d := strings.Trim(o.documentedDefault(), "`"); o.def != nil && o.docDefault == "" && !strings.Contains(d, ",") &&
			!strings.Contains(doc, "Default: "+d+".") && !strings.Contains(doc, "Default: ["+d+"].") {
			t.Errorf("field %s: the comment should say Default: %s.", name, d)
		}
		if _, isInt := o.field(new(Handler)).(**int); isInt {
			if b := thousands(o.lo) + " to " + thousands(o.hi); !strings.Contains(doc, b) {
				t.Errorf("field %s: the comment should give the bounds %s", name, b)
			}
		}
		for _, env := range []string{o.env, o.oldEnv} {
			if env != "" && !strings.Contains(doc, env) {
				t.Errorf("field %s: the comment does not name %s", name, env)
			}
		}
		if o.env == "" && !strings.Contains(doc, "no environment variable") {
			t.Errorf("field %s: the comment should say it has no environment variable", name)
		}
	}
	if documented != len(options) {
		t.Errorf("%d documented fields, %d options", documented, len(options))
	}
}

// TestOptions_UnmarshalCaddyfileShowsEverySubdirective: the syntax block in
// UnmarshalCaddyfile's comment lists the whole table, in its order.
func TestOptions_UnmarshalCaddyfileShowsEverySubdirective(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "caddyfile.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var doc string
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == "UnmarshalCaddyfile" {
			doc = fd.Doc.Text()
		}
	}
	var shown []string
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "\t\t") {
			shown = append(shown, strings.Fields(line)[0])
		}
	}
	var want []string
	for _, o := range options {
		want = append(want, o.name)
	}
	if strings.Join(shown, " ") != strings.Join(want, " ") {
		t.Errorf("UnmarshalCaddyfile's syntax block shows\n%v\nthe option table has\n%v", shown, want)
	}
}

// TestOptions_NoVariableReadOutsideTheTable: the root package names no
// ECHELON_* variable outside options.go, so none can bypass the table (and
// its check against docs/configuration.md).
func TestOptions_NoVariableReadOutsideTheTable(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	literal := regexp.MustCompile(`"ECHELON_[A-Z_]*"`)
	checked := 0
	for _, f := range files {
		if f == "options.go" || strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		if m := literal.FindString(string(src)); m != "" {
			t.Errorf("%s reads %s outside the option table", f, m)
		}
	}
	if checked < 5 {
		t.Errorf("only %d files checked", checked)
	}
}
