package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// apiError is a non-2xx answer of the API.
type apiError struct {
	Status  int
	Code    string `json:"error"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	if e.Code != "" {
		return fmt.Sprintf("%s (%d)", e.Code, e.Status)
	}
	return fmt.Sprintf("the API answered %d", e.Status)
}

// capture is the response writer of an in-process API call.
type capture struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *capture) Header() http.Header { return c.header }

func (c *capture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *capture) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(p)
}

// forwarded are the request headers an in-process API call keeps: the
// credentials and what the CSRF check reads.
var forwarded = []string{"Authorization", "Cookie", "Origin", "Referer", "User-Agent"}

// busyRetries are the waits before retrying a read the API refused with
// 429 because every read slot was taken: a page is a handful of quick
// reads, so a short wait usually finds a slot.
var busyRetries = []time.Duration{20 * time.Millisecond, 60 * time.Millisecond, 150 * time.Millisecond}

// call runs method on the API path (under the prefix, with query q and a
// JSON body when body is not nil) with r's credentials, and decodes a 2xx
// answer into out (unless nil). A non-2xx answer is an *apiError.
func (d *Dashboard) call(r *http.Request, method, path string, q url.Values, body, out any) error {
	target := d.cfg.Prefix + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	for _, wait := range busyRetries {
		err := d.call1(r, method, target, payload, out)
		var ae *apiError
		if method != http.MethodGet || !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests {
			return err
		}
		select {
		case <-time.After(wait):
		case <-r.Context().Done():
			return err
		}
	}
	return d.call1(r, method, target, payload, out)
}

// call1 is one attempt of call.
func (d *Dashboard) call1(r *http.Request, method, target string, payload []byte, out any) error {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(r.Context(), method, target, rd)
	if err != nil {
		return err
	}
	req.Host, req.RemoteAddr, req.TLS, req.Proto = r.Host, r.RemoteAddr, r.TLS, r.Proto
	for _, h := range forwarded {
		if v, ok := r.Header[h]; ok {
			req.Header[h] = v
		}
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c := &capture{header: http.Header{}}
	d.api.ServeHTTP(c, req)
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.status < 200 || c.status > 299 {
		e := &apiError{Status: c.status}
		_ = json.Unmarshal(c.body.Bytes(), e) // a body that is not JSON leaves the status
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(c.body.Bytes(), out); err != nil {
		return fmt.Errorf("%s %s: %w", method, target, err)
	}
	return nil
}

// get is call for a GET.
func (d *Dashboard) get(r *http.Request, path string, q url.Values, out any) error {
	return d.call(r, http.MethodGet, path, q, nil, out)
}

// vals builds query values from name, value pairs, leaving out empty values.
func vals(kv ...string) url.Values {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	return q
}
