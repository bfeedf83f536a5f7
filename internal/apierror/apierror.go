// Package apierror writes the REST API's JSON errors (docs/api.md,
// Conventions): {"error":code,"message":message} with a status. The access
// policy, the API handlers and the routes all answer with it, so every
// error of the API has one shape.
package apierror

import (
	"bytes"
	"encoding/json"
	"net/http"
)

type body struct {
	Error   string `json:"error"`
	Message string `json:"message,omitempty"`
}

// Write writes {"error":code,"message":message} with status; the message
// is omitted when empty. The body has no trailing newline and no HTML
// escaping, like every JSON answer of the API.
func Write(w http.ResponseWriter, status int, code, message string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(body{Error: code, Message: message}) // two strings cannot fail

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}
