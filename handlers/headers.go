package handlers

import "net/http"

// headerWriter sets response headers with one allocation for all their
// values, where Header.Set allocates a slice per header: the beacon answers
// with a dozen fixed headers and is the hottest path we have. Keys must be in
// canonical form.
type headerWriter struct {
	h    http.Header
	vals []string
}

func newHeaderWriter(h http.Header, n int) headerWriter {
	return headerWriter{h: h, vals: make([]string, 0, n)}
}

func (hw *headerWriter) set(key, value string) {
	hw.vals = append(hw.vals, value)
	n := len(hw.vals)
	hw.h[key] = hw.vals[n-1 : n : n]
}

// add appends to an existing header instead of replacing it.
func (hw *headerWriter) add(key, value string) {
	if old, ok := hw.h[key]; ok {
		hw.h[key] = append(old, value)
		return
	}
	hw.set(key, value)
}

// setSecurity writes the headers every Echelon response carries
// (docs/api.md, Conventions); tracking responses are never HTML, so no CSP.
func (hw *headerWriter) setSecurity() {
	hw.set("X-Frame-Options", "DENY")
	hw.set("X-Content-Type-Options", "nosniff")
	hw.set("Referrer-Policy", "strict-origin-when-cross-origin")
}
