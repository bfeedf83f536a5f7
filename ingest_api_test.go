package echelon

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func ingestBody(ts time.Time, ids ...string) string {
	var evs []string
	for _, id := range ids {
		evs = append(evs, fmt.Sprintf(`{"event_id":%q,"type":"purchase","ts":%q,"path":"/checkout","data":{"amount":3}}`,
			id, ts.UTC().Format("2006-01-02T15:04:05.000Z")))
	}
	return `{"v":1,"batch_id":"0b7c2f0e-1111-4222-8333-444455556666","context":{"session_id":"1b7c2f0e-1111-4222-8333-444455556666",` +
		`"site_id":"app","device_class":"desktop","viewport_width":1200,"viewport_height":800},"events":[` + strings.Join(evs, ",") + `]}`
}

func TestIngestAPI_HonoursTSAndDedupes(t *testing.T) {
	_, dir := startCaddy(t, "secret "+testSecret)
	ts := time.Now().Add(-48 * time.Hour).Truncate(time.Millisecond)
	a, b := "2b7c2f0e-1111-4222-8333-444455556666", "3b7c2f0e-1111-4222-8333-444455556666"
	if status, _, raw := apiCall(t, "POST", "/_echelon/api/ingest", ingestBody(ts, a, b, a), testSecret); status != 200 || raw != `{"accepted":2,"duplicate":1}` {
		t.Fatalf("first batch: %d %s", status, raw)
	}
	if status, _, raw := apiCall(t, "POST", "/_echelon/api/ingest", ingestBody(ts, b, "4b7c2f0e-1111-4222-8333-444455556666"), testSecret); status != 200 || raw != `{"accepted":1,"duplicate":1}` {
		t.Fatalf("repeat: %d %s", status, raw)
	}
	events := storedEvents(t, dir, "app")
	if len(events) != 3 {
		t.Fatalf("stored %d events, want 3", len(events))
	}
	e := events[0]
	var data map[string]any
	if err := json.Unmarshal([]byte(e.Data), &data); err != nil {
		t.Fatal(err)
	}
	if !e.CreatedAt.Equal(ts) || e.BotScore != -1 || e.BotScoreDetail != `{"source":"api_ingest"}` || e.VisitorID != "" ||
		e.DeviceType != "desktop" || e.SessionID != "1b7c2f0e-1111-4222-8333-444455556666" || e.Hour != ts.UTC().Hour() ||
		data["path"] != "/checkout" || data["amount"] != 3.0 || data["session_context"].(map[string]any)["viewport"] != "1200x800" {
		t.Errorf("stored %+v data %v", e, data)
	}
}

func TestIngestAPI_Errors(t *testing.T) {
	startCaddy(t, "secret "+testSecret)
	ok := ingestBody(time.Now(), "2b7c2f0e-1111-4222-8333-444455556666")
	for _, tok := range []string{"", "wrong"} {
		if status, _, raw := apiCall(t, "POST", "/_echelon/api/ingest", ok, tok); status != 401 || raw != `{"error":"unauthorized"}` {
			t.Errorf("token %q: %d %s", tok, status, raw)
		}
	}
	status, v, _ := apiCall(t, "POST", "/_echelon/api/ingest", strings.Replace(ok, `"v":1`, `"v":"1"`, 1), testSecret)
	if status != 400 || v.(map[string]any)["error"] != "invalid_payload" || v.(map[string]any)["message"] != "v must be the number 1" {
		t.Errorf("bad v: %d %v", status, v)
	}
	status, _, raw := apiCall(t, "POST", "/_echelon/api/ingest", strings.Replace(ok, `"data"`, `"pad":"`+strings.Repeat("x", 1<<20)+`","data"`, 1), testSecret)
	if status != 413 || raw != `{"error":"payload_too_large","message":"Body exceeds 1048576 bytes"}` {
		t.Errorf("1 MiB body: %d %.80s", status, raw)
	}
	if status, _, _ := apiCall(t, "GET", "/_echelon/api/ingest", "", testSecret); status != 405 {
		t.Errorf("GET: %d, want 405", status)
	}
}

func TestIngestAPI_PublicModeRefuses(t *testing.T) {
	startCaddy(t, "public_mode\n\t\tsecret "+testSecret)
	status, v, _ := apiCall(t, "POST", "/_echelon/api/ingest", ingestBody(time.Now(), "2b7c2f0e-1111-4222-8333-444455556666"), testSecret)
	if status != 403 || v.(map[string]any)["error"] != "read_only" {
		t.Errorf("%d %v", status, v)
	}
}
