package mcpserver

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// maxRequest bounds the body of one MCP request over HTTP: tool arguments
// are a few short strings and integers.
const maxRequest = 64 << 10

// Local calls the REST API in the same process, through the handler that
// serves it, with the credentials of the MCP request: the API's own
// access policy, read limit and handlers answer, exactly as over HTTP.
type Local struct {
	// API serves the paths under Prefix (the admin mux).
	API http.Handler
	// Prefix is admin_path ("" when it is "/").
	Prefix string
}

// forwarded are the request headers an in-process call keeps: the
// credentials and what the access policy reads.
var forwarded = []string{"Authorization", "Cookie", "Origin", "Referer", "User-Agent"}

// Get implements API in process.
func (l Local) Get(ctx context.Context, path string, q url.Values, header http.Header) (int, []byte, error) {
	if !isGETPath(path) {
		return 0, nil, fmt.Errorf("%s is not a read-only tool path", path)
	}
	target := l.Prefix + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, nil, err
	}
	for _, h := range forwarded {
		if v, ok := header[h]; ok {
			req.Header[h] = v
		}
	}
	rec := &recorder{header: http.Header{}}
	l.API.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.status, rec.body.Bytes(), nil
}

// recorder is the response writer of an in-process call.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 && status >= 200 {
		r.status = status
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(p)
}

// Handler serves the tools over MCP's Streamable HTTP transport,
// statelessly: no session is kept between requests, so nothing grows with
// the number of clients and a config reload loses nothing. Responses are
// streamed as server-sent events (or JSON when the client asks only for
// JSON). Access control is the caller's: the route wraps it in the API's
// policy. publicMode turns on the SDK's DNS-rebinding check (a request
// reaching a loopback address with another Host is refused), the one
// case where the endpoint answers without credentials.
func Handler(api API, publicMode bool) http.Handler {
	srv := New(api)
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{
		Stateless:                  true,
		MaxRequestBodyBytes:        maxRequest,
		DisableLocalhostProtection: !publicMode,
	})
}
