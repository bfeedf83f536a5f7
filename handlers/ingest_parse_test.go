package handlers

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var ingestNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

const validIngest = `{"v":1,"batch_id":"0b7c2f0e-1111-4222-8333-444455556666",
"context":{"session_id":"1b7c2f0e-1111-4222-8333-444455556666","site_id":"app","device_class":"mobile",
"viewport_width":390,"viewport_height":844,"screen_width":390,"screen_height":844,"language":"en-US"},
"events":[{"event_id":"2b7c2f0e-1111-4222-8333-444455556666","type":"purchase","ts":"2026-05-30T08:00:00.000Z",
"path":"/checkout","referrer":"https://x.example","experiments":[{"experiment_id":"e1","variant_id":"b"}],"data":{"amount":12}}]}`

func TestParseIngest_ValidBatch(t *testing.T) {
	b, err := ParseIngest([]byte(validIngest), ingestNow, 90*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	e := b.Events[0]
	if b.SiteID != "app" || e.Type != "purchase" || !e.At.Equal(time.Date(2026, 5, 30, 8, 0, 0, 0, time.UTC)) ||
		e.Path != "/checkout" || e.ExperimentID != "e1" || e.VariantID != "b" {
		t.Fatalf("%+v %+v", b, e)
	}
	var data map[string]any
	if err := json.Unmarshal([]byte(b.EventData(&e)), &data); err != nil {
		t.Fatal(err)
	}
	ctx, _ := data["session_context"].(map[string]any)
	if data["amount"] != 12.0 || data["path"] != "/checkout" || data["experiment_id"] != "e1" ||
		ctx["viewport"] != "390x844" || ctx["screen"] != "390x844" || ctx["device_class"] != "mobile" || ctx["language"] != "en-US" {
		t.Errorf("data %s", b.EventData(&e))
	}
}

func TestParseIngest_Violations(t *testing.T) {
	cases := map[string]struct{ from, to, msg string }{
		"v":         {`"v":1`, `"v":2`, "v must be the number 1"},
		"batch":     {`"batch_id":"0b7c2f0e-1111-4222-8333-444455556666"`, `"batch_id":"x"`, "batch_id must be a UUID"},
		"session":   {`"session_id":"1b7c2f0e-1111-4222-8333-444455556666"`, `"session_id":7`, "context.session_id must be a UUID"},
		"site":      {`"site_id":"app"`, `"site_id":"a b"`, "context.site_id must match"},
		"events":    {`"events":[{`, `"events":[],"x":[{`, "events must hold 1 to 100 events, got 0"},
		"event id":  {`"event_id":"2b7c2f0e-1111-4222-8333-444455556666"`, `"event_id":"nope"`, "events[0].event_id must be a UUID"},
		"type":      {`"type":"purchase"`, `"type":"9bad"`, "events[0].type must match"},
		"ts string": {`"ts":"2026-05-30T08:00:00.000Z"`, `"ts":5`, "events[0].ts must be a string"},
		"ts future": {`"ts":"2026-05-30T08:00:00.000Z"`, `"ts":"2026-06-02T08:00:00.000Z"`, "not in the future"},
		"ts old":    {`"ts":"2026-05-30T08:00:00.000Z"`, `"ts":"2025-01-30T08:00:00.000Z"`, "within the retention window"},
		"ts shape":  {`"ts":"2026-05-30T08:00:00.000Z"`, `"ts":"yesterday"`, "ISO-8601"},
		"json":      {`{"v":1`, `{"v":1,,`, "not a JSON object"},
	}
	for name, c := range cases {
		body := strings.Replace(validIngest, c.from, c.to, 1)
		if body == validIngest {
			t.Fatalf("%s: replacement did not apply", name)
		}
		_, err := ParseIngest([]byte(body), ingestNow, 90*24*time.Hour)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.msg)
		}
	}
	many := `{"event_id":"2b7c2f0e-1111-4222-8333-444455556666","type":"a","ts":"2026-05-30T08:00:00.000Z"}`
	body := strings.Replace(validIngest, `"events":[`, `"events":[`+strings.Repeat(many+",", 100), 1)
	if _, err := ParseIngest([]byte(body), ingestNow, 90*24*time.Hour); err == nil || !strings.Contains(err.Error(), "got 101") {
		t.Errorf("101 events: %v", err)
	}
}

// FuzzParseIngest: any body gives a batch that keeps every rule, or an
// error; never a panic.
func FuzzParseIngest(f *testing.F) {
	f.Add([]byte(validIngest))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"v":1,"events":null}`))
	f.Add([]byte(strings.Replace(validIngest, `"data":{"amount":12}`, `"data":[1,2]`, 1)))
	f.Add([]byte(strings.Replace(validIngest, `"experiments":[`, `"experiments":"x","y":[`, 1)))
	f.Add([]byte(`[1,2,3]`))
	f.Add([]byte("\x00\xff"))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := ParseIngest(body, ingestNow, 90*24*time.Hour)
		if err != nil {
			return
		}
		if len(b.Events) < 1 || len(b.Events) > 100 || !validSite(b.SiteID) || !uuidPattern.MatchString(b.SessionID) {
			t.Fatalf("accepted an invalid batch: %+v", b)
		}
		for i := range b.Events {
			e := &b.Events[i]
			if !eventTypePattern.MatchString(e.Type) || e.At.After(ingestNow) || e.At.Before(ingestNow.Add(-90*24*time.Hour)) {
				t.Fatalf("accepted an invalid event: %+v", e)
			}
			if !json.Valid([]byte(b.EventData(e))) {
				t.Fatalf("event data is not JSON: %s", b.EventData(e))
			}
		}
	})
}
