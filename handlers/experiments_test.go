package handlers

import (
	"net/http"
	"strings"
	"testing"
)

const abBody = `{"experiment_id":"ab","name":"AB","metric_event_type":"signup","allocation_percent":"50",
	"variants":[{"variant_id":"b","name":"B","weight":1,"config":{"x": 1}},{"variant_id":"a","name":"A","weight":1,"is_control":true}]}`

func TestManage_ExperimentLifecycleShapes(t *testing.T) {
	m := &Manage{Store: openStore(t), Now: fixedClock(listsT0)}
	var created map[string]string
	call(t, m.ServeExperiments, "POST", "/", abBody).wantJSON(t, http.StatusCreated, &created)
	if created["created"] != "ab" {
		t.Fatalf("created %v", created)
	}
	call(t, m.ServeExperiments, "POST", "/", abBody).wantError(t, 409, "conflict", "Experiment creation failed")

	rowKeys := []string{"experiment_id", "name", "description", "metric_event_type", "status",
		"allocation_percent", "created_at", "started_at", "ended_at"}
	l := call(t, m.ServeExperiments, "GET", "/", "").list(t)
	if len(l) != 1 {
		t.Fatalf("list %v", l)
	}
	wantKeys(t, "experiment row", l[0], rowKeys...)
	row := l[0].(map[string]any)
	if row["status"] != "draft" || row["allocation_percent"] != 50.0 || row["description"] != nil ||
		row["created_at"] != "2026-04-01T09:00:00.000Z" || row["started_at"] != nil {
		t.Errorf("row %v", row)
	}

	e := call(t, m.ServeExperiment, "GET", "/", "", "ab").object(t)
	wantKeys(t, "experiment", e, append(rowKeys, "variants")...)
	vs := e["variants"].([]any)
	wantKeys(t, "variant", vs[0], "variant_id", "name", "weight", "is_control", "config")
	if cfg := vs[0].(map[string]any)["config"].(map[string]any); cfg["x"] != 1.0 || vs[1].(map[string]any)["config"] != nil {
		t.Errorf("variants %v", vs)
	}

	var reply map[string]string
	call(t, m.ServeExperiment, "PATCH", "/", `{"status":"active"}`, "ab").wantJSON(t, 200, &reply)
	if reply["updated"] != "ab" {
		t.Errorf("patch %v", reply)
	}
	call(t, m.ServeExperiment, "PATCH", "/", `{"status":"draft"}`, "ab").
		wantError(t, 400, "invalid_transition", "Cannot transition from 'active' to 'draft'")

	stats := call(t, m.ServeExperimentStats, "GET", "/", "").list(t)
	if len(stats) != 1 {
		t.Fatalf("stats %v", stats)
	}
	wantKeys(t, "experiment stats", stats[0], "experiment_id", "name", "status", "metric_event_type", "variants")
	svs := stats[0].(map[string]any)["variants"].([]any)
	wantKeys(t, "variant stats", svs[0], "variant_id", "name", "is_control", "impressions", "conversions",
		"conversion_rate", "relative_uplift", "significance")
	if svs[0].(map[string]any)["variant_id"] != "a" {
		t.Errorf("the control comes first: %v", svs)
	}
	if l := call(t, m.ServeExperimentStats, "GET", "/?experiment_id=nope", "").list(t); len(l) != 0 {
		t.Errorf("unknown experiment_id: %v", l)
	}
}

func TestManage_ExperimentErrors(t *testing.T) {
	m := &Manage{Store: openStore(t), Now: fixedClock(listsT0)}
	for _, tc := range []struct{ body, message string }{
		{`[]`, "Body must be a JSON object"},
		{`{"name":"n","metric_event_type":"m"}`, "Missing required fields"},
		{`{"experiment_id":"a b","name":"n","metric_event_type":"m"}`, "experiment_id must match ^[A-Za-z0-9._-]+$"},
		{`{"experiment_id":"a","name":"n","metric_event_type":"m","variants":{}}`, "variants must be an array"},
		{`{"experiment_id":"a","name":"n","metric_event_type":"m","variants":[1]}`, "Each variant must be an object"},
		{`{"experiment_id":"a","name":"n","metric_event_type":"m","variants":[{"name":"x"}]}`, "Each variant needs a variant_id and a name"},
		{`{"experiment_id":"a","name":"n","metric_event_type":"m","variants":[{"variant_id":"v","name":"x","weight":"1"}]}`, "Variant weight must be a finite positive number"},
	} {
		call(t, m.ServeExperiments, "POST", "/", tc.body).wantError(t, 400, "invalid_payload", tc.message)
	}
	call(t, m.ServeExperiments, "POST", "/", `{"name":"`+strings.Repeat("x", 65<<10)+`"}`).
		wantError(t, 413, "payload_too_large", "Body exceeds 65536 bytes")
	call(t, m.ServeExperiment, "GET", "/", "", "nope").wantError(t, 404, "not_found", "Experiment not found")
	call(t, m.ServeExperiment, "PATCH", "/", `{"status":"active"}`, "nope").wantError(t, 404, "not_found", "Experiment not found")
	call(t, m.ServeExperiment, "PATCH", "/", `{"status":"gone"}`, "nope").
		wantError(t, 400, "invalid_payload", "status must be one of: draft, active, paused, completed, archived")

	failing := &Manage{Store: closedStore(t), Now: fixedClock(listsT0)}
	call(t, failing.ServeExperiments, "GET", "/", "").wantError(t, 500, "internal", "")
	call(t, failing.ServeExperiments, "POST", "/", abBody).wantError(t, 500, "internal", "")
	call(t, failing.ServeExperiment, "GET", "/", "", "ab").wantError(t, 500, "internal", "")
	call(t, failing.ServeExperimentStats, "GET", "/", "").wantError(t, 500, "internal", "")
}

func TestManage_SiteConsentCSS(t *testing.T) {
	m := &Manage{Store: openStore(t), Now: fixedClock(listsT0)}
	if s := call(t, m.ServeSite, "GET", "/", "", "shop").body; s != `{"site_id":"shop","consent_css":null}` {
		t.Errorf("unset site: %s", s)
	}
	var reply map[string]string
	call(t, m.ServeSite, "PATCH", "/", `{"consent_css":".a{color:red}"}`, "shop").wantJSON(t, 200, &reply)
	if reply["updated"] != "shop" {
		t.Errorf("patch %v", reply)
	}
	if s := call(t, m.ServeSite, "GET", "/", "", "shop").object(t); s["consent_css"] == nil {
		t.Errorf("stored CSS missing: %v", s)
	}
	call(t, m.ServeSite, "PATCH", "/", `{"consent_css":5}`, "shop").wantJSON(t, 200, &reply)
	if s := call(t, m.ServeSite, "GET", "/", "", "shop").body; s != `{"site_id":"shop","consent_css":null}` {
		t.Errorf("a non-string clears: %s", s)
	}
	call(t, m.ServeSite, "GET", "/", "", "a b").wantError(t, 400, "invalid_site_id", invalidSiteMessage)
	call(t, m.ServeSite, "PATCH", "/", `"x"`, "shop").wantError(t, 400, "invalid_payload", "Body must be a JSON object")

	failing := &Manage{Store: closedStore(t), Now: fixedClock(listsT0)}
	call(t, failing.ServeSite, "GET", "/", "", "shop").wantError(t, 500, "internal", "")
	call(t, failing.ServeSite, "PATCH", "/", `{}`, "shop").wantError(t, 500, "internal", "")
}
