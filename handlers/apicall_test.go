package handlers

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// What the API handlers' tests share: a real store in a temporary
// directory, a fixed clock, and a call that returns the answer's status
// and JSON body.

// fixedClock always answers t.
func fixedClock(t time.Time) Clock { return func() time.Time { return t } }

// openStore is an empty real store in a temporary directory.
func openStore(t *testing.T) *storage.Store {
	t.Helper()
	st, err := storage.Open(storage.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// closedStore is a real store that is already closed: every read and
// write fails, as they would on a failing disk.
func closedStore(t *testing.T) *storage.Store {
	t.Helper()
	st, err := storage.Open(storage.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return st
}

// answer is a recorded response.
type answer struct {
	code int
	body string
	ct   string
}

// call serves method target with body ("" for none) through h; id, when
// given, is the {id} path value.
func call(t *testing.T, h http.HandlerFunc, method, target, body string, id ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	if len(id) > 0 {
		r.SetPathValue("id", id[0])
	}
	return record(h, r)
}

// wantError checks that a is the API's JSON error: the status and the
// exact body {"error":code,"message":message} (no message when empty).
func (a answer) wantError(t *testing.T, status int, code, message string) {
	t.Helper()
	want := `{"error":"` + code + `"}`
	if message != "" {
		m, _ := json.Marshal(message)
		want = `{"error":"` + code + `","message":` + strings.ReplaceAll(string(m), `\u0026`, "&") + `}`
	}
	if a.code != status || a.body != want || a.ct != "application/json" {
		t.Fatalf("got %d %s (%s); want %d %s", a.code, a.body, a.ct, status, want)
	}
}

// wantJSON checks the status and that the body is JSON, no trailing
// newline, decoded into v.
func (a answer) wantJSON(t *testing.T, status int, v any) {
	t.Helper()
	if a.code != status || a.ct != "application/json" || strings.HasSuffix(a.body, "\n") {
		t.Fatalf("got %d %q (%s); want %d JSON", a.code, a.body, a.ct, status)
	}
	if err := json.Unmarshal([]byte(a.body), v); err != nil {
		t.Fatalf("%s is not the JSON expected: %v", a.body, err)
	}
}

// object decodes a 200 answer holding a JSON object.
func (a answer) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	a.wantJSON(t, http.StatusOK, &m)
	return m
}

// list decodes a 200 answer holding a JSON array.
func (a answer) list(t *testing.T) []any {
	t.Helper()
	var l []any
	a.wantJSON(t, http.StatusOK, &l)
	if l == nil {
		t.Fatalf("%s is not an array", a.body)
	}
	return l
}

// wantKeys checks that m has exactly keys: the shape of an object.
func wantKeys(t *testing.T, what string, m any, keys ...string) {
	t.Helper()
	obj, ok := m.(map[string]any)
	if !ok {
		t.Fatalf("%s: %v is not an object", what, m)
	}
	got := make([]string, 0, len(obj))
	for k := range obj {
		got = append(got, k)
	}
	slices.Sort(got)
	keys = slices.Clone(keys)
	slices.Sort(keys)
	if !slices.Equal(got, keys) {
		t.Fatalf("%s keys %v; want %v", what, got, keys)
	}
}

// unsizedPost is a POST whose Content-Length is unknown, so only reading
// finds how long the body is.
func unsizedPost(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", io.MultiReader(strings.NewReader(body)))
	r.ContentLength = -1
	return r
}

// record serves r through h.
func record(h http.HandlerFunc, r *http.Request) answer {
	rec := httptest.NewRecorder()
	h(rec, r)
	return answer{code: rec.Code, body: rec.Body.String(), ct: rec.Header().Get("Content-Type")}
}
