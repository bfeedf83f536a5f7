package echelon

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// dashUser and dashPassword are the tests' dashboard login; dashHash is its
// password hash with few iterations, so that a login costs microseconds.
const (
	dashUser     = "admin"
	dashPassword = "correct horse"
)

var dashHash = func() string {
	salt := []byte("0123456789abcdef")
	key, err := pbkdf2.Key(sha256.New, dashPassword, salt, 1000, 32)
	if err != nil {
		panic(err)
	}
	return "pbkdf2$1000$" + base64.StdEncoding.EncodeToString(salt) + "$" + base64.StdEncoding.EncodeToString(key)
}()

// dashLogin is the echelon block's lines for the test login.
var dashLogin = "username " + dashUser + "\n\t\tpassword_hash " + dashHash

// dashClient is a client that shows redirects instead of following them.
var dashClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// dashDo sends a dashboard request: a form body when form is not nil
// (with a same-origin Origin unless hdr says otherwise), the cookies given,
// no redirect followed.
func dashDo(t *testing.T, method, path string, form url.Values, hdr http.Header, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, baseURL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", baseURL)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	res, err := dashClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// dashSession logs in and returns the session cookie.
func dashSession(t *testing.T, prefix string) *http.Cookie {
	t.Helper()
	res, body := dashDo(t, "POST", prefix+"/login", url.Values{"username": {dashUser}, "password": {dashPassword}}, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != prefix+"/" {
		t.Fatalf("login: %d %s %s", res.StatusCode, res.Header.Get("Location"), body)
	}
	for _, c := range res.Cookies() {
		if c.Name == "echelon_session" && c.Value != "" {
			return c
		}
	}
	t.Fatalf("login set no session cookie: %v", res.Header["Set-Cookie"])
	return nil
}

// cookieLine is the Set-Cookie header of name.
func cookieLine(res *http.Response, name string) string {
	for _, line := range res.Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, name+"=") {
			return line
		}
	}
	return ""
}

// dashPages are every page of the dashboard that needs no id.
var dashPages = []string{"/", "/sites", "/realtime", "/visitors", "/pageviews", "/events", "/bots", "/bots/excluded",
	"/experiments", "/campaigns", "/perf", "/settings"}

// dashWrites are the dashboard's form posts, with a valid form each.
var dashWrites = []struct {
	path string
	form url.Values
}{
	{"/bots/exclude", url.Values{"visitor_id": {"v1"}}},
	{"/bots/include", url.Values{"visitor_id": {"v1"}}},
	{"/experiments", url.Values{"experiment_id": {"e1"}, "name": {"E"}, "metric_event_type": {"signup"},
		"variant_id": {"a", "b"}, "variant_name": {"A", "B"}, "weight": {"1", "1"}, "control": {"0"}}},
	{"/experiments/exp/status", url.Values{"status": {"active"}}},
	{"/campaigns", url.Values{"id": {"c1"}, "name": {"C"}, "utm_campaign": {"c1"}}},
	{"/campaigns/camp/status", url.Values{"status": {"paused"}}},
	{"/campaigns/camp/delete", url.Values{"confirm": {"yes"}}},
	{"/settings/consent", url.Values{"site_id": {"shop"}, "consent_css": {".bar{color:red}"}}},
	{"/settings/debug", url.Values{"enabled": {"true"}}},
	{"/settings/telemetry", url.Values{"optin": {"true"}}},
	{"/logout", url.Values{}},
}
