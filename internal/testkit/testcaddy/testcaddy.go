// Package testcaddy is the in-process Caddy that the root package's
// integration tests and the browser tests load their configs into, on
// ports shifted by ECHELON_TEST_PORT_OFFSET.
package testcaddy

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// PortOffset is ECHELON_TEST_PORT_OFFSET (0 when unset): it shifts every
// port a Caddy of the tests listens on, so that two checkouts can run
// their suites side by side.
func PortOffset() int {
	n, _ := strconv.Atoi(os.Getenv("ECHELON_TEST_PORT_OFFSET"))
	return n
}

// Caddy is the in-process Caddy of one test binary, on fixed ports.
// caddytest runs Caddy in the test process, and its config is global, so
// the tests that load configs into it must not call t.Parallel. Packages
// whose tests may run at the same time (`go test ./...`) use different
// base ports.
type Caddy struct {
	AdminPort, HTTPPort, HTTPSPort int
	// Origin is http://localhost:HTTPPort, the site address of the configs.
	Origin string
	// GlobalOptions is the global options block every config starts with:
	// the ports, no trust store install, a grace period of 2 s (a replaced
	// server finishes the requests it accepted, as in a deployment, instead
	// of cutting them with EOF), Caddy's own log at level ERROR (every
	// config load logs a dozen lines at INFO and WARN, which would bury a
	// failing test's messages in the output of `go test`), and servers,
	// the body of a servers block, when given.
	GlobalOptions string
}

// New is a Caddy on the admin, HTTP and HTTPS ports given, each
// shifted by PortOffset. servers is the body of the global servers block
// ("" for none).
func New(admin, httpPort, https int, servers string) *Caddy {
	off := PortOffset()
	c := &Caddy{AdminPort: admin + off, HTTPPort: httpPort + off, HTTPSPort: https + off}
	c.Origin = fmt.Sprintf("http://localhost:%d", c.HTTPPort)
	if servers != "" {
		servers = "\tservers {\n\t\t" + servers + "\n\t}\n"
	}
	c.GlobalOptions = fmt.Sprintf(`{
	skip_install_trust
	admin localhost:%d
	http_port %d
	https_port %d
	grace_period 2s
	log {
		level ERROR
	}
%s}
`, c.AdminPort, c.HTTPPort, c.HTTPSPort, servers)
	return c
}

// Tester is a caddytest tester on c's admin port. It drops the default
// client's idle keep-alive connections first: the config the test loads
// replaces the server they lead to, which closes them, and a POST sent on
// one fails with a reset instead of being retried.
func (c *Caddy) Tester(t testing.TB) *caddytest.Tester {
	http.DefaultClient.CloseIdleConnections()
	return caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{AdminPort: c.AdminPort})
}

// Load loads a Caddyfile config and stops the test if that failed. A test
// that had already failed goes on, so that it still reads and checks what
// was stored.
func (c *Caddy) Load(t testing.TB, config string) *caddytest.Tester {
	t.Helper()
	failed := t.Failed()
	tc := c.Tester(t)
	tc.InitServer(config, "caddyfile")
	if !failed && t.Failed() {
		t.FailNow()
	}
	http.DefaultClient.CloseIdleConnections()
	return tc
}

// Unload replaces the config with one that has no echelon handler, so the
// pool entry of every data directory is destroyed: buffers flushed, Badger
// closed.
func (c *Caddy) Unload(t testing.TB) {
	t.Helper()
	c.Tester(t).InitServer(c.GlobalOptions+c.Origin+" {\n\trespond \"gone\" 200\n}\n", "caddyfile")
}

// The tests' HTTP clients send a request once more when its connection
// was reset or closed before any answer. Loading a config replaces Caddy's
// server while the old one stops, and the two share the listening socket:
// now and then, under load, the first request after a load is taken by
// the stopping server and its connection closed unanswered, although the
// new server is up (seen on every route and method). A request that got
// an answer is never sent twice; one closed unanswered is sent again only
// if its body can be read again (none, or GetBody).
func init() {
	http.DefaultTransport = Retrying(http.DefaultTransport)
}

// Retrying wraps a test client's transport the way the default one is.
func Retrying(rt http.RoundTripper) http.RoundTripper { return retryTransport{rt} }

type retryTransport struct{ next http.RoundTripper }

func (rt retryTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := rt.next.RoundTrip(r)
	if err == nil || !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
		return res, err
	}
	switch {
	case r.Body == nil || r.Body == http.NoBody:
		return rt.next.RoundTrip(r)
	case r.GetBody != nil:
		body, berr := r.GetBody()
		if berr != nil {
			return res, err
		}
		again := r.Clone(r.Context())
		again.Body = body
		return rt.next.RoundTrip(again)
	}
	return res, err
}

// CloseIdleConnections closes the wrapped transport's idle connections
// (http.Client.CloseIdleConnections reaches them through it).
func (rt retryTransport) CloseIdleConnections() {
	if c, ok := rt.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
