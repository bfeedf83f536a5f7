package handlers

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// writeJSON answers with v as JSON: no HTML escaping and no trailing
// newline, like the reference's JSON.stringify.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, `{"error":"internal"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// writeAPIError writes {"error":code,"message":message} (api.md §1).
func writeAPIError(w http.ResponseWriter, status int, code, message string) {
	type body struct {
		Error   string `json:"error"`
		Message string `json:"message,omitempty"`
	}
	b, _ := json.Marshal(body{code, message})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// apiTime renders a stored time as the API's timestamps (api.md §1):
// ISO-8601 UTC with milliseconds.
func apiTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// queryInt reads an integer query parameter the way api.md §1 says: base-10
// digits after optional spaces and sign (trailing junk ignored, like
// parseInt; a '+' in a query is a space); a
// missing, unparsable or zero value gives def; the result is clamped to
// [lo, hi].
func queryInt(r *http.Request, name string, def, lo, hi int) int {
	s := strings.TrimLeft(r.URL.Query().Get(name), " \t\n")
	end := 0
	if end < len(s) && (s[end] == '-' || s[end] == '+') {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(s[:end])
	if err != nil {
		// Too many digits still has a sign: clamp rather than default.
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			if s[0] == '-' {
				return lo
			}
			return hi
		}
		return def
	}
	if n == 0 {
		return def
	}
	return min(max(n, lo), hi)
}

// cut shortens s to at most n characters without splitting one.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for count := 0; i < len(s) && count < n; count++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i]
}
