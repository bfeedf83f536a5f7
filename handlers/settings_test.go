package handlers

import (
	"sync/atomic"
	"testing"
)

func TestSettings_TelemetryUndecidedThenChosen(t *testing.T) {
	s := &Settings{Store: openStore(t), Debug: new(atomic.Bool), Now: fixedClock(listsT0)}
	if got := call(t, s.ServeTelemetry, "GET", "/", "").body; got != `{"telemetry":"undecided","envOverride":null}` {
		t.Fatalf("fresh: %s", got)
	}
	if got := call(t, s.ServeTelemetry, "POST", "/", `{"optin":true}`).body; got != `{"telemetry":"on"}` {
		t.Fatalf("opt in: %s", got)
	}
	if got := call(t, s.ServeTelemetry, "GET", "/", "").body; got != `{"telemetry":"on","envOverride":null}` {
		t.Fatalf("after opt in: %s", got)
	}
	for _, body := range []string{``, `{}`, `{"optin":"yes"}`, `[true]`} {
		call(t, s.ServeTelemetry, "POST", "/", body).wantError(t, 400, "invalid_body", `Expected {"optin": true|false}`)
	}
	off := false
	s.Telemetry = &off
	if got := call(t, s.ServeTelemetry, "GET", "/", "").body; got != `{"telemetry":"off","envOverride":"off"}` {
		t.Fatalf("configured: %s", got)
	}
	call(t, s.ServeTelemetry, "POST", "/", `{"optin":true}`).
		wantError(t, 409, "locked", "Telemetry is set by the server configuration")

	failing := &Settings{Store: closedStore(t), Debug: new(atomic.Bool), Now: fixedClock(listsT0)}
	call(t, failing.ServeTelemetry, "GET", "/", "").wantError(t, 500, "internal", "")
	call(t, failing.ServeTelemetry, "POST", "/", `{"optin":false}`).wantError(t, 500, "internal", "")
}

func TestSettings_DebugSwitchAndLock(t *testing.T) {
	s := &Settings{Store: openStore(t), Debug: new(atomic.Bool), Now: fixedClock(listsT0)}
	if got := call(t, s.ServeDebug, "GET", "/", "").body; got != `{"debug":false,"envOverride":false}` {
		t.Fatalf("fresh: %s", got)
	}
	if got := call(t, s.ServeDebug, "POST", "/", `{"enabled":true}`).body; got != `{"debug":true}` || !s.Debug.Load() {
		t.Fatalf("turn on: %s", got)
	}
	call(t, s.ServeDebug, "POST", "/", `{"enabled":1}`).wantError(t, 400, "invalid_body", `Expected {"enabled": true|false}`)
	s.DebugLocked = true
	call(t, s.ServeDebug, "POST", "/", `{"enabled":false}`).
		wantError(t, 409, "locked", "Debug is turned on by the server configuration")
	if got := call(t, s.ServeDebug, "GET", "/", "").body; got != `{"debug":true,"envOverride":true}` {
		t.Fatalf("locked: %s", got)
	}
}
