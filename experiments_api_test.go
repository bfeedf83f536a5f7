package echelon

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const manageSecret = "s3cret-for-tests"

// api sends an /api request with the bearer token (none when token is "").
func callManage(t *testing.T, method, path, token, body string) (int, http.Header, string) {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		h.Set("Content-Type", "application/json")
	}
	return do(t, method, baseURL+path, strings.NewReader(body), h)
}

// wantBodyJSON checks that body is exactly the JSON want (same keys, values
// and types, any spacing).
func wantBodyJSON(t *testing.T, what, body, want string) {
	t.Helper()
	var got, exp any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Errorf("%s: body %q is not JSON: %v", what, body, err)
		return
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("%s: bad expectation %q: %v", what, want, err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("%s:\n got %s\nwant %s", what, body, want)
	}
}

func wantReply(t *testing.T, what string, status, want int, body, wantBody string) {
	t.Helper()
	if status != want {
		t.Errorf("%s: status %d, want %d (body %s)", what, status, want, body)
		return
	}
	if wantBody != "" {
		wantBodyJSON(t, what, body, wantBody)
	}
}

const checkoutExperiment = `{"experiment_id":"checkout","name":"Checkout button","metric_event_type":"signup",
	"allocation_percent":250,"variants":[
	{"variant_id":"green","name":"Green","weight":3,"config":{"color":"green"}},
	{"variant_id":"control","name":"Blue","weight":1,"is_control":true}]}`

func TestExperimentsAPI_CreateListTransitionAndResults(t *testing.T) {
	_, dir := startCaddy(t, "secret "+manageSecret+"\n\t\trate_limit_max 0")
	before := time.Now().UTC().Truncate(time.Millisecond)

	s, _, b := callManage(t, "POST", "/_echelon/api/experiments", manageSecret, checkoutExperiment)
	wantReply(t, "create", s, 201, b, `{"created":"checkout"}`)
	s, _, b = callManage(t, "POST", "/_echelon/api/experiments", manageSecret,
		`{"experiment_id":"form","name":"Form","description":"","metric_event_type":"form_submit","allocation_percent":"0","variants":[]}`)
	wantReply(t, "create without variants", s, 201, b, `{"created":"form"}`)

	s, h, b := callManage(t, "GET", "/_echelon/api/experiments", manageSecret, "")
	if s != 200 || h.Get("Content-Type") != "application/json" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("list: %d %v %s", s, h, b)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(b), &rows); err != nil || len(rows) != 2 {
		t.Fatalf("list body %s: %v", b, err)
	}
	created, err := time.Parse("2006-01-02T15:04:05.000Z", rows[1]["created_at"].(string))
	if err != nil || created.Before(before) || created.After(time.Now()) {
		t.Errorf("created_at %v: %v", rows[1]["created_at"], err)
	}
	wantBodyJSON(t, "list (newest first, no variants)", b, fmt.Sprintf(`[
		{"experiment_id":"form","name":"Form","description":null,"metric_event_type":"form_submit","status":"draft",
		 "allocation_percent":100,"created_at":%q,"started_at":null,"ended_at":null},
		{"experiment_id":"checkout","name":"Checkout button","description":null,"metric_event_type":"signup","status":"draft",
		 "allocation_percent":100,"created_at":%q,"started_at":null,"ended_at":null}]`, rows[0]["created_at"], rows[1]["created_at"]))

	// One experiment with its variants, weights and config in creation order.
	s, _, b = callManage(t, "GET", "/_echelon/api/experiments/checkout", manageSecret, "")
	wantReply(t, "one experiment", s, 200, b, fmt.Sprintf(`{"experiment_id":"checkout","name":"Checkout button","description":null,
		"metric_event_type":"signup","status":"draft","allocation_percent":100,"created_at":%q,"started_at":null,"ended_at":null,
		"variants":[{"variant_id":"green","name":"Green","weight":3,"is_control":false,"config":{"color":"green"}},
		{"variant_id":"control","name":"Blue","weight":1,"is_control":true,"config":null}]}`, rows[1]["created_at"]))
	s, _, b = callManage(t, "GET", "/_echelon/api/experiments/nope", manageSecret, "")
	wantReply(t, "unknown experiment", s, 404, b, `{"error":"not_found","message":"Experiment not found"}`)

	// Drafts are not in the results; experiment_id shows any status.
	s, _, b = callManage(t, "GET", "/_echelon/api/stats/experiments", manageSecret, "")
	wantReply(t, "results of drafts", s, 200, b, `[]`)

	for _, id := range []string{"checkout", "form"} {
		s, _, b = callManage(t, "PATCH", "/_echelon/api/experiments/"+id, manageSecret, `{"status":"active"}`)
		wantReply(t, "activate "+id, s, 200, b, `{"updated":"`+id+`"}`)
	}

	// Traffic: 150 sessions see each variant of checkout; 15 of the
	// control's and 45 of green's send the metric, as a custom event
	// named signup, in an untagged event of the same session. 10 sessions
	// submit a form without any exposure: not counted anywhere. Each of
	// these sessions first sends a pageview with a valid proof of work and
	// its events carry that token. Not counted either: 20 sessions whose
	// events carry another session's valid token, and 20 whose events
	// carry no token (both scored as bots).
	session := func(i int) string { return fmt.Sprintf("%08x-aaaa-4bbb-8ccc-%012x", i, i) }
	now := time.Now()
	send := func(sid, tok string, events []string) {
		t.Helper()
		body := fmt.Sprintf(`{"siteId":"shop","tok":%q,"events":[%s]}`, tok, strings.Join(events, ","))
		if s, _, b := do(t, "POST", baseURL+"/e", strings.NewReader(body), nil); s != 204 {
			t.Fatalf("POST e: %d %s", s, b)
		}
	}
	pageview := func(sid string) string {
		t.Helper()
		tok := mint(t, dir, sid, "shop", now)
		if s, _, _ := do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "shop", map[string]string{"sid": sid, "tok": tok}), nil, nil); s != 200 {
			t.Fatalf("b.gif: %d", s)
		}
		return tok
	}
	exposure := func(sid, v, path string) string {
		return fmt.Sprintf(`{"type":"experiment_exposure","sessionId":%q,"data":{"experiment_id":"checkout","variant_id":%q,"path":%q}}`, sid, v, path)
	}
	for i := range 300 {
		v, converts := "control", i%10 == 0
		if i >= 150 {
			v, converts = "green", i%10 < 3
		}
		sid := session(i)
		events := []string{exposure(sid, v, "/")}
		if i%7 == 0 { // a second exposure of the same session counts once
			events = append(events, exposure(sid, v, "/p"))
		}
		if converts {
			events = append(events, fmt.Sprintf(`{"type":"custom","sessionId":%q,"data":{"name":"signup","path":"/done"}}`, sid))
		}
		send(sid, pageview(sid), events)
	}
	for i := 1000; i < 1010; i++ {
		sid := session(i)
		send(sid, pageview(sid), []string{fmt.Sprintf(`{"type":"custom","sessionId":%q,"data":{"name":"signup"}}`, sid)})
	}
	for i := 2000; i < 2040; i++ {
		sid, tok := session(i), ""
		if i < 2020 {
			tok = mint(t, dir, session(i+100), "shop", now) // valid, for another session
		}
		send(sid, tok, []string{exposure(sid, "control", "/"), fmt.Sprintf(`{"type":"custom","sessionId":%q,"data":{"name":"signup"}}`, sid)})
	}
	if err := sharedOf(t, dir).writer.Flush(); err != nil {
		t.Fatal(err)
	}

	s, _, b = callManage(t, "GET", "/_echelon/api/stats/experiments?experiment_id=checkout", manageSecret, "")
	c1, c2, n := 15.0, 45.0, 150.0 // float64 at run time, as the server computes
	uplift := (c2/n - c1/n) / (c1 / n)
	wantReply(t, "results", s, 200, b, fmt.Sprintf(`[{"experiment_id":"checkout","name":"Checkout button","status":"active","metric_event_type":"signup","variants":[
		{"variant_id":"control","name":"Blue","is_control":true,"impressions":150,"conversions":15,"conversion_rate":0.1,"relative_uplift":null,"significance":"Not enough data"},
		{"variant_id":"green","name":"Green","is_control":false,"impressions":150,"conversions":45,"conversion_rate":0.3,"relative_uplift":%v,"significance":"Statistically significant at 99%%"}]}]`, uplift))
	var res []struct {
		Variants []struct {
			Uplift *float64 `json:"relative_uplift"`
		}
	}
	if json.Unmarshal([]byte(b), &res) == nil && len(res) == 1 && res[0].Variants[1].Uplift != nil {
		if u := *res[0].Variants[1].Uplift; math.Abs(u-2) > 1e-9 {
			t.Errorf("uplift %v, want 2 (a rate of 0.3 against 0.1)", u)
		}
	}

	// Without experiment_id: active and completed ones, newest first.
	s, _, b = callManage(t, "GET", "/_echelon/api/stats/experiments", manageSecret, "")
	var all []map[string]any
	if json.Unmarshal([]byte(b), &all); s != 200 || len(all) != 2 || all[0]["experiment_id"] != "form" || all[1]["experiment_id"] != "checkout" {
		t.Errorf("all results: %d %s", s, b)
	}
	s, _, b = callManage(t, "GET", "/_echelon/api/stats/experiments?experiment_id=nope", manageSecret, "")
	wantReply(t, "results of an unknown experiment", s, 200, b, `[]`)

	// Transitions: paused→archived is allowed, archived is final.
	for _, step := range []struct {
		to     string
		status int
		body   string
	}{
		{"paused", 200, `{"updated":"checkout"}`},
		{"completed", 400, `{"error":"invalid_transition","message":"Cannot transition from 'paused' to 'completed'"}`},
		{"archived", 200, `{"updated":"checkout"}`},
		{"active", 400, `{"error":"invalid_transition","message":"Cannot transition from 'archived' to 'active'"}`},
		{"finished", 400, `{"error":"invalid_payload","message":"status must be one of: draft, active, paused, completed, archived"}`},
	} {
		s, _, b = callManage(t, "PATCH", "/_echelon/api/experiments/checkout", manageSecret, `{"status":"`+step.to+`"}`)
		wantReply(t, "checkout →"+step.to, s, step.status, b, step.body)
	}
	s, _, b = callManage(t, "GET", "/_echelon/api/experiments", manageSecret, "")
	if json.Unmarshal([]byte(b), &rows); len(rows) != 2 || rows[1]["status"] != "archived" || rows[1]["started_at"] == nil || rows[1]["ended_at"] == nil {
		t.Errorf("after archiving: %s", b)
	}
	s, _, b = callManage(t, "GET", "/_echelon/api/stats/experiments", manageSecret, "")
	if json.Unmarshal([]byte(b), &all); len(all) != 1 || all[0]["experiment_id"] != "form" {
		t.Errorf("an archived experiment is listed in the results: %s", b)
	}
}

func TestExperimentsAPI_Errors(t *testing.T) {
	startCaddy(t, "secret "+manageSecret)
	cases := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"bad JSON", "POST", "/_echelon/api/experiments", `{"experiment_id":`, 400, `{"error":"invalid_payload","message":"Body must be a JSON object"}`},
		{"not an object", "POST", "/_echelon/api/experiments", `[1]`, 400, `{"error":"invalid_payload","message":"Body must be a JSON object"}`},
		{"no metric", "POST", "/_echelon/api/experiments", `{"experiment_id":"x","name":"X"}`, 400, `{"error":"invalid_payload","message":"Missing required fields"}`},
		{"bad id", "POST", "/_echelon/api/experiments", `{"experiment_id":"a b","name":"X","metric_event_type":"m"}`, 400,
			`{"error":"invalid_payload","message":"experiment_id must match ^[A-Za-z0-9._-]+$"}`},
		{"zero weight", "POST", "/_echelon/api/experiments", `{"experiment_id":"x","name":"X","metric_event_type":"m","variants":[{"variant_id":"a","name":"A","weight":0}]}`, 400,
			`{"error":"invalid_payload","message":"Variant weight must be a finite positive number"}`},
		{"string weight", "POST", "/_echelon/api/experiments", `{"experiment_id":"x","name":"X","metric_event_type":"m","variants":[{"variant_id":"a","name":"A","weight":"2"}]}`, 400,
			`{"error":"invalid_payload","message":"Variant weight must be a finite positive number"}`},
		{"variants not a list", "POST", "/_echelon/api/experiments", `{"experiment_id":"x","name":"X","metric_event_type":"m","variants":{}}`, 400,
			`{"error":"invalid_payload","message":"variants must be an array"}`},
		{"create", "POST", "/_echelon/api/experiments", `{"experiment_id":"dup","name":"D","metric_event_type":"m"}`, 201, `{"created":"dup"}`},
		{"duplicate", "POST", "/_echelon/api/experiments", `{"experiment_id":"dup","name":"D","metric_event_type":"m"}`, 409, `{"error":"conflict","message":"Experiment creation failed"}`},
		{"duplicate variant", "POST", "/_echelon/api/experiments", `{"experiment_id":"dv","name":"D","metric_event_type":"m","variants":[{"variant_id":"a","name":"A","weight":1},{"variant_id":"a","name":"B","weight":1}]}`, 409,
			`{"error":"conflict","message":"Experiment creation failed"}`},
		{"patch unknown", "PATCH", "/_echelon/api/experiments/nope", `{"status":"active"}`, 404, `{"error":"not_found","message":"Experiment not found"}`},
		{"patch bad JSON", "PATCH", "/_echelon/api/experiments/dup", `status=active`, 400, `{"error":"invalid_payload","message":"Body must be a JSON object"}`},
		{"patch same status", "PATCH", "/_echelon/api/experiments/dup", `{"status":"draft"}`, 400, `{"error":"invalid_transition","message":"Cannot transition from 'draft' to 'draft'"}`},
		{"patch encoded id", "PATCH", "/_echelon/api/experiments/d%75p", `{"status":"active"}`, 200, `{"updated":"dup"}`},
		{"too large", "POST", "/_echelon/api/experiments", `{"name":"` + strings.Repeat("x", 70000) + `"}`, 413, ""},
	}
	for _, c := range cases {
		s, _, b := callManage(t, c.method, c.path, manageSecret, c.body)
		wantReply(t, c.name, s, c.status, b, c.want)
	}
	s, h, _ := callManage(t, "DELETE", "/_echelon/api/experiments/dup", manageSecret, "")
	if s != 405 || h.Get("Allow") != "GET, HEAD, PATCH, OPTIONS" {
		t.Errorf("DELETE: %d, Allow %q; want 405 with GET, HEAD, PATCH, OPTIONS", s, h.Get("Allow"))
	}
	if s, _, _ := callManage(t, "PATCH", "/_echelon/api/experiments", manageSecret, `{}`); s != 405 {
		t.Errorf("PATCH without an id: %d, want 405", s)
	}
}

func TestManagementAPI_AuthAndPublicMode(t *testing.T) {
	writes := []struct{ method, path, body string }{
		{"POST", "/_echelon/api/experiments", `{"experiment_id":"x","name":"X","metric_event_type":"m"}`},
		{"PATCH", "/_echelon/api/experiments/x", `{"status":"active"}`},
		{"PATCH", "/_echelon/api/sites/shop", `{"consent_css":"div{}"}`},
		{"POST", "/_echelon/api/perf", `[{"category":"a","metric":"b","value":1,"unit":"u"}]`},
		{"POST", "/_echelon/api/debug", `{"enabled":true}`},
	}
	reads := []string{"/_echelon/api/experiments", "/_echelon/api/stats/experiments", "/_echelon/api/sites/shop", "/_echelon/api/perf", "/_echelon/api/perf/trends", "/_echelon/api/telemetry", "/_echelon/api/debug"}

	t.Run("secret", func(t *testing.T) {
		startCaddy(t, "secret "+manageSecret)
		for _, tok := range []string{"", "wrong"} {
			for _, p := range reads {
				s, _, b := callManage(t, "GET", p, tok, "")
				wantReply(t, "GET "+p+" with token "+tok, s, 401, b, `{"error":"unauthorized"}`)
			}
			s, _, b := callManage(t, "GET", "/_echelon/api/stats/vitals", tok, "")
			wantReply(t, "GET vitals with token "+tok, s, 401, b, `{"error":"unauthorized"}`)
			s, _, b = callManage(t, "POST", "/_echelon/api/telemetry", tok, `{"optin":true}`)
			wantReply(t, "POST telemetry with token "+tok, s, 401, b, `{"error":"unauthorized"}`)
			for _, w := range writes {
				s, _, b := callManage(t, w.method, w.path, tok, w.body)
				wantReply(t, w.method+" "+w.path+" with token "+tok, s, 401, b, `{"error":"unauthorized"}`)
			}
		}
		if s, _, b := callManage(t, "GET", "/_echelon/api/experiments", manageSecret, ""); s != 200 || b != "[]" {
			t.Errorf("with the secret: %d %s, want 200 []", s, b)
		}
	})
	t.Run("unconfigured", func(t *testing.T) {
		startCaddy(t, "")
		s, _, b := callManage(t, "GET", "/_echelon/api/experiments", "", "")
		wantReply(t, "no auth configured", s, 401, b, `{"error":"unauthorized","message":"Auth must be configured"}`)
	})
	t.Run("public", func(t *testing.T) {
		startCaddy(t, "secret "+manageSecret+"\n\t\tpublic_mode")
		for _, p := range reads {
			if s, _, b := callManage(t, "GET", p, "", ""); s != 200 {
				t.Errorf("public GET %s: %d %s", p, s, b)
			}
		}
		for _, w := range writes {
			s, _, b := callManage(t, w.method, w.path, "", w.body)
			wantReply(t, "public "+w.method+" "+w.path, s, 403, b, `{"error":"read_only","message":"This is a public read-only instance. Data cannot be modified. To run your own instance, see https://ea.js.org/installation.html"}`)
		}
		// Public mode refuses writes even with the secret.
		s, _, _ := callManage(t, "POST", "/_echelon/api/experiments", manageSecret, writes[0].body)
		if s != 403 {
			t.Errorf("public POST with the secret: %d, want 403", s)
		}
	})
}

func TestSitesAPI_ConsentCSS(t *testing.T) {
	startCaddy(t, "secret "+manageSecret)
	s, _, b := callManage(t, "GET", "/_echelon/api/sites/shop", manageSecret, "")
	wantReply(t, "new site", s, 200, b, `{"site_id":"shop","consent_css":null}`)
	s, _, b = callManage(t, "PATCH", "/_echelon/api/sites/shop", manageSecret, `{"consent_css":".b{color:red;background:url(https://evil.example/x.png)} @import 'y.css'; .c{width:expression(alert(1))}"}`)
	wantReply(t, "patch", s, 200, b, `{"updated":"shop"}`)
	s, _, b = callManage(t, "GET", "/_echelon/api/sites/shop", manageSecret, "")
	wantReply(t, "sanitized", s, 200, b, `{"site_id":"shop","consent_css":".b{color:red;background:/* blocked */https://evil.example/x.png)} /* blocked */ 'y.css'; .c{width:/* blocked */alert(1))}"}`)
	for _, body := range []string{`{"consent_css":""}`, `{"consent_css":42}`, `{}`} {
		callManage(t, "PATCH", "/_echelon/api/sites/shop", manageSecret, `{"consent_css":"x{}"}`)
		s, _, b = callManage(t, "PATCH", "/_echelon/api/sites/shop", manageSecret, body)
		wantReply(t, "clear with "+body, s, 200, b, `{"updated":"shop"}`)
		_, _, b = callManage(t, "GET", "/_echelon/api/sites/shop", manageSecret, "")
		wantBodyJSON(t, "after "+body, b, `{"site_id":"shop","consent_css":null}`)
	}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/_echelon/api/sites/bad%20site", ""},
		{"PATCH", "/_echelon/api/sites/" + strings.Repeat("a", 65), `{"consent_css":"x"}`},
	} {
		s, _, b = callManage(t, c.method, c.path, manageSecret, c.body)
		wantReply(t, c.method+" invalid site", s, 400, b, `{"error":"invalid_site_id","message":"site id must match ^[A-Za-z0-9._-]{1,64}$"}`)
	}
	s, _, b = callManage(t, "PATCH", "/_echelon/api/sites/shop", manageSecret, `"css"`)
	wantReply(t, "bad body", s, 400, b, `{"error":"invalid_payload","message":"Body must be a JSON object"}`)
}

// The MCP tools that read experiments print what these
// endpoints return; every field a tool documents must be there.
func TestMCPGoldenShapes_Experiments(t *testing.T) {
	startCaddy(t, "secret "+manageSecret)
	callManage(t, "POST", "/_echelon/api/experiments", manageSecret, checkoutExperiment)
	callManage(t, "PATCH", "/_echelon/api/experiments/checkout", manageSecret, `{"status":"active"}`)
	golden := []struct {
		tool, path    string
		item, variant []string
	}{
		{"list_experiments", "/_echelon/api/experiments",
			[]string{"allocation_percent", "created_at", "description", "ended_at", "experiment_id", "metric_event_type", "name", "started_at", "status"}, nil},
		{"analytics_experiments", "/_echelon/api/stats/experiments",
			[]string{"experiment_id", "metric_event_type", "name", "status", "variants"},
			[]string{"conversion_rate", "conversions", "impressions", "is_control", "name", "relative_uplift", "significance", "variant_id"}},
		{"analytics_experiments experiment_id", "/_echelon/api/stats/experiments?experiment_id=checkout",
			[]string{"experiment_id", "metric_event_type", "name", "status", "variants"},
			[]string{"conversion_rate", "conversions", "impressions", "is_control", "name", "relative_uplift", "significance", "variant_id"}},
	}
	for _, g := range golden {
		s, _, b := callManage(t, "GET", g.path, manageSecret, "")
		var items []map[string]json.RawMessage
		if err := json.Unmarshal([]byte(b), &items); s != 200 || err != nil || len(items) != 1 {
			t.Fatalf("%s: %d %s %v", g.tool, s, b, err)
		}
		if got := fieldNames(items[0]); !slices.Equal(got, g.item) {
			t.Errorf("%s item fields %v, want %v", g.tool, got, g.item)
		}
		if g.variant == nil {
			continue
		}
		var vs []map[string]json.RawMessage
		if err := json.Unmarshal(items[0]["variants"], &vs); err != nil || len(vs) != 2 {
			t.Fatalf("%s variants: %s %v", g.tool, items[0]["variants"], err)
		}
		for _, v := range vs {
			if got := fieldNames(v); !slices.Equal(got, g.variant) {
				t.Errorf("%s variant fields %v, want %v", g.tool, got, g.variant)
			}
		}
	}
}

func fieldNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
