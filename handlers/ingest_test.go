package handlers

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

const ingestOK = `{"v":1,"batch_id":"0f8fad5b-d9cb-469f-a165-70867728950e",
	"context":{"session_id":"7c9e6679-7425-40de-944b-e07fc1f90ae7","site_id":"shop"},
	"events":[{"event_id":"1b4e28ba-2fa1-11d2-883f-0016d3cca427","type":"signup","ts":"2026-04-01T08:59:00Z"}]}`

func TestIngest_AcceptsThenCountsDuplicates(t *testing.T) {
	in := &Ingest{Store: openStore(t), Now: fixedClock(listsT0), Window: 24 * time.Hour}
	if got := call(t, in.ServeHTTP, "POST", "/", ingestOK).body; got != `{"accepted":1,"duplicate":0}` {
		t.Fatalf("first batch: %s", got)
	}
	if got := call(t, in.ServeHTTP, "POST", "/", ingestOK).body; got != `{"accepted":0,"duplicate":1}` {
		t.Fatalf("the same batch again: %s", got)
	}
}

func TestIngest_Errors(t *testing.T) {
	in := &Ingest{Store: openStore(t), Now: fixedClock(listsT0), Window: 24 * time.Hour}
	call(t, in.ServeHTTP, "POST", "/", `{"v":2}`).wantError(t, 400, "invalid_payload", "v must be the number 1")
	call(t, in.ServeHTTP, "POST", "/", strings.Replace(ingestOK, "2026-04-01T08:59", "2026-03-01T08:59", 1)).
		wantError(t, 400, "invalid_payload", "events[0].ts must be within the retention window and not in the future")
	call(t, in.ServeHTTP, "POST", "/", `{"v":1,"pad":"`+strings.Repeat("x", MaxIngestBody)+`"}`).
		wantError(t, 413, "payload_too_large", "Body exceeds 1048576 bytes")

	// Without a Content-Length the size is found while reading.
	record(in.ServeHTTP, unsizedPost(`{"pad":"`+strings.Repeat("x", MaxIngestBody)+`"}`)).
		wantError(t, http.StatusRequestEntityTooLarge, "payload_too_large", "Body exceeds 1048576 bytes")

	failing := &Ingest{Store: closedStore(t), Now: fixedClock(listsT0), Window: 24 * time.Hour}
	call(t, failing.ServeHTTP, "POST", "/", ingestOK).wantError(t, 500, "internal", "")
}
