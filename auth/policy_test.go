package auth

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestAuthorize(t *testing.T) {
	const (
		secret   = "s3cret-token"
		readOnly = `{"error":"read_only","message":"This is a public read-only instance. Data cannot be modified. To run your own instance, see https://ea.js.org/installation.html"}`
		csrf     = `{"error":"CSRF validation failed — origin mismatch"}`
		unauth   = `{"error":"unauthorized"}`
		notConf  = `{"error":"unauthorized","message":"Auth must be configured"}`
	)

	live := NewSessions(newFakeClock().Now)
	liveTok := live.Create("admin")

	clock := newFakeClock()
	stale := NewSessions(clock.Now)
	staleTok := stale.Create("admin")
	clock.Advance(SessionIdle + time.Second)

	none := Policy{}
	public := Policy{PublicMode: true}
	bearer := Policy{Secret: secret}
	cookie := Policy{Username: "admin", Sessions: live}
	expired := Policy{Username: "admin", Sessions: stale}
	both := Policy{Secret: secret, Username: "admin", Sessions: live}

	tests := []struct {
		name    string
		policy  Policy
		method  string
		path    string
		host    string            // Host header; "example.com" if empty
		header  map[string]string // request headers
		session string            // echelon_session cookie value
		status  int               // 0 = allowed
		body    string
	}{
		{name: "health without auth configured", policy: none, path: "/api/health"},
		{name: "health with auth configured", policy: both, path: "/api/health"},
		{name: "health POST in public mode", policy: public, method: "POST", path: "/api/health"},

		{name: "public GET", policy: public, path: "/api/stats/overview"},
		{name: "public HEAD", policy: public, method: "HEAD", path: "/api/stats/overview"},
		{name: "public GET telemetry", policy: public, path: "/api/telemetry"},
		{name: "public POST read_only", policy: public, method: "POST", path: "/api/experiments", status: 403, body: readOnly},
		{name: "public DELETE read_only despite bearer", policy: Policy{PublicMode: true, Secret: secret}, method: "DELETE", path: "/api/bots/exclude",
			header: map[string]string{"Authorization": "Bearer " + secret}, status: 403, body: readOnly},
		{name: "public POST telemetry without auth", policy: public, method: "POST", path: "/api/telemetry", status: 401, body: notConf},
		{name: "public POST telemetry, auth configured, no credential", policy: Policy{PublicMode: true, Secret: secret}, method: "POST", path: "/api/telemetry", status: 401, body: unauth},
		{name: "public POST telemetry with bearer", policy: Policy{PublicMode: true, Secret: secret}, method: "POST", path: "/api/telemetry",
			header: map[string]string{"Authorization": "Bearer " + secret}},

		{name: "bearer right", policy: bearer, path: "/api/stats/overview", header: map[string]string{"Authorization": "Bearer " + secret}},
		{name: "bearer scheme is case-insensitive", policy: bearer, path: "/api/stats/overview", header: map[string]string{"Authorization": "bearer " + secret}},
		{name: "bearer write needs no CSRF", policy: bearer, method: "POST", path: "/api/perf",
			header: map[string]string{"Authorization": "Bearer " + secret, "Origin": "https://evil.example"}},
		{name: "bearer wrong", policy: bearer, path: "/api/stats/overview", header: map[string]string{"Authorization": "Bearer nope"}, status: 401, body: unauth},
		{name: "bearer prefix of secret", policy: bearer, path: "/api/stats/overview", header: map[string]string{"Authorization": "Bearer " + secret[:4]}, status: 401, body: unauth},
		{name: "secret under other scheme", policy: bearer, path: "/api/stats/overview", header: map[string]string{"Authorization": "Basic " + secret}, status: 401, body: unauth},
		{name: "bare secret", policy: bearer, path: "/api/stats/overview", header: map[string]string{"Authorization": secret}, status: 401, body: unauth},
		{name: "empty secret means bearer off", policy: Policy{Username: "admin", Sessions: live}, path: "/api/stats/overview",
			header: map[string]string{"Authorization": "Bearer "}, status: 401, body: unauth},
		{name: "no auth header, secret set", policy: bearer, path: "/api/stats/overview", status: 401, body: unauth},

		{name: "session GET", policy: cookie, path: "/api/stats/overview", session: liveTok},
		{name: "session GET ignores Origin", policy: cookie, path: "/api/stats/overview", session: liveTok, header: map[string]string{"Origin": "https://evil.example"}},
		{name: "session POST same Origin", policy: cookie, method: "POST", path: "/api/experiments", session: liveTok,
			header: map[string]string{"Origin": "https://example.com"}},
		{name: "session POST other Origin", policy: cookie, method: "POST", path: "/api/experiments", session: liveTok,
			header: map[string]string{"Origin": "https://evil.example"}, status: 403, body: csrf},
		{name: "session PATCH Origin beats matching Referer", policy: cookie, method: "PATCH", path: "/api/experiments/x", session: liveTok,
			header: map[string]string{"Origin": "https://evil.example", "Referer": "https://example.com/admin"}, status: 403, body: csrf},
		{name: "session DELETE Referer fallback", policy: cookie, method: "DELETE", path: "/api/bots/exclude", session: liveTok,
			header: map[string]string{"Referer": "https://example.com/admin/bots?x=1"}},
		{name: "session PUT other Referer", policy: cookie, method: "PUT", path: "/api/x", session: liveTok,
			header: map[string]string{"Referer": "https://evil.example/admin"}, status: 403, body: csrf},
		{name: "session POST no Origin no Referer", policy: cookie, method: "POST", path: "/api/experiments", session: liveTok, status: 403, body: csrf},
		{name: "session POST Origin null", policy: cookie, method: "POST", path: "/api/experiments", session: liveTok,
			header: map[string]string{"Origin": "null"}, status: 403, body: csrf},
		{name: "session POST non-default port matches", policy: cookie, method: "POST", path: "/api/experiments", session: liveTok,
			host: "example.com:8443", header: map[string]string{"Origin": "https://example.com:8443"}},
		{name: "session POST non-default port differs", policy: cookie, method: "POST", path: "/api/experiments", session: liveTok,
			host: "example.com:8443", header: map[string]string{"Origin": "https://example.com:9443"}, status: 403, body: csrf},
		{name: "session POST port missing from Origin", policy: cookie, method: "POST", path: "/api/experiments", session: liveTok,
			host: "example.com:8443", header: map[string]string{"Origin": "https://example.com"}, status: 403, body: csrf},
		{name: "session POST scheme ignored", policy: cookie, method: "POST", path: "/api/experiments", session: liveTok,
			header: map[string]string{"Origin": "http://example.com"}},

		{name: "expired session", policy: expired, path: "/api/stats/overview", session: staleTok, status: 401, body: unauth},
		{name: "unknown session token", policy: cookie, path: "/api/stats/overview", session: "00000000-0000-4000-8000-000000000000", status: 401, body: unauth},
		{name: "cookie ignored without username", policy: Policy{Secret: secret, Sessions: live}, path: "/api/stats/overview", session: liveTok, status: 401, body: unauth},
		{name: "username set, no cookie", policy: cookie, path: "/api/stats/overview", status: 401, body: unauth},
		{name: "nothing configured", policy: none, path: "/api/stats/overview", status: 401, body: notConf},
		{name: "nothing configured, bearer sent", policy: none, method: "POST", path: "/api/perf",
			header: map[string]string{"Authorization": "Bearer "}, status: 401, body: notConf},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			r := httptest.NewRequest(method, "http://example.com"+tt.path, nil)
			if tt.host != "" {
				r.Host = tt.host
			}
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			if tt.session != "" {
				r.AddCookie(&http.Cookie{Name: SessionCookie, Value: tt.session})
			}
			w := httptest.NewRecorder()

			ok := tt.policy.Authorize(w, r, tt.path)

			if tt.status == 0 {
				if !ok || w.Body.Len() != 0 {
					t.Fatalf("Authorize = %v with %d %q, want allowed and nothing written", ok, w.Code, w.Body)
				}
				return
			}
			if ok {
				t.Fatal("Authorize = true, want refusal")
			}
			if w.Code != tt.status || w.Body.String() != tt.body {
				t.Errorf("got %d %s\nwant %d %s", w.Code, w.Body, tt.status, tt.body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
		})
	}
}

func TestSameOrigin(t *testing.T) {
	tests := []struct {
		host, origin, referer string
		ok                    bool
	}{
		{"example.com", "https://example.com", "", true},
		{"EXAMPLE.com", "https://example.COM", "", true},
		{"example.com", "https://example.com:443", "", true},
		{"example.com:443", "https://example.com", "", true},
		{"example.com:80", "http://example.com", "", true},
		{"example.com:80", "https://example.com", "", false},
		{"example.com", "https://example.com:8443", "", false},
		{"example.com:8443", "http://example.com:8443", "", true},
		{"[::1]:8080", "http://[::1]:8080", "", true},
		{"[::1]", "http://[::1]", "", true},
		{"example.com", "https://sub.example.com", "", false},
		{"example.com", "", "https://example.com/admin?a=b", true},
		{"example.com", "", "/admin", false},
		{"example.com", "", "", false},
		{"example.com", "null", "https://example.com/", false},
		{"example.com", "%zz", "", false},
		{"example.com", "example.com", "", false},
		{"", "https://example.com", "", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "/api/x", nil)
		r.Host = tt.host
		r.URL.Host = ""
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		if tt.referer != "" {
			r.Header.Set("Referer", tt.referer)
		}
		if got := SameOrigin(r); got != tt.ok {
			t.Errorf("SameOrigin(Host %q, Origin %q, Referer %q) = %v, want %v", tt.host, tt.origin, tt.referer, got, tt.ok)
		}
	}
}

func TestSameOrigin_FallsBackToURLHost(t *testing.T) {
	r := httptest.NewRequest("POST", "http://example.com:8080/api/x", nil)
	r.Host = ""
	r.Header.Set("Origin", "http://example.com:8080")
	if !SameOrigin(r) {
		t.Error("SameOrigin ignores r.URL.Host when Host is empty")
	}
}
