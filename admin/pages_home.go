package admin

import (
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/echelon-analytics/caddy-echelon/auth"
	"github.com/echelon-analytics/caddy-echelon/handlers"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// The Dashboard, Realtime and All sites pages.

// topList is one of the dashboard's ranked tables.
type topList struct {
	Title, Col string
	Visitors   bool // the list has a visitors column
	Rows       []topRow
	Total      uint64 // of the counts shown, for the share
}

type topRow struct {
	Label           string
	Count, Visitors uint64
	Share           string // "12.3%"
}

func newTopList(title, col string, visitors bool, rows []topRow) topList {
	l := topList{Title: title, Col: col, Visitors: visitors, Rows: rows}
	for _, r := range rows {
		l.Total += r.Count
	}
	for i := range l.Rows {
		if l.Total > 0 {
			l.Rows[i].Share = strconv.FormatFloat(float64(l.Rows[i].Count)*100/float64(l.Total), 'f', 1, 64) + "%"
		}
	}
	return l
}

// liveData is the dashboard's refreshed part: the last 5 minutes, the
// last hour and day as charts, the recent visitors and events.
type liveData struct {
	Site     string
	Refresh  string
	Now      struct{ Visitors, Views, Bots int }
	Hour     template.HTML
	Day      template.HTML
	Visitors []handlers.RecentVisitor
	Events   []handlers.RecentEvent
}

type dashboardData struct {
	Live        liveData
	O           handlers.Overview
	Q           qualityCard
	ActivePages int
	Trend       template.HTML
	TrendRows   []trendRow
	Lists       []topList
}

type trendRow struct {
	Date             string
	Visits, Visitors uint64
}

// dashboard is GET <prefix>/: the live part from /api/stats/dashboard,
// then /api/stats/overview for the chosen days. ?part=live renders the
// live part alone, for the 10-second refresh.
func (d *Dashboard) dashboard(w http.ResponseWriter, r *http.Request, cred auth.Credential) {
	s, err := d.newShell(w, r, cred, "Dashboard", "dashboard")
	if err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	live, err := d.liveData(r, s)
	if err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	if r.URL.Query().Get("part") == "live" {
		d.renderPart(w, "dashboard", "livepart", s, dashboardData{Live: live})
		return
	}
	data := dashboardData{Live: live}
	if err := d.get(r, "/api/stats/overview", vals("site_id", s.Site, "days", strconv.Itoa(s.Days)), &data.O); err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	var q qualityReply
	if err := d.get(r, "/api/stats/quality", vals("site_id", s.Site, "days", strconv.Itoa(s.Days)), &q); err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	data.Q = q.card()
	o := &data.O
	data.ActivePages = len(o.TopPaths)
	data.TrendRows, data.Trend = d.trend(o, s.Days)
	var rows []topRow
	for _, p := range o.TopPaths[:min(10, len(o.TopPaths))] {
		rows = append(rows, topRow{Label: p.Path, Count: p.Views, Visitors: p.Visitors})
	}
	data.Lists = append(data.Lists, newTopList("Top Pages", "Path", true, rows))
	rows = nil
	for _, x := range o.Devices {
		rows = append(rows, topRow{Label: x.DeviceType, Count: x.Visits})
	}
	data.Lists = append(data.Lists, newTopList("Devices", "Device", false, rows))
	rows = nil
	for _, x := range o.Countries {
		rows = append(rows, topRow{Label: x.CountryCode, Count: x.Visits, Visitors: x.Visitors})
	}
	data.Lists = append(data.Lists, newTopList("Countries", "Country", true, rows))
	rows = nil
	for _, x := range o.OSSystems {
		rows = append(rows, topRow{Label: x.OSName, Count: x.Views})
	}
	data.Lists = append(data.Lists, newTopList("OS", "OS", false, rows))
	rows = nil
	for _, x := range o.Browsers {
		rows = append(rows, topRow{Label: x.Browser, Count: x.Views})
	}
	data.Lists = append(data.Lists, newTopList("Browsers", "Browser", false, rows))
	rows = nil
	for _, x := range o.Resolutions {
		rows = append(rows, topRow{Label: resolution(x.Resolution), Count: x.Views})
	}
	data.Lists = append(data.Lists, newTopList("Resolutions", "Screen", false, rows))
	rows = nil
	for _, x := range o.Referrers {
		rows = append(rows, topRow{Label: x.ReferrerType, Count: x.Views})
	}
	data.Lists = append(data.Lists, newTopList("Referrers", "Referrer", false, rows))
	d.render(w, http.StatusOK, "dashboard", s, data)
}

// trend is the daily trend over every day of the period, empty days
// included (the API lists days with views only).
func (d *Dashboard) trend(o *handlers.Overview, days int) ([]trendRow, template.HTML) {
	byDate := make(map[string]handlers.TrendStat, len(o.DailyTrend))
	for _, t := range o.DailyTrend {
		byDate[t.Date] = t
	}
	today := storage.DayOf(d.cfg.Now())
	var rows []trendRow
	var labels []string
	visits, visitors := series{Name: "Visits"}, series{Name: "Visitors"}
	for day := today - storage.Day(days); day <= today; day++ {
		t := byDate[day.String()]
		rows = append(rows, trendRow{day.String(), t.Visits, t.Visitors})
		labels = append(labels, day.String()[5:])
		visits.Values = append(visits.Values, t.Visits)
		visitors.Values = append(visitors.Values, t.Visitors)
	}
	return rows, barChart(wideChart, "trend", "Daily visits and visitors (UTC days)", labels, visits, visitors)
}

// liveData reads /api/stats/dashboard and draws its charts, every bucket
// of the last 60 minutes and 24 hours included (the API lists non-empty
// ones only), labelled in the display time zone.
func (d *Dashboard) liveData(r *http.Request, s *shell) (liveData, error) {
	var db handlers.Dashboard
	if err := d.get(r, "/api/stats/dashboard", vals("site_id", s.Site), &db); err != nil {
		return liveData{}, err
	}
	l := liveData{Site: s.Site, Visitors: db.RecentVisitors, Events: db.RecentEvents}
	l.Refresh = s.Path + query("site_id", s.Site, "part", "live")
	l.Now.Visitors, l.Now.Views, l.Now.Bots = db.Now.ActiveVisitors, db.Now.Pageviews, db.Now.EstimatedBots
	now := d.cfg.Now().UTC()
	loc := d.cfg.Location

	minutes := func(list []handlers.MinuteCount) map[string]uint64 {
		m := make(map[string]uint64, len(list))
		for _, c := range list {
			m[c.Minute] = c.Count
		}
		return m
	}
	vm, em := minutes(db.Hourly.Visitors), minutes(db.Hourly.Events)
	var labels []string
	hv, he := series{Name: "Visitors"}, series{Name: "Events"}
	for i := 59; i >= 0; i-- {
		t := now.Truncate(time.Minute).Add(-time.Duration(i) * time.Minute)
		key := t.Format("15:04")
		labels = append(labels, t.In(loc).Format("15:04"))
		hv.Values = append(hv.Values, vm[key])
		he.Values = append(he.Values, em[key])
	}
	l.Hour = lineChart(halfChart, "hour", "Visitors and events per minute, last 60 minutes", labels, hv, he)

	hours := func(list []handlers.HourCount) map[string]uint64 {
		m := make(map[string]uint64, len(list))
		for _, c := range list {
			m[c.Hour] = c.Count
		}
		return m
	}
	vh, eh := hours(db.Daily.Visitors), hours(db.Daily.Events)
	labels = nil
	dv, de := series{Name: "Visitors"}, series{Name: "Events"}
	for i := 23; i >= 0; i-- {
		t := now.Truncate(time.Hour).Add(-time.Duration(i) * time.Hour)
		key := t.Format("15:00")
		labels = append(labels, t.In(loc).Format("15:04"))
		dv.Values = append(dv.Values, vh[key])
		de.Values = append(de.Values, eh[key])
	}
	l.Day = lineChart(halfChart, "day", "Visitors and events per hour, last 24 hours", labels, dv, de)
	return l, nil
}

type realtimeData struct {
	R       handlers.Realtime
	Refresh string
}

// realtime is GET <prefix>/realtime: /api/stats/realtime, refreshed every
// 10 seconds (?part=live).
func (d *Dashboard) realtime(w http.ResponseWriter, r *http.Request, cred auth.Credential) {
	s, err := d.newShell(w, r, cred, "Realtime", "realtime")
	if err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	data := realtimeData{Refresh: s.Path + query("site_id", s.Site, "part", "live")}
	if err := d.get(r, "/api/stats/realtime", vals("site_id", s.Site), &data.R); err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	if r.URL.Query().Get("part") == "live" {
		d.renderPart(w, "realtime", "livepart", s, data)
		return
	}
	d.render(w, http.StatusOK, "realtime", s, data)
}

type sitesData struct {
	Sum   handlers.Summary
	Sites []handlers.SiteSummary
}

// sites is GET <prefix>/sites, the site select's "All sites": every site's
// last 24 hours from /api/stats/summary, which the shell has read.
func (d *Dashboard) sites(w http.ResponseWriter, r *http.Request, cred auth.Credential) {
	s, err := d.newShell(w, r, cred, "All sites", "sites")
	if err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	d.render(w, http.StatusOK, "sites", s, sitesData{Sum: s.summary.Last24h, Sites: s.summary.Sites})
}
