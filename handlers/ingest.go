package handlers

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/echelon-analytics/caddy-echelon/anonymize"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// Ingest serves POST /api/ingest v1 (docs/api.md, Ingest): ts and path are
// honoured, and event ids are deduplicated.
type Ingest struct {
	Store IngestStore
	Now   Clock
	// Window is how old an event's ts may be: the retention of ingested
	// rows (they score −1, so bot_retention_days applies).
	Window time.Duration
	// Anonymize lists the lower-case site ids whose events are stored
	// anonymized, with Anon's mapping of each event's UTC day.
	Anonymize map[string]bool
	Anon      *anonymize.Anonymizer
}

// ServeHTTP stores a batch synchronously and answers
// {"accepted":n,"duplicate":d}.
func (in *Ingest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > MaxIngestBody {
		writeError(w, http.StatusRequestEntityTooLarge, "payload_too_large", "Body exceeds 1048576 bytes")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxIngestBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "payload_too_large", "Body exceeds 1048576 bytes")
			return
		}
		writeError(w, http.StatusBadRequest, "invalid_payload", "could not read the body")
		return
	}
	now := in.Now().UTC()
	b, err := ParseIngest(body, now, in.Window)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_payload", err.Error())
		return
	}
	events := make([]storage.Event, len(b.Events))
	ids := make([]string, len(b.Events))
	for i := range b.Events {
		e := &b.Events[i]
		events[i] = storage.Event{
			CreatedAt:      e.At,
			EventType:      e.Type,
			SiteID:         b.SiteID,
			SessionID:      b.SessionID,
			Data:           b.EventData(e),
			ExperimentID:   e.ExperimentID,
			VariantID:      e.VariantID,
			DeviceType:     b.DeviceClass,
			Referrer:       e.Referrer,
			Hour:           e.At.Hour(),
			Month:          int(e.At.Month()),
			DayOfWeek:      int(e.At.Weekday()),
			BotScore:       -1,
			BotScoreDetail: `{"source":"api_ingest"}`,
		}
		if in.Anon != nil && in.Anonymize[strings.ToLower(b.SiteID)] {
			anonymizeEvent(in.Anon.Day(e.At), &events[i])
		}
		ids[i] = e.EventID
	}
	accepted, dup, err := in.Store.IngestEvents(events, ids, in.Window+24*time.Hour)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "")
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"accepted": accepted, "duplicate": dup})
}
