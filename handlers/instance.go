package handlers

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
)

// telemetrySetting is the instance setting that keeps the admin's choice.
const telemetrySetting = "telemetry_optin"

// Instance holds the runtime switches of /api/telemetry and /api/debug.
type Instance struct {
	// TelemetryEnv is the telemetry option (ECHELON_TELEMETRY): when set
	// it decides and the setting is locked.
	TelemetryEnv *bool
	// Debug is the runtime debug logging switch the tracking observer
	// reads; DebugLocked is the debug option turned on in the config
	// (ECHELON_DEBUG=true), which locks it on.
	Debug       *atomic.Bool
	DebugLocked bool
}

func onOrOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// telemetry is the current state: the option wins, then the stored
// choice, else undecided. A point read per request: no cache needed.
func (m *Manage) telemetry() (string, error) {
	if e := m.Instance.TelemetryEnv; e != nil {
		return onOrOff(*e), nil
	}
	v, found, err := m.Store.InstanceSetting(telemetrySetting)
	if err != nil || !found {
		return "undecided", err
	}
	return onOrOff(v == "true"), nil
}

// ServeTelemetry handles GET /api/telemetry → {"telemetry","envOverride"}
// and POST {"optin":bool} → {"telemetry"} (api.md §7): 409 locked when the
// option is set, 400 invalid_body for anything but a boolean optin.
func (m *Manage) ServeTelemetry(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		if m.Instance.TelemetryEnv != nil {
			replyError(w, http.StatusConflict, "locked", "Telemetry is set by the telemetry option (ECHELON_TELEMETRY)")
			return
		}
		var in struct {
			OptIn json.RawMessage `json:"optin"`
		}
		if !readSmallBody(w, r, &in) {
			return
		}
		optIn, ok := boolOf(in.OptIn)
		if !ok {
			replyError(w, http.StatusBadRequest, "invalid_body", `Body must be {"optin": true|false}`)
			return
		}
		if err := m.Store.SetInstanceSetting(telemetrySetting, strconv.FormatBool(optIn)); err != nil {
			replyError(w, http.StatusInternalServerError, "internal", "")
			return
		}
		replyJSON(w, http.StatusOK, map[string]string{"telemetry": onOrOff(optIn)})
		return
	}
	state, err := m.telemetry()
	if err != nil {
		replyError(w, http.StatusInternalServerError, "internal", "")
		return
	}
	var env *string
	if e := m.Instance.TelemetryEnv; e != nil {
		s := onOrOff(*e)
		env = &s
	}
	replyJSON(w, http.StatusOK, struct {
		Telemetry   string  `json:"telemetry"`
		EnvOverride *string `json:"envOverride"`
	}{state, env})
}

// ServeDebug handles GET /api/debug → {"debug","envOverride"} and POST
// {"enabled":bool} → {"debug"}: debug logging of tracking decisions for
// this running config only; 409 locked when the option turned it on.
func (m *Manage) ServeDebug(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		if m.Instance.DebugLocked {
			replyError(w, http.StatusConflict, "locked", "Debug is on by the debug option (ECHELON_DEBUG)")
			return
		}
		var in struct {
			Enabled json.RawMessage `json:"enabled"`
		}
		if !readSmallBody(w, r, &in) {
			return
		}
		enabled, ok := boolOf(in.Enabled)
		if !ok {
			replyError(w, http.StatusBadRequest, "invalid_body", `Body must be {"enabled": true|false}`)
			return
		}
		m.Instance.Debug.Store(enabled)
		replyJSON(w, http.StatusOK, map[string]bool{"debug": enabled})
		return
	}
	replyJSON(w, http.StatusOK, map[string]bool{"debug": m.Instance.Debug.Load(), "envOverride": m.Instance.DebugLocked})
}

// readSmallBody decodes a body of at most 4 KiB into v, leaving v's
// fields unset where the body does not fit them (the caller's checks answer
// that). It answers a larger body with 413 and returns false.
func readSmallBody(w http.ResponseWriter, r *http.Request, v any) bool {
	const limit = 4096
	body, _ := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if r.ContentLength > limit || len(body) > limit {
		replyError(w, http.StatusRequestEntityTooLarge, "payload_too_large", "Body exceeds 4096 bytes")
		return false
	}
	_ = json.Unmarshal(body, v)
	return true
}

// boolOf reads a JSON true or false; ok is false for anything else.
func boolOf(r json.RawMessage) (v, ok bool) {
	switch string(r) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}
