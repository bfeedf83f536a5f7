// Package mcpserver serves Echelon's read-only MCP tools (see docs/mcp.md).
//
// Every tool is one GET of the REST API: its arguments become the query (or
// the path segment of a visitor id), and its result is the API's JSON body,
// indented. A non-2xx answer becomes a tool error "API <status>: <body>".
// No tool maps to a write: the table below holds only GET paths, and the
// caller refuses any other method.
package mcpserver

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
)

// Name is the MCP implementation name the servers announce.
const Name = "echelon-analytics"

// param is one tool argument and where it goes in the API request.
type param struct {
	name     string // the tool's argument
	query    string // the API's query parameter; "" puts it in the path
	schema   *jsonschema.Schema
	required bool
}

// tool is one read-only MCP tool: a GET of path with its parameters.
type tool struct {
	name, title, description string
	path                     string
	params                   []param
}

// maxIDLength is where the API cuts a path id (see docs/api.md); longer
// ids are refused by the schema instead of being silently cut.
const maxIDLength = 128

func text(desc string) *jsonschema.Schema {
	return &jsonschema.Schema{Type: "string", Description: desc}
}

func siteID(desc string) *jsonschema.Schema {
	s := text(desc)
	s.MaxLength = ptr(64)
	return s
}

func integer(desc string, lo, hi *float64, def int) *jsonschema.Schema {
	return &jsonschema.Schema{Type: "integer", Description: desc, Minimum: lo, Maximum: hi,
		Default: json.RawMessage(strconv.Itoa(def))}
}

func ptr[T any](v T) *T { return &v }

var (
	siteParam = param{name: "site_id", query: "site_id", required: true,
		schema: siteID("Site id (1-64 characters of A-Z a-z 0-9 . _ -)")}
	overviewDays = param{name: "days", query: "days",
		schema: integer("Days of history, 1-730 (default 30)", ptr(1.0), ptr(730.0), 30)}
	campaignDays = param{name: "days", query: "days",
		schema: integer("Days of history, 1-90 (default 30)", ptr(1.0), ptr(90.0), 30)}
)

// tools is the whole tool set, in the order tools/list shows it.
var tools = []tool{
	{name: "analytics_overview", title: "Site overview",
		description: "Visits, unique visitors, top paths, devices, countries, referrers, OS, browsers, resolutions and the daily trend of one site.",
		path:        "/api/stats/overview", params: []param{siteParam, overviewDays}},
	{name: "analytics_realtime", title: "Realtime",
		description: "Active visitors, pageviews and active paths of one site over the last 5 minutes.",
		path:        "/api/stats/realtime", params: []param{siteParam}},
	{name: "analytics_campaigns", title: "Campaign stats",
		description: "Views and visitors of every registered UTM campaign, or one campaign's breakdown when campaign_id is given.",
		path:        "/api/stats/campaigns", params: []param{campaignDays,
			{name: "campaign_id", query: "id", schema: text("Campaign id: return this campaign's breakdown")}}},
	{name: "analytics_campaign_detail", title: "Campaign detail",
		description: "One campaign's views by source, medium, content, term, path and day.",
		path:        "/api/stats/campaigns", params: []param{
			{name: "campaign_id", query: "id", required: true, schema: text("Campaign id")}, campaignDays}},
	{name: "analytics_experiments", title: "Experiment results",
		description: "Impressions, conversions, uplift and significance per variant of the active and completed experiments, or of one experiment.",
		path:        "/api/stats/experiments", params: []param{
			{name: "experiment_id", query: "experiment_id", schema: text("Experiment id: only this experiment, at any status")}}},
	{name: "analytics_dashboard", title: "Live dashboard",
		description: "Visitors and events per minute (last hour) and per hour (last day), recent visitors and recent events of one site.",
		path:        "/api/stats/dashboard", params: []param{siteParam}},
	{name: "analytics_campaign_events", title: "Campaign events",
		description: "Per UTM campaign of one site: visitors, visitors with events, events, rates and the top event types.",
		path:        "/api/stats/campaign-events", params: []param{siteParam, campaignDays,
			{name: "event_type", query: "event_type", schema: text("Count only events of this type")}}},
	{name: "list_campaigns", title: "Campaigns",
		description: "The newest 200 registered UTM campaigns.",
		path:        "/api/campaigns"},
	{name: "list_experiments", title: "Experiments",
		description: "The newest 200 experiments (without variants).",
		path:        "/api/experiments"},
	{name: "bots_suspicious", title: "Suspicious visitors",
		description: "Visitors whose views scored at least min_score, highest score first, with their sites, devices, countries, OS and browsers.",
		path:        "/api/bots/suspicious", params: []param{
			{name: "site_id", query: "site_id", schema: siteID("Only this site")},
			{name: "min_score", query: "min_score", schema: integer("Lowest bot score to list (default 25)", nil, nil, 25)},
			{name: "limit", query: "limit", schema: integer("Visitors to list, 1-200 (default 50)", ptr(1.0), ptr(200.0), 50)}}},
	{name: "bots_visitor", title: "Visitor history",
		description: "One visitor's exclusion, newest 100 views and newest 100 events.",
		path:        "/api/bots/visitor/", params: []param{
			{name: "visitor_id", required: true, schema: func() *jsonschema.Schema {
				s := text("Visitor id (as listed by bots_suspicious)")
				s.MinLength, s.MaxLength = ptr(1), ptr(maxIDLength)
				return s
			}()}}},
	{name: "analytics_vitals", title: "Server vitals",
		description: "Request counts, latency percentiles, error rate and the slowest paths of this server (not available in public mode).",
		path:        "/api/stats/vitals"},
}

// inputSchema is the tool's JSON Schema: an object of its parameters,
// nothing else allowed.
func (t tool) inputSchema() *jsonschema.Schema {
	s := &jsonschema.Schema{
		Type:                 "object",
		Properties:           map[string]*jsonschema.Schema{},
		AdditionalProperties: &jsonschema.Schema{Not: &jsonschema.Schema{}},
	}
	for _, p := range t.params {
		s.Properties[p.name] = p.schema
		if p.required {
			s.Required = append(s.Required, p.name)
		}
	}
	return s
}

// target turns validated arguments into the API path and query. Strings
// and integers are the only argument types the schemas admit; anything
// else (which validation already refused) is left out. A path id of "."
// or ".." (or an empty one) is refused: it would name another path.
func (t tool) target(args map[string]any) (string, url.Values, error) {
	path, q := t.path, url.Values{}
	for _, p := range t.params {
		v, ok := args[p.name]
		if !ok || v == nil {
			continue
		}
		var s string
		switch v := v.(type) {
		case string:
			s = v
		case float64:
			s = strconv.FormatFloat(v, 'f', -1, 64)
		case json.Number:
			s = v.String()
		default:
			continue
		}
		if p.query == "" {
			if s == "" || s == "." || s == ".." {
				return "", nil, fmt.Errorf("%s: %q is not an id", p.name, s)
			}
			path += url.PathEscape(s)
			continue
		}
		q.Set(p.query, s)
	}
	return path, q, nil
}

// isGETPath reports whether path is one of the tools' API paths; the
// callers refuse any other.
func isGETPath(path string) bool {
	for _, t := range tools {
		if !strings.HasSuffix(t.path, "/") {
			if path == t.path {
				return true
			}
			continue
		}
		// A path-id tool: exactly one escaped segment after its prefix.
		if id, ok := strings.CutPrefix(path, t.path); ok && id != "" && !strings.Contains(id, "/") {
			return true
		}
	}
	return false
}
