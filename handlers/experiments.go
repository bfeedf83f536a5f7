package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// Manage serves the management endpoints of experiments (with
// /api/stats/experiments) and sites (docs/api.md, Experiments and Sites).
// Access control is done before.
type Manage struct {
	Store      ManageStore
	Now        Clock
	PublicMode bool
}

// Limits of POST /api/experiments (docs/api.md, Experiments).
const (
	maxExperimentName   = 256
	maxExperimentDesc   = 1024
	maxMetric           = 128
	maxVariants         = 20
	maxVariantConfig    = 4096
	maxListExperiments  = 200
	missingFieldsReason = "Missing required fields"
)

type experimentRow struct {
	ExperimentID      string  `json:"experiment_id"`
	Name              string  `json:"name"`
	Description       *string `json:"description"`
	MetricEventType   string  `json:"metric_event_type"`
	Status            string  `json:"status"`
	AllocationPercent int     `json:"allocation_percent"`
	CreatedAt         *string `json:"created_at"`
	StartedAt         *string `json:"started_at"`
	EndedAt           *string `json:"ended_at"`
}

// ServeExperiments handles GET (newest 200, without variants) and POST
// (create) /api/experiments.
func (m *Manage) ServeExperiments(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		m.createExperiment(w, r)
		return
	}
	list, err := m.Store.ListExperiments(maxListExperiments)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "")
		return
	}
	rows := make([]experimentRow, len(list))
	for i, e := range list {
		rows[i] = experimentRow{
			ExperimentID: e.ID, Name: e.Name, Description: nullable(e.Description),
			MetricEventType: e.MetricEventType, Status: e.Status, AllocationPercent: e.AllocationPercent,
			CreatedAt: apiTimeOrNull(e.CreatedAt), StartedAt: apiTimeOrNull(e.StartedAt), EndedAt: apiTimeOrNull(e.EndedAt),
		}
	}
	writeJSON(w, http.StatusOK, rows)
}

type createExperimentBody struct {
	ExperimentID      json.RawMessage `json:"experiment_id"`
	Name              json.RawMessage `json:"name"`
	Description       json.RawMessage `json:"description"`
	MetricEventType   json.RawMessage `json:"metric_event_type"`
	AllocationPercent json.RawMessage `json:"allocation_percent"`
	Variants          json.RawMessage `json:"variants"`
}

type variantBody struct {
	VariantID json.RawMessage `json:"variant_id"`
	Name      json.RawMessage `json:"name"`
	Weight    json.RawMessage `json:"weight"`
	IsControl json.RawMessage `json:"is_control"`
	Config    json.RawMessage `json:"config"`
}

// ParseExperiment validates a POST /api/experiments body into
// an experiment to create; the error text is the 400's message.
func ParseExperiment(body []byte) (storage.Experiment, error) {
	var in createExperimentBody
	if err := json.Unmarshal(body, &in); err != nil || len(body) == 0 || body[0] != '{' {
		return storage.Experiment{}, errors.New("Body must be a JSON object")
	}
	e := storage.Experiment{
		ID:              truncateRunes(jsonString(in.ExperimentID), maxExperimentID),
		Name:            truncateRunes(jsonString(in.Name), maxExperimentName),
		Description:     truncateRunes(jsonString(in.Description), maxExperimentDesc),
		MetricEventType: truncateRunes(jsonString(in.MetricEventType), maxMetric),
		Status:          storage.StatusDraft,
	}
	if e.ID == "" || e.Name == "" || e.MetricEventType == "" {
		return storage.Experiment{}, errors.New(missingFieldsReason)
	}
	if !validExperimentID(e.ID) {
		return storage.Experiment{}, errors.New("experiment_id must match ^[A-Za-z0-9._-]+$")
	}
	e.AllocationPercent = 100
	if f, ok := numberOf(in.AllocationPercent); ok && math.Trunc(f) != 0 {
		e.AllocationPercent = int(max(1, min(100, math.Trunc(f))))
	}
	var raw []json.RawMessage
	if len(in.Variants) > 0 && string(in.Variants) != "null" {
		if json.Unmarshal(in.Variants, &raw) != nil {
			return storage.Experiment{}, errors.New("variants must be an array")
		}
	}
	for _, rv := range raw[:min(len(raw), maxVariants)] {
		var vb variantBody
		if len(rv) == 0 || rv[0] != '{' || json.Unmarshal(rv, &vb) != nil {
			return storage.Experiment{}, errors.New("Each variant must be an object")
		}
		v := storage.Variant{
			ID:        truncateRunes(jsonString(vb.VariantID), maxExperimentID),
			Name:      truncateRunes(jsonString(vb.Name), maxExperimentName),
			IsControl: jsTruthy(vb.IsControl),
		}
		if v.ID == "" || v.Name == "" {
			return storage.Experiment{}, errors.New("Each variant needs a variant_id and a name")
		}
		w, ok := numberOf(vb.Weight)
		if !ok || w <= 0 || (len(vb.Weight) > 0 && vb.Weight[0] == '"') {
			return storage.Experiment{}, errors.New("Variant weight must be a finite positive number")
		}
		v.Weight = w
		if len(vb.Config) > 0 && string(vb.Config) != "null" {
			var c bytes.Buffer
			if err := json.Compact(&c, vb.Config); err == nil {
				v.Config = truncateRunes(c.String(), maxVariantConfig)
			}
		}
		e.Variants = append(e.Variants, v)
	}
	return e, nil
}

func validExperimentID(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return s != ""
}

func (m *Manage) createExperiment(w http.ResponseWriter, r *http.Request) {
	var raw json.RawMessage
	if !readObjectBody(w, r, maxManageBody, &raw) {
		return
	}
	e, err := ParseExperiment(raw)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_payload", err.Error())
		return
	}
	e.CreatedAt = m.Now().UTC()
	switch err := m.Store.CreateExperiment(e); {
	case errors.Is(err, storage.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", "Experiment creation failed")
	case err != nil:
		writeError(w, http.StatusInternalServerError, "internal", "")
	default:
		writeJSON(w, http.StatusCreated, map[string]string{"created": e.ID})
	}
}

// variantRow is a variant as GET /api/experiments/:id shows it.
type variantRow struct {
	VariantID string          `json:"variant_id"`
	Name      string          `json:"name"`
	Weight    float64         `json:"weight"`
	IsControl bool            `json:"is_control"`
	Config    json.RawMessage `json:"config"`
}

// ServeExperiment handles GET /api/experiments/:id (the experiment with
// its variants, weights included; 404 not_found) and PATCH {"status"}.
func (m *Manage) ServeExperiment(w http.ResponseWriter, r *http.Request) {
	id := routeID(r)
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		m.serveExperiment(w, id)
		return
	}
	var in struct {
		Status json.RawMessage `json:"status"`
	}
	if !readObjectBody(w, r, maxManageBody, &in) {
		return
	}
	to := jsonString(in.Status)
	if statuses := storage.ExperimentStatuses(); !slices.Contains(statuses, to) {
		writeError(w, http.StatusBadRequest, "invalid_payload", "status must be one of: "+strings.Join(statuses, ", "))
		return
	}
	err := m.Store.TransitionExperiment(id, to, m.Now().UTC())
	var te *storage.TransitionError
	switch {
	case errors.Is(err, storage.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "Experiment not found")
	case errors.As(err, &te):
		writeError(w, http.StatusBadRequest, "invalid_transition", te.Error())
	case errors.Is(err, storage.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", "Experiment status changed meanwhile")
	case err != nil:
		writeError(w, http.StatusInternalServerError, "internal", "")
	default:
		writeJSON(w, http.StatusOK, map[string]string{"updated": id})
	}
}

func (m *Manage) serveExperiment(w http.ResponseWriter, id string) {
	e, err := m.Store.ExperimentByID(id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "Experiment not found")
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, "internal", "")
		return
	}
	out := struct {
		experimentRow
		Variants []variantRow `json:"variants"`
	}{experimentRow: experimentRow{
		ExperimentID: e.ID, Name: e.Name, Description: nullable(e.Description),
		MetricEventType: e.MetricEventType, Status: e.Status, AllocationPercent: e.AllocationPercent,
		CreatedAt: apiTimeOrNull(e.CreatedAt), StartedAt: apiTimeOrNull(e.StartedAt), EndedAt: apiTimeOrNull(e.EndedAt),
	}, Variants: make([]variantRow, len(e.Variants))}
	for i, v := range e.Variants {
		cfg := json.RawMessage("null")
		if v.Config != "" && json.Valid([]byte(v.Config)) {
			cfg = json.RawMessage(v.Config)
		}
		out.Variants[i] = variantRow{VariantID: v.ID, Name: v.Name, Weight: v.Weight, IsControl: v.IsControl, Config: cfg}
	}
	writeJSON(w, http.StatusOK, out)
}

type experimentStats struct {
	ExperimentID    string         `json:"experiment_id"`
	Name            string         `json:"name"`
	Status          string         `json:"status"`
	MetricEventType string         `json:"metric_event_type"`
	Variants        []variantStats `json:"variants"`
}

type variantStats struct {
	VariantID      string   `json:"variant_id"`
	Name           string   `json:"name"`
	IsControl      bool     `json:"is_control"`
	Impressions    int      `json:"impressions"`
	Conversions    int      `json:"conversions"`
	ConversionRate float64  `json:"conversion_rate"`
	RelativeUplift *float64 `json:"relative_uplift"`
	Significance   string   `json:"significance"`
}

// ServeExperimentStats handles GET /api/stats/experiments: one experiment
// at any status with experiment_id, else every active and completed one.
func (m *Manage) ServeExperimentStats(w http.ResponseWriter, r *http.Request) {
	var list []storage.Experiment
	var err error
	if id := r.URL.Query().Get("experiment_id"); id != "" {
		var e storage.Experiment
		e, err = m.Store.ExperimentByID(truncateRunes(id, maxExperimentID))
		if err == nil {
			list = []storage.Experiment{e}
		} else if errors.Is(err, storage.ErrNotFound) {
			err = nil
		}
	} else {
		list, err = m.Store.ExperimentsWithStatus(storage.StatusActive, storage.StatusCompleted)
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "")
		return
	}
	out := make([]experimentStats, 0, len(list))
	for _, e := range list {
		// Control first, the others in their order.
		slices.SortStableFunc(e.Variants, func(a, b storage.Variant) int {
			switch {
			case a.IsControl == b.IsControl:
				return 0
			case a.IsControl:
				return -1
			}
			return 1
		})
		res, err := m.Store.ExperimentResults(e)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "internal", "")
			return
		}
		out = append(out, experimentStats{
			ExperimentID: e.ID, Name: e.Name, Status: e.Status, MetricEventType: e.MetricEventType,
			Variants: variantResults(e.Variants, res),
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// variantResults computes rates, uplift and significance against the
// first control variant (docs/api.md, Experiments).
func variantResults(vs []storage.Variant, res []storage.VariantResult) []variantStats {
	out := make([]variantStats, len(vs))
	control := -1
	for i, v := range vs {
		out[i] = variantStats{
			VariantID: v.ID, Name: v.Name, IsControl: v.IsControl,
			Impressions: res[i].Impressions, Conversions: res[i].Conversions,
			Significance: "Not enough data",
		}
		if res[i].Impressions > 0 {
			out[i].ConversionRate = float64(res[i].Conversions) / float64(res[i].Impressions)
		}
		if v.IsControl && control < 0 {
			control = i
		}
	}
	if control < 0 {
		return out
	}
	c := out[control]
	for i := range out {
		if out[i].IsControl {
			continue
		}
		if c.ConversionRate > 0 {
			u := (out[i].ConversionRate - c.ConversionRate) / c.ConversionRate
			out[i].RelativeUplift = &u
		}
		if c.Impressions > 0 {
			out[i].Significance = Significance(c.Impressions, c.Conversions, out[i].Impressions, out[i].Conversions)
		}
	}
	return out
}

// Significance is the two-proportion z-test text (docs/api.md,
// Experiments) for a
// control (n1 sessions, c1 conversions) and a variant (n2, c2).
func Significance(n1, c1, n2, c2 int) string {
	if n := min(n1, n2); n < 100 {
		return fmt.Sprintf("Not yet — need more data (%d < 100 impressions)", n)
	}
	p := float64(c1+c2) / float64(n1+n2)
	se := math.Sqrt(p * (1 - p) * (1/float64(n1) + 1/float64(n2)))
	if se == 0 {
		return "No variance"
	}
	z := math.Abs(float64(c2)/float64(n2)-float64(c1)/float64(n1)) / se
	switch {
	case z >= 2.576:
		return "Statistically significant at 99%"
	case z >= 1.96:
		return "Statistically significant at 95%"
	case z >= 1.645:
		return "Marginally significant at 90%"
	}
	return "Not statistically significant"
}
