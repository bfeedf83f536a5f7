package admin

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/echelon-analytics/caddy-echelon/auth"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// The Performance and Settings pages.

type perfRow struct {
	RecordedAt string  `json:"recorded_at"`
	Branch     *string `json:"branch"`
	Category   string  `json:"category"`
	Metric     string  `json:"metric"`
	Value      float64 `json:"value"`
	Unit       string  `json:"unit"`
}

type perfTrend struct {
	Name     string
	Latest   perfRow
	Min, Max float64
	Spark    template.HTML
	Points   int
}

type perfData struct {
	Category string
	Limit    int
	Rows     []perfRow
	Trends   []perfTrend
}

// perf is GET <prefix>/perf?category&limit: /api/perf and, per series,
// the last 20 values of /api/perf/trends.
func (d *Dashboard) perf(w http.ResponseWriter, r *http.Request, cred auth.Credential) {
	s, err := d.newShell(w, r, cred, "Performance", "perf")
	if err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	q := r.URL.Query()
	data := perfData{Category: q.Get("category"), Limit: intIn(q.Get("limit"), 50, 1, 1000)}
	if err := d.get(r, "/api/perf", vals("category", data.Category, "limit", strconv.Itoa(data.Limit)), &data.Rows); err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	var trends map[string][]perfRow
	if err := d.get(r, "/api/perf/trends", vals("limit", "20"), &trends); err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range trends {
			if !yield(k) {
				return
			}
		}
	}) {
		rows := trends[name]
		if len(rows) == 0 {
			continue
		}
		t := perfTrend{Name: name, Latest: rows[len(rows)-1], Min: rows[0].Value, Max: rows[0].Value, Points: len(rows)}
		for _, p := range rows {
			t.Min, t.Max = min(t.Min, p.Value), max(t.Max, p.Value)
		}
		lo := t.Min
		// The sparkline scales from the series' minimum to its maximum.
		vs := make([]uint64, len(rows))
		for i, p := range rows {
			if t.Max > lo {
				vs[i] = uint64((p.Value - lo) / (t.Max - lo) * 1000)
			}
		}
		t.Spark = sparkline(name+": last "+strconv.Itoa(len(rows))+" values", vs)
		data.Trends = append(data.Trends, t)
	}
	d.render(w, http.StatusOK, "perf", s, data)
}

type settingsData struct {
	Site      string
	CSS       string
	Debug     bool
	DebugLock bool
}

// settings is GET <prefix>/settings: the site's consent CSS
// (/api/sites/:id), debug (/api/debug) and, with telemetry_url set,
// telemetry (the shell has read /api/telemetry).
func (d *Dashboard) settings(w http.ResponseWriter, r *http.Request, cred auth.Credential) {
	s, err := d.newShell(w, r, cred, "Settings", "settings")
	if err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	data := settingsData{Site: s.Site}
	var site struct {
		ConsentCSS *string `json:"consent_css"`
	}
	if err := d.get(r, "/api/sites/"+url.PathEscape(s.Site), nil, &site); err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	if site.ConsentCSS != nil {
		data.CSS = *site.ConsentCSS
	}
	var debug struct {
		Debug       bool `json:"debug"`
		EnvOverride bool `json:"envOverride"`
	}
	if err := d.get(r, "/api/debug", nil, &debug); err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	data.Debug, data.DebugLock = debug.Debug, debug.EnvOverride
	d.render(w, http.StatusOK, "settings", s, data)
}

// saveConsent is POST <prefix>/settings/consent: PATCH /api/sites/:id
// {"consent_css"}; empty clears it.
func (d *Dashboard) saveConsent(w http.ResponseWriter, r *http.Request, _ auth.Credential) {
	f, err := form(w, r)
	if err != nil {
		d.fail(w, r, nil, http.StatusBadRequest, err.Error())
		return
	}
	site := f.Get("site_id")
	if !storage.ValidSiteID(site) {
		d.fail(w, r, nil, http.StatusBadRequest, "Invalid site id.")
		return
	}
	d.write(w, r, http.MethodPatch, "/api/sites/"+url.PathEscape(site), map[string]string{"consent_css": f.Get("consent_css")},
		d.cfg.Prefix+"/settings"+query("site_id", site), "Consent banner CSS of "+site+" saved; the next ea.js of the site carries it.")
}

// setDebug is POST <prefix>/settings/debug: POST /api/debug {"enabled"}.
func (d *Dashboard) setDebug(w http.ResponseWriter, r *http.Request, _ auth.Credential) {
	f, err := form(w, r)
	if err != nil {
		d.fail(w, r, nil, http.StatusBadRequest, err.Error())
		return
	}
	on := f.Get("enabled") == "true"
	msg := "Debug logging off."
	if on {
		msg = "Debug logging on until the next restart."
	}
	d.write(w, r, http.MethodPost, "/api/debug", map[string]bool{"enabled": on}, d.cfg.Prefix+"/settings", msg)
}
