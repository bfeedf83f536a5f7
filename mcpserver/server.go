package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// API answers one GET of the REST API. path is the API path after
// admin_path ("/api/stats/overview"); header holds the HTTP headers of the
// MCP request that asked (nil over stdio), whose credentials an in-process
// API call reuses.
type API interface {
	Get(ctx context.Context, path string, q url.Values, header http.Header) (status int, body []byte, err error)
}

// busyRetries are the waits before retrying a read the API refused with
// 429 because all its read slots were taken.
var busyRetries = []time.Duration{20 * time.Millisecond, 60 * time.Millisecond, 150 * time.Millisecond}

// instructions tell an agent what the server is for.
const instructions = `Read-only access to Echelon analytics: site overviews, realtime and live
dashboards, UTM campaigns, experiments, suspicious (bot) visitors, one
visitor's history and server vitals. Every tool returns the REST API's JSON
for the same query. Statistics count only clean traffic (bot score 0-49),
and new rows appear after the write buffers flush (seconds).`

// New builds the MCP server with every tool answering through api.
func New(api API) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: Name, Title: "Echelon Analytics", Version: version()},
		&mcp.ServerOptions{Instructions: instructions})
	for _, t := range tools {
		mcp.AddTool(s, &mcp.Tool{
			Name:        t.name,
			Title:       t.title,
			Description: t.description,
			InputSchema: t.inputSchema(),
			Annotations: &mcp.ToolAnnotations{
				Title:           t.title,
				ReadOnlyHint:    true,
				IdempotentHint:  true,
				DestructiveHint: ptr(false),
				OpenWorldHint:   ptr(false),
			},
		}, handler(api, t))
	}
	return s
}

// handler runs one tool: a GET of the API, its JSON indented as the
// result, any non-2xx answer a tool error "API <status>: <body>".
func handler(api API, t tool) mcp.ToolHandlerFor[map[string]any, any] {
	return func(ctx context.Context, req *mcp.CallToolRequest, args map[string]any) (*mcp.CallToolResult, any, error) {
		path, q, err := t.target(args)
		if err != nil {
			return nil, nil, err
		}
		var header http.Header
		if req != nil && req.Extra != nil {
			header = req.Extra.Header
		}
		status, body, err := get(ctx, api, path, q, header)
		if err != nil {
			return nil, nil, fmt.Errorf("API request: %w", err)
		}
		if status < 200 || status > 299 {
			return nil, nil, fmt.Errorf("API %d: %s", status, body)
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: indent(body)}}}, nil, nil
	}
}

// get is api.Get, retried briefly while the API answers 429.
func get(ctx context.Context, api API, path string, q url.Values, header http.Header) (int, []byte, error) {
	for _, wait := range busyRetries {
		status, body, err := api.Get(ctx, path, q, header)
		if err != nil || status != http.StatusTooManyRequests {
			return status, body, err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return status, body, err
		}
	}
	return api.Get(ctx, path, q, header)
}

// indent pretty-prints a JSON body, keeping its key order and numbers as
// the API wrote them; a body that is not JSON is returned as it is.
func indent(body []byte) string {
	var b bytes.Buffer
	if err := json.Indent(&b, bytes.TrimSpace(body), "", "  "); err != nil {
		return string(body)
	}
	return b.String()
}

// version is the module's version from the build, "devel" in a checkout.
func version() string {
	const module = "github.com/echelon-analytics/caddy-echelon"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if bi.Main.Path == module && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == module {
			return d.Version
		}
	}
	return "devel"
}
