package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// PerfStore is the part of storage.Store the perf API uses.
type PerfStore interface {
	AddPerfMetrics(metrics []storage.PerfMetric, now time.Time) error
	PerfMetrics(q storage.PerfQuery) ([]storage.PerfMetric, error)
	PerfTrends(limit int, since string) (map[string][]storage.PerfMetric, error)
}

// Perf serves /api/perf and /api/perf/trends (docs/api.md, Performance
// metrics).
type Perf struct {
	Store PerfStore
	Now   Clock
}

// Limits of POST /api/perf.
const (
	perfMaxBody     = 65536
	perfMaxItems    = 100
	perfMaxMetadata = 2048
)

// perfJSON is a metric as the API shows it.
type perfJSON struct {
	ID         uint64          `json:"id"`
	RecordedAt string          `json:"recorded_at"`
	CommitHash *string         `json:"commit_hash"`
	Branch     *string         `json:"branch"`
	Category   string          `json:"category"`
	Metric     string          `json:"metric"`
	Value      float64         `json:"value"`
	Unit       string          `json:"unit"`
	Metadata   json.RawMessage `json:"metadata"`
}

func toPerfJSON(m storage.PerfMetric) perfJSON {
	meta := m.Metadata
	if meta == nil {
		meta = json.RawMessage("null")
	}
	return perfJSON{
		ID: m.ID, RecordedAt: apiTime(m.RecordedAt), CommitHash: m.CommitHash, Branch: m.Branch,
		Category: m.Category, Metric: m.Metric, Value: m.Value, Unit: m.Unit, Metadata: meta,
	}
}

// ServeList answers GET /api/perf: category, metric, since, limit 1–1000
// (100), newest first.
func (p *Perf) ServeList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ms, err := p.Store.PerfMetrics(storage.PerfQuery{
		Category: q.Get("category"),
		Metric:   q.Get("metric"),
		Since:    q.Get("since"),
		Limit:    intParam(r.URL.Query(), "limit", 100, 1, 1000),
	})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "")
		return
	}
	out := make([]perfJSON, len(ms))
	for i, m := range ms {
		out[i] = toPerfJSON(m)
	}
	writeJSON(w, http.StatusOK, out)
}

// ServeTrends answers GET /api/perf/trends: per "category/metric" its
// latest limit (1–1000, 30) metrics since since, oldest first.
func (p *Perf) ServeTrends(w http.ResponseWriter, r *http.Request) {
	series, err := p.Store.PerfTrends(intParam(r.URL.Query(), "limit", 30, 1, 1000), r.URL.Query().Get("since"))
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "")
		return
	}
	out := make(map[string][]perfJSON, len(series))
	for name, ms := range series {
		rows := make([]perfJSON, len(ms))
		for i, m := range ms {
			rows[i] = toPerfJSON(m)
		}
		out[name] = rows
	}
	writeJSON(w, http.StatusOK, out)
}

// ServeAdd answers POST /api/perf: an array of at most 100 metrics, stored
// in one transaction, or none of them.
func (p *Perf) ServeAdd(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > perfMaxBody {
		writeError(w, http.StatusRequestEntityTooLarge, "payload_too_large", "Body exceeds 65536 bytes")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, perfMaxBody+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_payload", "Unreadable body")
		return
	}
	if len(body) > perfMaxBody {
		writeError(w, http.StatusRequestEntityTooLarge, "payload_too_large", "Body exceeds 65536 bytes")
		return
	}
	metrics, err := ParsePerfMetrics(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_payload", err.Error())
		return
	}
	if err := p.Store.AddPerfMetrics(metrics, p.Now()); err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "")
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"inserted": len(metrics)})
}

// ParsePerfMetrics validates a POST /api/perf body: a JSON
// array of at most 100 objects, each with non-empty string category (cut to
// 128 characters), metric (128) and unit (32) and a finite number value;
// optional string commit_hash (64) and branch (128); optional metadata, any
// JSON value up to 2048 bytes serialised (longer metadata is refused, not
// cut, so stored metadata is always valid JSON).
func ParsePerfMetrics(body []byte) ([]storage.PerfMetric, error) {
	var items []map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&items); err != nil || dec.More() {
		return nil, fmt.Errorf("Body must be a JSON array of metric objects")
	}
	if items == nil {
		return nil, fmt.Errorf("Body must be a JSON array of metric objects")
	}
	if len(items) > perfMaxItems {
		return nil, fmt.Errorf("At most %d metrics per request", perfMaxItems)
	}
	out := make([]storage.PerfMetric, len(items))
	for i, item := range items {
		m, err := parsePerfItem(item)
		if err != nil {
			return nil, fmt.Errorf("Item %d: %v", i, err)
		}
		out[i] = m
	}
	return out, nil
}

func parsePerfItem(item map[string]json.RawMessage) (storage.PerfMetric, error) {
	var m storage.PerfMetric
	if item == nil {
		return m, fmt.Errorf("must be an object")
	}
	for _, f := range []struct {
		name string
		max  int
		dst  *string
	}{{"category", 128, &m.Category}, {"metric", 128, &m.Metric}, {"unit", 32, &m.Unit}} {
		var s string
		if json.Unmarshal(item[f.name], &s) != nil || s == "" {
			return m, fmt.Errorf("%s must be a non-empty string", f.name)
		}
		*f.dst = truncateRunes(s, f.max)
	}
	var v float64
	if raw, ok := item["value"]; !ok || json.Unmarshal(raw, &v) != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return m, fmt.Errorf("value must be a finite number")
	}
	m.Value = v
	for _, f := range []struct {
		name string
		max  int
		dst  **string
	}{{"commit_hash", 64, &m.CommitHash}, {"branch", 128, &m.Branch}} {
		raw, ok := item[f.name]
		if !ok || string(raw) == "null" {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return m, fmt.Errorf("%s must be a string", f.name)
		}
		s = truncateRunes(s, f.max)
		*f.dst = &s
	}
	if raw, ok := item["metadata"]; ok && string(raw) != "null" {
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return m, fmt.Errorf("metadata must be JSON")
		}
		if buf.Len() > perfMaxMetadata {
			return m, fmt.Errorf("metadata exceeds %d bytes", perfMaxMetadata)
		}
		m.Metadata = json.RawMessage(buf.Bytes())
	}
	return m, nil
}
