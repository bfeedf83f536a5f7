package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"unicode/utf8"
)

// Limits of the event protocol (docs/tracker.md, Events).
const (
	maxEventBody    = 16384
	maxEventsPerReq = 20
	maxEventData    = 2048
	// maxCustomData fits everything echelon.track promises (name 128, path,
	// 16 keys of 64 with values of 512, docs/tracker.md) inside the 16 KB
	// body, so no custom event the API accepts is dropped for its size.
	maxCustomData   = 12288
	maxExperimentID = 128
	maxUTMCampaign  = 256
)

// eventTypes is the allowlist of event types (docs/tracker.md, Events).
var eventTypes = map[string]bool{
	"bounce": true, "session_end": true, "session_resume": true, "click": true,
	"outbound": true, "download": true, "scroll_depth": true, "hover": true,
	"form_focus": true, "form_blur": true, "form_submit": true, "web_vital": true,
	"custom": true, "ad_click": true, "experiment_exposure": true,
}

// Errors of ParseEvents; the collector maps them to 413 and 400.
var (
	ErrBodyTooLarge = errors.New("events: body larger than 16384 bytes")
	ErrEmptyBody    = errors.New("events: empty body")
	ErrBadJSON      = errors.New("events: body is not a JSON object with an events array")
)

// InEvent is one accepted event of a batch.
type InEvent struct {
	Type         string
	Data         string // compact JSON, "{}" when absent
	SessionID    string // UUID shape or ""
	UTMCampaign  string
	ExperimentID string
	VariantID    string
}

// EventBatch is a parsed POST /e body.
type EventBatch struct {
	Events []InEvent
	SiteID string // as sent; the caller applies SiteOrDefault
	Token  string
	// Solver is "pv", the solver of Token (SolverWasm, SolverJS or "").
	Solver string
	// Webdriver is "wd": 1, the tracker saw navigator.webdriver set, so
	// the batch is dropped like a known bot's.
	Webdriver bool
	// Skipped counts events dropped for a bad type, oversized data, a bad
	// shape, or beyond the first 20.
	Skipped int
}

// ReadEventBody reads at most 16384 bytes: the limit is on bytes read,
// whatever Content-Length says.
func ReadEventBody(r io.Reader) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, maxEventBody+1))
	if err != nil {
		return nil, ErrBadJSON
	}
	if len(body) > maxEventBody {
		return nil, ErrBodyTooLarge
	}
	return body, nil
}

// ParseEvents validates an event body. The Content-Type is ignored.
func ParseEvents(body []byte) (EventBatch, error) {
	var b EventBatch
	if len(bytes.TrimSpace(body)) == 0 {
		return b, ErrEmptyBody
	}
	var raw struct {
		Events []json.RawMessage `json:"events"`
		SiteID json.RawMessage   `json:"siteId"`
		Tok    json.RawMessage   `json:"tok"`
		PV     json.RawMessage   `json:"pv"`
		WD     json.RawMessage   `json:"wd"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return b, ErrBadJSON
	}
	b.SiteID = jsonString(raw.SiteID)
	b.Token = jsonString(raw.Tok)
	b.Solver = solverOf(jsonString(raw.PV))
	switch string(raw.WD) {
	case "1", "true", `"1"`:
		b.Webdriver = true
	}
	for i, r := range raw.Events {
		if i >= maxEventsPerReq {
			b.Skipped += len(raw.Events) - i
			break
		}
		ev, ok := parseEvent(r)
		if !ok {
			b.Skipped++
			continue
		}
		b.Events = append(b.Events, ev)
	}
	return b, nil
}

func parseEvent(r json.RawMessage) (InEvent, bool) {
	var in struct {
		Type        json.RawMessage `json:"type"`
		Data        json.RawMessage `json:"data"`
		SessionID   json.RawMessage `json:"sessionId"`
		UTMCampaign json.RawMessage `json:"utmCampaign"`
	}
	// A null or non-object event is skipped; the rest of the batch counts.
	if len(r) == 0 || r[0] != '{' || json.Unmarshal(r, &in) != nil {
		return InEvent{}, false
	}
	ev := InEvent{Type: jsonString(in.Type)}
	if !eventTypes[ev.Type] {
		return InEvent{}, false
	}
	limit := maxEventData
	if ev.Type == "custom" {
		limit = maxCustomData
	}
	data, ok := compactData(in.Data, limit)
	if !ok {
		return InEvent{}, false
	}
	ev.Data = data
	if sid := jsonString(in.SessionID); validSessionID(sid) {
		ev.SessionID = sid
	}
	ev.UTMCampaign = truncateRunes(jsonString(in.UTMCampaign), maxUTMCampaign)
	var ids struct {
		Experiment json.RawMessage `json:"experiment_id"`
		Variant    json.RawMessage `json:"variant_id"`
	}
	if data[0] == '{' && json.Unmarshal([]byte(data), &ids) == nil {
		ev.ExperimentID = truncateRunes(jsonString(ids.Experiment), maxExperimentID)
		ev.VariantID = truncateRunes(jsonString(ids.Variant), maxExperimentID)
	}
	return ev, true
}

// compactData returns data as compact JSON ("{}" for absent or null) and
// false when it exceeds limit characters.
func compactData(d json.RawMessage, limit int) (string, bool) {
	if len(d) == 0 || string(d) == "null" {
		return "{}", true
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, d); err != nil {
		return "", false
	}
	if buf.Len() > limit && utf8.RuneCount(buf.Bytes()) > limit {
		return "", false
	}
	return validUTF8(buf.String()), true
}

// jsonString returns the value of a JSON string, or "" for any other type.
func jsonString(r json.RawMessage) string {
	if len(r) == 0 || r[0] != '"' {
		return ""
	}
	var s string
	if json.Unmarshal(r, &s) != nil {
		return ""
	}
	return validUTF8(s)
}
