package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Helpers shared by the /api handlers (docs/api.md, Conventions).

// maxManageBody bounds the JSON body of the management writes.
const maxManageBody = 64 << 10

var errBodyOverLimit = errors.New("body too large")

// readObjectBody reads a body of at most limit bytes that must be a JSON
// object, into fields. It writes the 413 or 400 itself and returns false
// on failure.
func readObjectBody(w http.ResponseWriter, r *http.Request, limit int64, fields any) bool {
	if r.ContentLength > limit {
		writeError(w, http.StatusRequestEntityTooLarge, "payload_too_large", "Body exceeds "+strconv.FormatInt(limit, 10)+" bytes")
		return false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err == nil && int64(len(body)) > limit {
		err = errBodyOverLimit
	}
	if errors.Is(err, errBodyOverLimit) {
		writeError(w, http.StatusRequestEntityTooLarge, "payload_too_large", "Body exceeds "+strconv.FormatInt(limit, 10)+" bytes")
		return false
	}
	body = bytes.TrimSpace(body)
	if err != nil || len(body) == 0 || body[0] != '{' || json.Unmarshal(body, fields) != nil {
		writeError(w, http.StatusBadRequest, "invalid_payload", "Body must be a JSON object")
		return false
	}
	return true
}

// routeID is the {id} path value of the route, URL-decoded and cut to 128
// characters.
func routeID(r *http.Request) string {
	return truncateRunes(validUTF8(r.PathValue("id")), 128)
}

// numberOf reads a JSON number, or a string holding one, as JavaScript's
// Number() would; ok is false for anything else or a non-finite value.
func numberOf(r json.RawMessage) (float64, bool) {
	var f float64
	if len(r) == 0 {
		return 0, false
	}
	if r[0] == '"' {
		s := strings.TrimSpace(jsonString(r))
		if s == "" {
			return 0, false
		}
		var err error
		if f, err = strconv.ParseFloat(s, 64); err != nil {
			return 0, false
		}
	} else if json.Unmarshal(r, &f) != nil {
		return 0, false
	}
	return f, !math.IsInf(f, 0) && !math.IsNaN(f)
}

// jsTruthy is JavaScript truthiness of a JSON value.
func jsTruthy(r json.RawMessage) bool {
	s := string(bytes.TrimSpace(r))
	switch s {
	case "", "null", "false", `""`:
		return false
	}
	if f, ok := numberOf(r); ok && r[0] != '"' {
		return f != 0
	}
	return true
}

// apiTimeOrNull is apiTime, with null for the zero time.
func apiTimeOrNull(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := apiTime(t)
	return &s
}
