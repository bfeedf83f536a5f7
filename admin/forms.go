package admin

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// maxFormBody bounds a dashboard form post (the consent CSS is the largest
// field, 4 KB after sanitizing).
const maxFormBody = 64 << 10

// form parses a posted form of at most maxFormBody bytes.
func form(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		return nil, errors.New("the form could not be read")
	}
	return r.PostForm, nil
}

// back is where a write returns to: the form's "back" field when it is a
// path of the dashboard, else fallback. Nothing outside the dashboard, so
// a crafted form cannot redirect elsewhere.
func (d *Dashboard) back(f url.Values, fallback string) string {
	b := f.Get("back")
	if b == "" || !strings.HasPrefix(b, d.cfg.Prefix+"/") || strings.HasPrefix(b, "//") ||
		strings.ContainsAny(b, "\\\r\n") {
		return fallback
	}
	if u, err := url.Parse(b); err != nil || u.Scheme != "" || u.Host != "" {
		return fallback
	}
	return b
}

// done ends a write: the flash message for the next page, then 303. A
// message starting with "!" is shown as an error.
func (d *Dashboard) done(w http.ResponseWriter, r *http.Request, to, flash string) {
	if flash != "" {
		http.SetCookie(w, &http.Cookie{
			Name: flashCookie, Value: url.QueryEscape(flash), Path: d.cookiePath(), MaxAge: 60,
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r),
		})
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// takeFlash reads and clears the flash message.
func (d *Dashboard) takeFlash(w http.ResponseWriter, r *http.Request) (msg string, isErr bool) {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return "", false
	}
	http.SetCookie(w, &http.Cookie{
		Name: flashCookie, Path: d.cookiePath(), MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r),
	})
	msg, err = url.QueryUnescape(c.Value)
	if err != nil || len(msg) > 300 {
		return "", false
	}
	msg, isErr = strings.CutPrefix(msg, "!")
	return msg, isErr
}

// write runs an API write for a form and returns to back with a flash
// message: ok on success, the API's message on failure.
func (d *Dashboard) write(w http.ResponseWriter, r *http.Request, method, path string, body any, back, ok string) {
	if err := d.call(r, method, path, nil, body, nil); err != nil {
		d.done(w, r, back, "!Not saved: "+err.Error())
		return
	}
	d.done(w, r, back, ok)
}
