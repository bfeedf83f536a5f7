package admin

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/echelon-analytics/caddy-echelon/auth"
	"github.com/echelon-analytics/caddy-echelon/handlers"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// Cookies of the dashboard (docs/dashboard.md).
const (
	siteCookie  = "echelon_site"
	daysCookie  = "echelon_days"
	themeCookie = "echelon_theme"
	flashCookie = "echelon_flash"
	allSites    = "*" // the site select's "All sites" entry
	yearSeconds = 365 * 24 * 3600
)

// dayChoices are the days select's entries.
var dayChoices = []int{7, 14, 30, 60, 90, 180, 365}

// themes are the theme select's entries; "" follows the system's light or
// dark preference.
var themes = []struct{ ID, Name string }{
	{"", "Auto (light or dark)"},
	{"default", "❄️ Informer"},
	{"c64", "👴 Tasavallan tietokone"},
	{"badboys", "🏀 Bad Boys"},
}

func validTheme(id string) bool {
	return slices.ContainsFunc(themes, func(t struct{ ID, Name string }) bool { return t.ID == id })
}

// summary is GET /api/stats/summary.
type summary struct {
	Buffers *struct {
		Views  int `json:"views"`
		Events int `json:"events"`
	} `json:"buffers"`
	Last24h handlers.Summary       `json:"last_24h"`
	Live    handlers.Live          `json:"live"`
	Sites   []handlers.SiteSummary `json:"sites"`
}

// vitals is the part of GET /api/stats/vitals the live bar shows.
type vitals struct {
	AvgResponseMs float64 `json:"avgResponseMs"`
	RPS           float64 `json:"rps"`
	UptimeSeconds int64   `json:"uptimeSeconds"`
}

// shell is what every page but the login shows around its content: the
// nav with the site and days selects, the live bar, the telemetry banner.
type shell struct {
	Title, Nav string
	P          string // the prefix, for links
	Path       string // the request path, the nav form's target
	Here       string // path and query, to come back to after a write
	Site       string
	Days       int
	Sites      []string
	DayChoices []int
	Theme      string
	Themes     []struct{ ID, Name string }
	Keep       []kv // the query's other parameters, kept by the nav form
	Public     bool
	CanWrite   bool
	Logout     bool // a session: show Logout
	Robots     string
	Canonical  string
	Version    string // static files' version, for cache busting
	Live       liveBar
	Telemetry  telemetryView
	Flash      string
	FlashErr   bool
	Error      string
	TZ         string

	summary summary // the full summary, for pages that show it
}

type kv struct{ K, V string }

type liveBar struct {
	Minutes               int
	Users, Bots, Unique   uint64
	BufViews, BufEvents   int
	AvgMs, RPS            float64
	Uptime                string
	Telemetry             string // "on", "off" or "" (undecided, or no telemetry_url)
	TelemetryHelp, Public bool
}

// page is a template's data: the shell and the page's own.
type page struct {
	*shell
	Data any
}

// newShell reads what every page shows and resolves the sticky site and
// days: query › cookie › a default, the cookie set when the
// query names another value. An invalid site becomes "default"; with no
// site chosen yet, the busiest site of the last 24 hours is shown.
func (d *Dashboard) newShell(w http.ResponseWriter, r *http.Request, cred auth.Credential, title, nav string) (*shell, error) {
	s := &shell{
		Title: title, Nav: nav, P: d.cfg.Prefix, Path: r.URL.Path, Here: r.URL.RequestURI(),
		DayChoices: dayChoices, Themes: themes, Public: d.cfg.Policy.PublicMode,
		CanWrite: !d.cfg.Policy.PublicMode, Logout: cred == auth.SessionCredential,
		Robots: "noindex, nofollow", Canonical: origin(r) + r.URL.Path, Version: d.version(),
		TZ: d.cfg.Location.String(),
	}
	if s.Public {
		s.Robots = "index, follow"
	}
	if c, err := r.Cookie(themeCookie); err == nil && validTheme(c.Value) {
		s.Theme = c.Value
	}
	if err := d.get(r, "/api/stats/summary", vals("minutes", strconv.Itoa(d.cfg.LiveStatsMinutes)), &s.summary); err != nil {
		return nil, err
	}
	for _, site := range s.summary.Sites {
		s.Sites = append(s.Sites, site.SiteID)
	}
	s.Site, s.Days = d.sticky(w, r, s.summary.Sites)
	if !slices.Contains(s.Sites, s.Site) {
		s.Sites = append([]string{s.Site}, s.Sites...)
	}
	q := r.URL.Query()
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range q {
			if !yield(k) {
				return
			}
		}
	}) {
		if k != "site_id" && k != "days" && k != "page" && k != "part" {
			s.Keep = append(s.Keep, kv{k, q.Get(k)})
		}
	}
	d.fillLive(r, s)
	d.fillTelemetry(r, s)
	s.Flash, s.FlashErr = d.takeFlash(w, r)
	return s, nil
}

// sticky resolves the site and days (newShell).
func (d *Dashboard) sticky(w http.ResponseWriter, r *http.Request, sites []handlers.SiteSummary) (string, int) {
	q := r.URL.Query()
	site := ""
	if v, ok := q["site_id"]; ok {
		site = v[0]
		if !storage.ValidSiteID(site) && site != storage.OtherSite {
			site = "default"
		}
		d.remember(w, r, siteCookie, site)
	} else if c, err := r.Cookie(siteCookie); err == nil {
		if v, err := url.QueryUnescape(c.Value); err == nil && (storage.ValidSiteID(v) || v == storage.OtherSite) {
			site = v
		}
	}
	if site == "" {
		site = "default"
		var best uint64
		for _, s := range sites {
			if s.TotalViews > best {
				site, best = s.SiteID, s.TotalViews
			}
		}
	}
	days := 30
	if v, ok := q["days"]; ok {
		days = clampDays(v[0])
		d.remember(w, r, daysCookie, strconv.Itoa(days))
	} else if c, err := r.Cookie(daysCookie); err == nil {
		days = clampDays(c.Value)
	}
	return site, days
}

func clampDays(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n == 0 {
		return 30
	}
	return min(max(n, 1), 365)
}

// remember sets a sticky cookie when value differs from the one sent.
func (d *Dashboard) remember(w http.ResponseWriter, r *http.Request, name, value string) {
	enc := url.QueryEscape(value)
	if c, err := r.Cookie(name); err == nil && c.Value == enc {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: enc, Path: d.cookiePath(), MaxAge: yearSeconds,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure(r),
	})
}

// fillLive reads the live bar: the summary's live window and buffers, and
// request timings (hidden in public mode, shown as 0).
func (d *Dashboard) fillLive(r *http.Request, s *shell) {
	l := &s.Live
	l.Minutes = s.summary.Live.Minutes
	l.Users, l.Bots, l.Unique = s.summary.Live.HumanViews, s.summary.Live.BotViews, s.summary.Live.UniqueVisitors
	if b := s.summary.Buffers; b != nil {
		l.BufViews, l.BufEvents = b.Views, b.Events
	}
	l.Uptime = "0s"
	if s.Public {
		return
	}
	var v vitals
	if err := d.get(r, "/api/stats/vitals", nil, &v); err == nil {
		l.AvgMs, l.RPS, l.Uptime = v.AvgResponseMs, v.RPS, uptime(v.UptimeSeconds)
	}
}

// uptime formats seconds as Ns, Nm, Hh Mm or Dd Hh.
func uptime(sec int64) string {
	switch {
	case sec < 60:
		return strconv.FormatInt(sec, 10) + "s"
	case sec < 3600:
		return strconv.FormatInt(sec/60, 10) + "m"
	case sec < 86400:
		return strconv.FormatInt(sec/3600, 10) + "h " + strconv.FormatInt(sec%3600/60, 10) + "m"
	}
	return strconv.FormatInt(sec/86400, 10) + "d " + strconv.FormatInt(sec%86400/3600, 10) + "h"
}

// origin is the request's scheme and host.
func origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// render writes a page with its shell.
func (d *Dashboard) render(w http.ResponseWriter, status int, name string, s *shell, data any) {
	t, ok := d.pages[name]
	if !ok {
		http.Error(w, "no page "+name, http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", page{s, data}); err != nil {
		http.Error(w, "render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderPart writes one named block of a page without the shell: the
// live sections the dashboard and realtime pages refresh.
func (d *Dashboard) renderPart(w http.ResponseWriter, name, block string, s *shell, data any) {
	var buf bytes.Buffer
	if err := d.pages[name].ExecuteTemplate(&buf, block, page{s, data}); err != nil {
		http.Error(w, "render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// fail answers with the error page. With a shell it is a page of the
// dashboard; without one (the shell itself failed) a bare one.
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, s *shell, status int, msg string) {
	if s == nil {
		s = &shell{Title: http.StatusText(status), P: d.cfg.Prefix, Path: r.URL.Path, Here: r.URL.RequestURI(),
			Robots: "noindex, nofollow", Canonical: origin(r) + r.URL.Path, Version: d.version(),
			Public: d.cfg.Policy.PublicMode, DayChoices: dayChoices, Themes: themes, Days: 30, Site: "default"}
		if c, err := r.Cookie(themeCookie); err == nil && validTheme(c.Value) {
			s.Theme = c.Value
		}
	}
	s.Title = http.StatusText(status)
	s.Error = msg
	d.render(w, status, "error", s, nil)
}

// failAPI answers with the API's error when it refused, else a 502: the
// page could not get its data.
func (d *Dashboard) failAPI(w http.ResponseWriter, r *http.Request, s *shell, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		d.fail(w, r, s, ae.Status, ae.Error())
		return
	}
	d.fail(w, r, s, http.StatusBadGateway, "The dashboard could not read its data: "+err.Error())
}
