package handlers

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// SettingStore keeps instance settings; storage.Store is the real one.
type SettingStore interface {
	Setting(key string) (value string, updated time.Time, ok bool, err error)
	SetSetting(key, value string, now time.Time) error
}

// Settings serves /api/telemetry and /api/debug (docs/api.md, Settings).
type Settings struct {
	Store SettingStore
	// Telemetry is the `telemetry` option (or ECHELON_TELEMETRY): when set
	// it decides, and the API cannot change it.
	Telemetry *bool
	// DebugLocked is the `debug` option (or ECHELON_DEBUG=true): debug is
	// on and the API cannot turn it off.
	DebugLocked bool
	// Debug is the runtime switch the tracking observer reads.
	Debug *atomic.Bool
	Now   Clock
}

const telemetryKey = "telemetry_optin"

// maxSettingBody bounds the tiny JSON bodies of both endpoints.
const maxSettingBody = 1024

// TelemetryState returns the state ("on", "off" or "undecided") and the configuration override ("on",
// "off", or "" for none).
func (s *Settings) TelemetryState() (state, override string, err error) {
	if s.Telemetry != nil {
		override = onOff(*s.Telemetry)
		return override, override, nil
	}
	v, _, ok, err := s.Store.Setting(telemetryKey)
	switch {
	case err != nil:
		return "", "", err
	case !ok:
		return "undecided", "", nil
	}
	return onOff(v == "true"), "", nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// ServeTelemetry answers GET and POST /api/telemetry.
func (s *Settings) ServeTelemetry(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		if s.Telemetry != nil {
			writeError(w, http.StatusConflict, "locked", "Telemetry is set by the server configuration")
			return
		}
		var body struct {
			OptIn *bool `json:"optin"`
		}
		if !decodeSmallJSON(r, &body) || body.OptIn == nil {
			writeError(w, http.StatusBadRequest, "invalid_body", `Expected {"optin": true|false}`)
			return
		}
		if err := s.Store.SetSetting(telemetryKey, strconv.FormatBool(*body.OptIn), s.Now()); err != nil {
			writeError(w, http.StatusInternalServerError, "internal", "")
			return
		}
	}
	state, override, err := s.TelemetryState()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "")
		return
	}
	if r.Method == http.MethodPost {
		writeJSON(w, http.StatusOK, map[string]string{"telemetry": state})
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Telemetry   string  `json:"telemetry"`
		EnvOverride *string `json:"envOverride"`
	}{state, nullable(override)})
}

// ServeDebug answers GET and POST /api/debug. The switch lives in memory
// only: a restart goes back to the configuration.
func (s *Settings) ServeDebug(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		if s.DebugLocked {
			writeError(w, http.StatusConflict, "locked", "Debug is turned on by the server configuration")
			return
		}
		var body struct {
			Enabled *bool `json:"enabled"`
		}
		if !decodeSmallJSON(r, &body) || body.Enabled == nil {
			writeError(w, http.StatusBadRequest, "invalid_body", `Expected {"enabled": true|false}`)
			return
		}
		s.Debug.Store(*body.Enabled)
		writeJSON(w, http.StatusOK, map[string]bool{"debug": s.debugOn()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"debug": s.debugOn(), "envOverride": s.DebugLocked})
}

func (s *Settings) debugOn() bool { return s.DebugLocked || s.Debug.Load() }

// decodeSmallJSON decodes a JSON object body of at most maxSettingBody
// bytes into v.
func decodeSmallJSON(r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSettingBody+1))
	if err != nil || len(body) > maxSettingBody {
		return false
	}
	return json.Unmarshal(body, v) == nil
}
