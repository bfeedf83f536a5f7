package admin

import (
	"net/http"

	"github.com/echelon-analytics/caddy-echelon/auth"
)

// Messages of the login page.
const (
	msgRateLimited  = "RATE LIMITED — Too many failed attempts. Try again later."
	msgAccessDenied = "ACCESS DENIED — Invalid credentials."
)

type loginData struct {
	Message string
	// Setup explains what to configure: "none" (nothing at all) or
	// "secret" (a bearer secret only, which a browser cannot send).
	Setup    string
	Username string
	Form     bool
}

// loginShell is the shell of the login page: no nav, no live bar.
func (d *Dashboard) loginShell(r *http.Request) *shell {
	s := &shell{Title: "Login", P: d.cfg.Prefix, Path: r.URL.Path, Here: r.URL.RequestURI(),
		Robots: "noindex, nofollow", Canonical: origin(r) + r.URL.Path, Version: d.version(), TZ: d.cfg.Location.String()}
	if c, err := r.Cookie(themeCookie); err == nil && validTheme(c.Value) {
		s.Theme = c.Value
	}
	return s
}

// loginData says what the login page offers given the configuration.
func (d *Dashboard) loginState() loginData {
	pol := d.cfg.Policy
	switch {
	case !pol.Configured():
		return loginData{Setup: "none"}
	case pol.Username == "":
		return loginData{Setup: "secret"}
	}
	return loginData{Form: true}
}

// loginPage is GET <prefix>/login. A live session goes to the dashboard;
// public mode needs no login.
func (d *Dashboard) loginPage(w http.ResponseWriter, r *http.Request) {
	pol := d.cfg.Policy
	if pol.PublicMode || pol.Authenticate(r) == auth.SessionCredential {
		http.Redirect(w, r, d.cfg.Prefix+"/", http.StatusSeeOther)
		return
	}
	d.render(w, http.StatusOK, "login", d.loginShell(r), d.loginState())
}

// login is POST <prefix>/login: a blocked client gets the
// rate-limit message without a check; wrong credentials count a failure;
// right ones start a session (ending the user's previous one) and go to
// the dashboard.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	data := d.loginState()
	if !data.Form {
		d.render(w, http.StatusOK, "login", d.loginShell(r), data)
		return
	}
	ip := d.cfg.ClientIP(r)
	if d.cfg.Logins.Blocked(ip) {
		data.Message = msgRateLimited
		d.render(w, http.StatusOK, "login", d.loginShell(r), data)
		return
	}
	f, err := form(w, r)
	if err != nil {
		d.fail(w, r, d.loginShell(r), http.StatusBadRequest, err.Error())
		return
	}
	user := f.Get("username")
	pol := d.cfg.Policy
	if !auth.CheckCredentials(pol.Username, d.cfg.PasswordHash, user, f.Get("password")) || pol.Sessions == nil {
		d.cfg.Logins.Fail(ip)
		data.Message, data.Username = msgAccessDenied, user
		d.render(w, http.StatusOK, "login", d.loginShell(r), data)
		return
	}
	http.SetCookie(w, auth.LoginCookie(pol.Sessions.Create(pol.Username), secure(r)))
	http.Redirect(w, r, d.cfg.Prefix+"/", http.StatusSeeOther)
}

// logout is POST <prefix>/logout, behind the admin middleware (a session
// and the CSRF check): the session ends and the cookie is cleared.
func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request, _ auth.Credential) {
	if c, err := r.Cookie(auth.SessionCookie); err == nil && d.cfg.Policy.Sessions != nil {
		d.cfg.Policy.Sessions.Delete(c.Value)
	}
	http.SetCookie(w, auth.LogoutCookie(secure(r)))
	http.Redirect(w, r, d.cfg.Prefix+"/login", http.StatusSeeOther)
}

// setTheme is GET <prefix>/theme?theme=&back=: the theme select without
// JavaScript. It sets the cookie the select's script writes (Path /, one
// year) and returns to the page.
func (d *Dashboard) setTheme(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	theme := q.Get("theme")
	if validTheme(theme) {
		c := &http.Cookie{Name: themeCookie, Value: theme, Path: "/", MaxAge: yearSeconds, SameSite: http.SameSiteLaxMode, Secure: secure(r)}
		if theme == "" {
			c.MaxAge = -1
		}
		http.SetCookie(w, c)
	}
	http.Redirect(w, r, d.back(q, d.cfg.Prefix+"/"), http.StatusSeeOther)
}
