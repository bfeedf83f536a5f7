package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// Limits of /api/perf (api.md §7).
const (
	maxPerfBody     = 65536
	maxPerfItems    = 100
	maxPerfMetadata = 2048
)

type perfRow struct {
	ID         uint64          `json:"id"`
	RecordedAt *string         `json:"recorded_at"`
	CommitHash *string         `json:"commit_hash"`
	Branch     *string         `json:"branch"`
	Category   string          `json:"category"`
	Metric     string          `json:"metric"`
	Value      float64         `json:"value"`
	Unit       string          `json:"unit"`
	Metadata   json.RawMessage `json:"metadata"` // the JSON posted, once encoded
}

func perfRowOf(m *storage.PerfMetric) perfRow {
	r := perfRow{
		ID: m.ID, RecordedAt: apiTime(m.RecordedAt), CommitHash: orNull(m.CommitHash), Branch: orNull(m.Branch),
		Category: m.Category, Metric: m.Metric, Value: m.Value, Unit: m.Unit, Metadata: json.RawMessage("null"),
	}
	if m.Metadata != "" && json.Valid([]byte(m.Metadata)) {
		r.Metadata = json.RawMessage(m.Metadata)
	}
	return r
}

// clampedParam parses an integer query parameter like the reference's
// parseInt: leading digits count, NaN or 0 is def, the result is clamped.
func clampedParam(r *http.Request, name string, def, lo, hi int) int {
	s := strings.TrimSpace(r.URL.Query().Get(name))
	end := 0
	if end < len(s) && (s[0] == '-' || s[0] == '+') {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(s[:end])
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			n = hi
			if s[0] == '-' {
				n = lo
			}
		} else {
			return def
		}
	}
	if n == 0 {
		return def
	}
	return max(lo, min(hi, n))
}

// sinceOf parses ?since= (an ISO-8601 time or a date); absent is the
// zero time. ok is false, with the 400 written, for anything else.
func sinceOf(w http.ResponseWriter, r *http.Request) (time.Time, bool) {
	s := r.URL.Query().Get("since")
	if s == "" {
		return time.Time{}, true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	replyError(w, http.StatusBadRequest, "invalid_param", "since must be an ISO-8601 time or a YYYY-MM-DD date")
	return time.Time{}, false
}

// ServePerf handles GET /api/perf (category, metric, since, limit 1–1000,
// default 100; newest first) and POST /api/perf.
func (m *Manage) ServePerf(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		m.addPerf(w, r)
		return
	}
	since, ok := sinceOf(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	cat, metric := q.Get("category"), q.Get("metric")
	limit := clampedParam(r, "limit", 100, 1, 1000)
	rows := []perfRow{}
	err := m.Store.PerfMetrics(since, func(p *storage.PerfMetric) bool {
		if (cat == "" || p.Category == cat) && (metric == "" || p.Metric == metric) {
			rows = append(rows, perfRowOf(p))
		}
		return len(rows) < limit
	})
	if err != nil {
		replyError(w, http.StatusInternalServerError, "internal", "")
		return
	}
	replyJSON(w, http.StatusOK, rows)
}

// ServePerfTrends handles GET /api/perf/trends: per "category/metric"
// series, its latest limit rows (1–1000, default 30) since since, oldest
// first.
func (m *Manage) ServePerfTrends(w http.ResponseWriter, r *http.Request) {
	since, ok := sinceOf(w, r)
	if !ok {
		return
	}
	limit := clampedParam(r, "limit", 30, 1, 1000)
	series := map[string][]perfRow{}
	err := m.Store.PerfMetrics(since, func(p *storage.PerfMetric) bool {
		k := p.Category + "/" + p.Metric
		if len(series[k]) < limit {
			series[k] = append(series[k], perfRowOf(p))
		}
		return true
	})
	if err != nil {
		replyError(w, http.StatusInternalServerError, "internal", "")
		return
	}
	for _, rows := range series {
		for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
			rows[i], rows[j] = rows[j], rows[i]
		}
	}
	replyJSON(w, http.StatusOK, series)
}

type perfItem struct {
	Category   json.RawMessage `json:"category"`
	Metric     json.RawMessage `json:"metric"`
	Unit       json.RawMessage `json:"unit"`
	Value      json.RawMessage `json:"value"`
	CommitHash json.RawMessage `json:"commit_hash"`
	Branch     json.RawMessage `json:"branch"`
	Metadata   json.RawMessage `json:"metadata"`
}

// ParsePerf validates a POST /api/perf body: an array of 1–100 objects,
// each with non-empty strings category (cut to 128), metric (128), unit
// (32), a finite number value, optional strings commit_hash (64) and
// branch (128), and optional metadata, any JSON up to 2048 characters
// once compacted (refused beyond, not cut: a cut would store broken JSON).
// The error is the 400's message.
func ParsePerf(body []byte) ([]storage.PerfMetric, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || len(bytes.TrimSpace(body)) == 0 || bytes.TrimSpace(body)[0] != '[' {
		return nil, errors.New("Body must be a JSON array of metrics")
	}
	if len(raw) == 0 || len(raw) > maxPerfItems {
		return nil, fmt.Errorf("Send 1 to %d metrics, not %d", maxPerfItems, len(raw))
	}
	out := make([]storage.PerfMetric, len(raw))
	for i, r := range raw {
		var in perfItem
		if len(r) == 0 || r[0] != '{' || json.Unmarshal(r, &in) != nil {
			return nil, fmt.Errorf("Metric %d must be an object", i)
		}
		m := storage.PerfMetric{
			Category:   truncateRunes(jsonString(in.Category), 128),
			Metric:     truncateRunes(jsonString(in.Metric), 128),
			Unit:       truncateRunes(jsonString(in.Unit), 32),
			CommitHash: truncateRunes(jsonString(in.CommitHash), 64),
			Branch:     truncateRunes(jsonString(in.Branch), 128),
		}
		if m.Category == "" || m.Metric == "" || m.Unit == "" {
			return nil, fmt.Errorf("Metric %d needs non-empty strings category, metric and unit", i)
		}
		if len(in.Value) == 0 || in.Value[0] == '"' {
			return nil, fmt.Errorf("Metric %d: value must be a finite number", i)
		}
		v, ok := numberOf(in.Value)
		if !ok {
			return nil, fmt.Errorf("Metric %d: value must be a finite number", i)
		}
		m.Value = v
		if len(in.Metadata) > 0 && string(in.Metadata) != "null" {
			var buf bytes.Buffer
			if err := json.Compact(&buf, in.Metadata); err != nil {
				return nil, fmt.Errorf("Metric %d: metadata is not JSON", i)
			}
			if n := len([]rune(validUTF8(buf.String()))); n > maxPerfMetadata {
				return nil, fmt.Errorf("Metric %d: metadata is %d characters, over %d", i, n, maxPerfMetadata)
			}
			m.Metadata = validUTF8(buf.String())
		}
		out[i] = m
	}
	return out, nil
}

func (m *Manage) addPerf(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > maxPerfBody {
		replyError(w, http.StatusRequestEntityTooLarge, "payload_too_large", "Body exceeds 65536 bytes")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPerfBody+1))
	if err == nil && len(body) > maxPerfBody {
		replyError(w, http.StatusRequestEntityTooLarge, "payload_too_large", "Body exceeds 65536 bytes")
		return
	}
	if err != nil {
		replyError(w, http.StatusBadRequest, "invalid_payload", "Could not read the body")
		return
	}
	metrics, err := ParsePerf(body)
	if err != nil {
		replyError(w, http.StatusBadRequest, "invalid_payload", err.Error())
		return
	}
	stored, err := m.Store.AddPerfMetrics(metrics, m.Now().UTC())
	if err != nil {
		replyError(w, http.StatusInternalServerError, "internal", "")
		return
	}
	replyJSON(w, http.StatusOK, map[string]int{"inserted": len(stored)})
}
