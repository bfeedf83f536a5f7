package handlers

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// writeJSON answers with v as JSON: no HTML escaping and no trailing
// newline.
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

// apiTime renders a stored time as the API's timestamps (docs/api.md):
// ISO-8601 UTC with milliseconds.
func apiTime(t time.Time) string { return t.UTC().Format(storage.TimeLayout) }
