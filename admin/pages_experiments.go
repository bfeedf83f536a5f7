package admin

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/echelon-analytics/caddy-echelon/auth"
)

// The Experiments pages: list with results, create form, detail with
// status buttons.

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

type experimentDetail struct {
	experimentRow
	Variants []struct {
		VariantID string  `json:"variant_id"`
		Name      string  `json:"name"`
		Weight    float64 `json:"weight"`
		IsControl bool    `json:"is_control"`
	} `json:"variants"`
}

type experimentResults struct {
	ExperimentID    string `json:"experiment_id"`
	Name            string `json:"name"`
	Status          string `json:"status"`
	MetricEventType string `json:"metric_event_type"`
	Variants        []struct {
		VariantID      string   `json:"variant_id"`
		Name           string   `json:"name"`
		IsControl      bool     `json:"is_control"`
		Impressions    int      `json:"impressions"`
		Conversions    int      `json:"conversions"`
		ConversionRate float64  `json:"conversion_rate"`
		RelativeUplift *float64 `json:"relative_uplift"`
		Significance   string   `json:"significance"`
	} `json:"variants"`
}

// experimentForm is the create form's values, kept when the API refuses.
type experimentForm struct {
	ID, Name, Metric, Description, Allocation string
	Variants                                  []variantField
}

type variantField struct {
	ID, Name, Weight string
	Control          bool
}

// newExperimentForm is the form's default: control 50 and variant-a 50,
// and two empty rows for more variants.
func newExperimentForm() experimentForm {
	return experimentForm{Allocation: "100", Variants: []variantField{
		{ID: "control", Name: "Control", Weight: "50", Control: true},
		{ID: "variant-a", Name: "Variant A", Weight: "50"}, {}, {},
	}}
}

type experimentsData struct {
	List    []experimentRow
	Results []experimentResults
	Form    experimentForm
}

// experiments is GET <prefix>/experiments: /api/experiments and the
// results of the active and completed ones (/api/stats/experiments).
func (d *Dashboard) experiments(w http.ResponseWriter, r *http.Request, cred auth.Credential) {
	d.experimentsPage(w, r, cred, http.StatusOK, newExperimentForm(), "")
}

func (d *Dashboard) experimentsPage(w http.ResponseWriter, r *http.Request, cred auth.Credential, status int, f experimentForm, msg string) {
	s, err := d.newShell(w, r, cred, "Experiments", "experiments")
	if err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	s.Error = msg
	data := experimentsData{Form: f}
	if err := d.get(r, "/api/experiments", nil, &data.List); err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	if err := d.get(r, "/api/stats/experiments", nil, &data.Results); err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	d.render(w, status, "experiments", s, data)
}

// createExperiment is POST <prefix>/experiments: POST /api/experiments,
// then the new experiment's page. A refusal shows the form again with
// what was typed.
func (d *Dashboard) createExperiment(w http.ResponseWriter, r *http.Request, cred auth.Credential) {
	pf, err := form(w, r)
	if err != nil {
		d.fail(w, r, nil, http.StatusBadRequest, err.Error())
		return
	}
	f := experimentForm{
		ID: strings.TrimSpace(pf.Get("experiment_id")), Name: pf.Get("name"), Metric: strings.TrimSpace(pf.Get("metric_event_type")),
		Description: pf.Get("description"), Allocation: pf.Get("allocation_percent"),
	}
	ids, names, weights := pf["variant_id"], pf["variant_name"], pf["weight"]
	control := pf.Get("control")
	var variants []map[string]any
	for i := range ids {
		v := variantField{ID: strings.TrimSpace(ids[i]), Control: control == strconv.Itoa(i)}
		if i < len(names) {
			v.Name = names[i]
		}
		if i < len(weights) {
			v.Weight = weights[i]
		}
		f.Variants = append(f.Variants, v)
		if v.ID == "" {
			continue
		}
		if v.Name == "" {
			v.Name = v.ID
		}
		weight, err := strconv.ParseFloat(strings.TrimSpace(v.Weight), 64)
		if err != nil {
			weight = -1 // the API refuses it with its own message
		}
		variants = append(variants, map[string]any{"variant_id": v.ID, "name": v.Name, "weight": weight, "is_control": v.Control})
	}
	if len(variants) < 2 {
		d.experimentsPage(w, r, cred, http.StatusBadRequest, f, "An experiment needs at least two variants.")
		return
	}
	body := map[string]any{
		"experiment_id": f.ID, "name": f.Name, "metric_event_type": f.Metric, "variants": variants,
	}
	if f.Description != "" {
		body["description"] = f.Description
	}
	if a, err := strconv.Atoi(strings.TrimSpace(f.Allocation)); err == nil {
		body["allocation_percent"] = a
	}
	if err := d.call(r, http.MethodPost, "/api/experiments", nil, body, nil); err != nil {
		status := http.StatusBadRequest
		var ae *apiError
		if errors.As(err, &ae) {
			status = ae.Status
		}
		d.experimentsPage(w, r, cred, status, f, "Not created: "+err.Error())
		return
	}
	d.done(w, r, d.cfg.Prefix+"/experiments/"+url.PathEscape(f.ID), "Experiment created as a draft.")
}

type experimentData struct {
	E       experimentDetail
	Results *experimentResults
	Actions []statusAction
}

type statusAction struct{ To, Label string }

// experimentActions are the status buttons of each status; paused →
// archived is offered, as the API allows it.
var experimentActions = map[string][]statusAction{
	"draft":     {{"active", "Start"}},
	"active":    {{"paused", "Pause"}, {"completed", "Complete"}},
	"paused":    {{"active", "Resume"}, {"archived", "Archive"}},
	"completed": {{"archived", "Archive"}},
}

// experiment is GET <prefix>/experiments/{id}: /api/experiments/:id and
// its results; 404 when unknown.
func (d *Dashboard) experiment(w http.ResponseWriter, r *http.Request, cred auth.Credential) {
	id := r.PathValue("id")
	s, err := d.newShell(w, r, cred, "Experiment "+id, "experiments")
	if err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	var data experimentData
	if err := d.get(r, "/api/experiments/"+url.PathEscape(id), nil, &data.E); err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	var res []experimentResults
	if err := d.get(r, "/api/stats/experiments", vals("experiment_id", id), &res); err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	if len(res) > 0 {
		data.Results = &res[0]
	}
	data.Actions = experimentActions[data.E.Status]
	d.render(w, http.StatusOK, "experiment", s, data)
}

// experimentStatus is POST <prefix>/experiments/{id}/status: PATCH
// /api/experiments/:id {"status"}.
func (d *Dashboard) experimentStatus(w http.ResponseWriter, r *http.Request, _ auth.Credential) {
	f, err := form(w, r)
	if err != nil {
		d.fail(w, r, nil, http.StatusBadRequest, err.Error())
		return
	}
	id := r.PathValue("id")
	to := f.Get("status")
	d.write(w, r, http.MethodPatch, "/api/experiments/"+url.PathEscape(id), map[string]string{"status": to},
		d.cfg.Prefix+"/experiments/"+url.PathEscape(id), "Experiment "+id+" is now "+to+".")
}
