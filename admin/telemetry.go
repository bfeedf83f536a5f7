package admin

import (
	"net/http"
	"net/url"

	"github.com/echelon-analytics/caddy-echelon/auth"
)

// Telemetry (docs/dashboard.md): with telemetry_url set, an admin may opt in to
// the dashboard reporting which of its pages are used to the Echelon
// instance at that URL. Without telemetry_url nothing is shown and nothing
// is sent.

// telemetryView is what the shell shows of telemetry.
type telemetryView struct {
	Enabled bool   // telemetry_url is set
	State   string // "on", "off" or "undecided"
	Locked  bool   // the telemetry option decides
	Banner  bool   // undecided: ask
	Script  bool   // on: the page reports itself
	URL     string
}

type telemetryState struct {
	Telemetry   string  `json:"telemetry"`
	EnvOverride *string `json:"envOverride"`
}

// fillTelemetry reads the opt-in state when telemetry is configured.
func (d *Dashboard) fillTelemetry(r *http.Request, s *shell) {
	if d.cfg.TelemetryURL == "" {
		return
	}
	var st telemetryState
	if err := d.get(r, "/api/telemetry", nil, &st); err != nil {
		return
	}
	t := &s.Telemetry
	t.Enabled, t.State, t.Locked, t.URL = true, st.Telemetry, st.EnvOverride != nil, d.cfg.TelemetryURL
	t.Banner = st.Telemetry == "undecided" && !s.Public
	t.Script = st.Telemetry == "on"
	if st.Telemetry != "undecided" {
		s.Live.Telemetry = st.Telemetry
	}
}

// setTelemetry answers the banner's and the settings page's buttons:
// POST /api/telemetry {"optin": true|false}.
func (d *Dashboard) setTelemetry(w http.ResponseWriter, r *http.Request, _ auth.Credential) {
	f, err := form(w, r)
	if err != nil || d.cfg.TelemetryURL == "" {
		d.fail(w, r, nil, http.StatusBadRequest, "Telemetry is not configured on this server.")
		return
	}
	on := f.Get("optin") == "true"
	msg := "Telemetry off: nothing is sent."
	if on {
		msg = "Telemetry on: thank you."
	}
	d.write(w, r, http.MethodPost, "/api/telemetry", map[string]bool{"optin": on}, d.back(f, d.cfg.Prefix+"/settings"), msg)
}

// telemetryOrigin is the scheme and host of the telemetry URL, for the CSP.
func telemetryOrigin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "'none'"
	}
	return u.Scheme + "://" + u.Host
}
