package handlers

import "net/http"

// ServeHealth answers GET api/health (docs/api.md, Health).
func ServeHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ok","service":"Echelon Analytics"}`))
}
