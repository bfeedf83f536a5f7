package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// maxBody bounds an API answer the stdio server reads.
const maxBody = 32 << 20

// Remote reaches the REST API of a running Echelon over HTTP, as the stdio
// server does.
type Remote struct {
	// Base is the dashboard's base URL, admin_path included
	// (https://analytics.example.com/_echelon), without a trailing slash.
	Base string
	// Secret is sent as "Authorization: Bearer <secret>" when not empty.
	Secret string
	// Client defaults to one with a 60 s timeout that follows no redirect.
	Client *http.Client
}

// FromEnv reads ECHELON_URL (required) and ECHELON_SECRET.
func FromEnv(getenv func(string) string) (Remote, error) {
	base, err := ParseBase(getenv("ECHELON_URL"))
	if err != nil {
		return Remote{}, fmt.Errorf("ECHELON_URL: %w", err)
	}
	return Remote{Base: base, Secret: getenv("ECHELON_SECRET")}, nil
}

// ParseBase checks a dashboard base URL: absolute http or https, a host,
// no query, fragment or credentials. It returns it without a trailing
// slash.
func ParseBase(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errors.New("required: the dashboard's base URL, admin_path included (https://analytics.example.com/_echelon)")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%q: the scheme must be http or https", raw)
	case u.Host == "":
		return "", fmt.Errorf("%q: no host", raw)
	case u.User != nil:
		return "", fmt.Errorf("%q: put the secret in ECHELON_SECRET, not in the URL", raw)
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return "", fmt.Errorf("%q: no query or fragment", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}

var defaultClient = &http.Client{
	Timeout: 60 * time.Second,
	// A redirect is answered as the non-2xx it is, and the bearer never
	// follows it to another URL.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Get implements API over HTTP.
func (r Remote) Get(ctx context.Context, path string, q url.Values, _ http.Header) (int, []byte, error) {
	if !isGETPath(path) {
		return 0, nil, fmt.Errorf("%s is not a read-only tool path", path)
	}
	target := r.Base + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if r.Secret != "" {
		req.Header.Set("Authorization", "Bearer "+r.Secret)
	}
	c := r.Client
	if c == nil {
		c = defaultClient
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return 0, nil, err
	}
	return res.StatusCode, body, nil
}

// RunStdio serves the tools over newline-delimited JSON-RPC on in and out
// (the MCP stdio transport) until the client closes in or ctx ends.
func RunStdio(ctx context.Context, api API, in io.ReadCloser, out io.WriteCloser) error {
	return New(api).Run(ctx, &mcp.IOTransport{Reader: in, Writer: out})
}
