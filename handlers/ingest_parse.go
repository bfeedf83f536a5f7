package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The body of POST /api/ingest v1 (docs/api.md, Ingest).

// MaxIngestBody is the largest body /api/ingest reads.
const MaxIngestBody = 1 << 20

var (
	uuidPattern      = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)
	eventTypePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
)

// IngestBatch is a validated ingest body.
type IngestBatch struct {
	BatchID   string
	SessionID string
	SiteID    string // "default" when absent
	// DeviceClass and SessionContext (already JSON) go into every event.
	DeviceClass    string
	SessionContext json.RawMessage
	Events         []IngestEvent
}

// IngestEvent is one validated event.
type IngestEvent struct {
	EventID  string // canonical lower-case UUID
	Type     string
	At       time.Time
	Path     string
	Referrer string
	// ExperimentID and VariantID are the first experiments[] pair.
	ExperimentID, VariantID string
	Data                    map[string]any // the event's own data object, or empty
}

type ingestBody struct {
	V       json.RawMessage `json:"v"`
	BatchID any             `json:"batch_id"`
	Context *ingestContext  `json:"context"`
	Events  []ingestEvent   `json:"events"`
}

type ingestContext struct {
	SessionID      any `json:"session_id"`
	SiteID         any `json:"site_id"`
	DeviceClass    any `json:"device_class"`
	ViewportWidth  any `json:"viewport_width"`
	ViewportHeight any `json:"viewport_height"`
	ScreenWidth    any `json:"screen_width"`
	ScreenHeight   any `json:"screen_height"`
	Language       any `json:"language"`
}

type ingestEvent struct {
	EventID     any `json:"event_id"`
	Type        any `json:"type"`
	TS          any `json:"ts"`
	Path        any `json:"path"`
	Referrer    any `json:"referrer"`
	Experiments any `json:"experiments"`
	Data        any `json:"data"`
}

// ParseIngest validates an ingest body. Event times must lie in
// [now − window, now + 1 minute] (within retention, not in the future; a
// minute of clock skew is forgiven and stored as now). Every
// violation is an error whose text is the 400's message.
func ParseIngest(body []byte, now time.Time, window time.Duration) (IngestBatch, error) {
	var b IngestBatch
	in, err := decodeIngest(body)
	if err != nil {
		return b, err
	}
	if v := strings.TrimSpace(string(in.V)); v != "1" && v != "1.0" {
		return b, fmt.Errorf("v must be the number 1")
	}
	id, ok := in.BatchID.(string)
	if !ok || !uuidPattern.MatchString(id) {
		return b, fmt.Errorf("batch_id must be a UUID")
	}
	b.BatchID = strings.ToLower(id)
	if in.Context == nil {
		return b, fmt.Errorf("context must be an object")
	}
	if err := b.parseContext(in.Context); err != nil {
		return b, err
	}
	if n := len(in.Events); n < 1 || n > 100 {
		return b, fmt.Errorf("events must hold 1 to 100 events, got %d", n)
	}
	for i := range in.Events {
		ev, err := parseIngestEvent(i, &in.Events[i], now, window)
		if err != nil {
			return b, err
		}
		b.Events = append(b.Events, ev)
	}
	return b, nil
}

// decodeIngest reads the body's one JSON object, numbers kept as written.
func decodeIngest(body []byte) (ingestBody, error) {
	var in ingestBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		return in, fmt.Errorf("body is not a JSON object of the ingest shape: %v", shortErr(err))
	}
	if dec.More() {
		return in, fmt.Errorf("trailing data after the JSON object")
	}
	return in, nil
}

// parseContext validates the session and site of the batch and builds
// the session context every event carries.
func (b *IngestBatch) parseContext(c *ingestContext) error {
	sid, ok := c.SessionID.(string)
	if !ok || !uuidPattern.MatchString(sid) {
		return fmt.Errorf("context.session_id must be a UUID")
	}
	b.SessionID = strings.ToLower(sid)
	b.SiteID = "default"
	if c.SiteID != nil {
		site, ok := c.SiteID.(string)
		if !ok || !validSite(site) {
			return fmt.Errorf("context.site_id must match ^[A-Za-z0-9._-]+$ and have at most 64 characters")
		}
		b.SiteID = site
	}
	b.DeviceClass = truncateRunes(anyString(c.DeviceClass), 32)
	ctx := map[string]any{
		"device_class": nullIfEmpty(b.DeviceClass),
		"viewport":     dims(c.ViewportWidth, c.ViewportHeight),
		"screen":       dims(c.ScreenWidth, c.ScreenHeight),
		"language":     nullIfEmpty(truncateRunes(anyString(c.Language), 35)),
	}
	b.SessionContext, _ = json.Marshal(ctx)
	return nil
}

// parseIngestEvent validates events[i]; its time must lie in [now −
// window, now + 1 minute] and is stored as now when it is ahead.
func parseIngestEvent(i int, e *ingestEvent, now time.Time, window time.Duration) (IngestEvent, error) {
	var ev IngestEvent
	eid, ok := e.EventID.(string)
	if !ok || !uuidPattern.MatchString(eid) {
		return ev, fmt.Errorf("events[%d].event_id must be a UUID", i)
	}
	ev.EventID = strings.ToLower(eid)
	typ, ok := e.Type.(string)
	if !ok || !eventTypePattern.MatchString(typ) {
		return ev, fmt.Errorf("events[%d].type must match ^[A-Za-z_][A-Za-z0-9_]*$ and have at most 64 characters", i)
	}
	ev.Type = typ
	ts, ok := e.TS.(string)
	if !ok {
		return ev, fmt.Errorf("events[%d].ts must be a string", i)
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return ev, fmt.Errorf("events[%d].ts must be an ISO-8601 time with a zone, like 2026-05-01T12:00:00.000Z", i)
	}
	if at.Before(now.Add(-window)) || at.After(now.Add(time.Minute)) {
		return ev, fmt.Errorf("events[%d].ts must be within the retention window and not in the future", i)
	}
	if at.After(now) {
		at = now
	}
	ev.At = at.UTC().Truncate(time.Millisecond)
	ev.Path = truncateRunes(anyString(e.Path), 2048)
	ev.Referrer = truncateRunes(anyString(e.Referrer), 2048)
	if list, ok := e.Experiments.([]any); ok && len(list) > 0 {
		if pair, ok := list[0].(map[string]any); ok {
			ev.ExperimentID = truncateRunes(anyString(pair["experiment_id"]), 128)
			ev.VariantID = truncateRunes(anyString(pair["variant_id"]), 128)
		}
	}
	ev.Data, _ = e.Data.(map[string]any)
	return ev, nil
}

func validSite(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func anyString(v any) string {
	s, _ := v.(string)
	return s
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// dims is "WxH" of two JSON numbers, or null.
func dims(w, h any) any {
	wn, ok1 := w.(json.Number)
	hn, ok2 := h.(json.Number)
	if !ok1 || !ok2 {
		return nil
	}
	wi, err1 := strconv.ParseFloat(string(wn), 64)
	hi, err2 := strconv.ParseFloat(string(hn), 64)
	if err1 != nil || err2 != nil || wi < 0 || hi < 0 || wi > 1e6 || hi > 1e6 {
		return nil
	}
	return fmt.Sprintf("%dx%d", int(wi), int(hi))
}

func shortErr(err error) string {
	s := err.Error()
	return truncateRunes(s, 120)
}

// EventData is the stored data JSON of an ingested event: its own data,
// the first experiment pair, the path and the session context.
func (b *IngestBatch) EventData(e *IngestEvent) string {
	data := make(map[string]any, len(e.Data)+4)
	for k, v := range e.Data {
		data[k] = v
	}
	if e.ExperimentID != "" {
		data["experiment_id"] = e.ExperimentID
	}
	if e.VariantID != "" {
		data["variant_id"] = e.VariantID
	}
	if e.Path != "" {
		data["path"] = e.Path
	}
	data["session_context"] = b.SessionContext
	out, err := json.Marshal(data)
	if err != nil || len(out) > 16<<10 {
		// Too large or unencodable: keep the context only.
		out, _ = json.Marshal(map[string]any{"session_context": b.SessionContext})
	}
	return string(out)
}

// ValidEventType reports whether s is an event type /api/ingest accepts:
// ^[A-Za-z_][A-Za-z0-9_]*$, at most 64 characters.
func ValidEventType(s string) bool { return eventTypePattern.MatchString(s) }
