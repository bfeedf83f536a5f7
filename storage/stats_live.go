package storage

import (
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Dashboard is GET /api/stats/dashboard.
type Dashboard struct {
	Now struct {
		ActiveVisitors int `json:"activeVisitors"`
		EstimatedBots  int `json:"estimatedBots"`
		Pageviews      int `json:"pageviews"`
	} `json:"now"`
	Hourly struct {
		Visitors []MinuteCount `json:"visitors"`
		Events   []MinuteCount `json:"events"`
	} `json:"hourly"`
	Daily struct {
		Visitors []HourCount `json:"visitors"`
		Events   []HourCount `json:"events"`
	} `json:"daily"`
	RecentVisitors []RecentVisitor `json:"recentVisitors"`
	RecentEvents   []RecentEvent   `json:"recentEvents"`
}

type (
	MinuteCount struct {
		Minute string `json:"minute"`
		Count  uint64 `json:"count"`
	}
	HourCount struct {
		Hour  string `json:"hour"`
		Count uint64 `json:"count"`
	}
	RecentVisitor struct {
		VisitorID   string  `json:"visitor_id"`
		DeviceType  *string `json:"device_type"`
		OSName      *string `json:"os_name"`
		Browser     *string `json:"browser"`
		CountryCode *string `json:"country_code"`
		CreatedAt   string  `json:"created_at"`
		ViewCount   int     `json:"view_count"`
	}
	RecentEvent struct {
		EventType string  `json:"event_type"`
		SiteID    string  `json:"site_id"`
		VisitorID *string `json:"visitor_id"`
		CreatedAt string  `json:"created_at"`
	}
)

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Dashboard answers /api/stats/dashboard, clean rows only: now = last
// 5 minutes, hourly = last 60 minutes per UTC minute (raw rows), daily =
// the current UTC hour and the 23 before (hourly counters), recent lists
// from the last hour. Buckets are in time order; empty ones are left out.
func (s *Store) Dashboard(site string, now time.Time) (Dashboard, error) {
	var d Dashboard
	now = now.UTC()
	hourAgo, fiveAgo := now.Add(-time.Hour), now.Add(-5*time.Minute)

	type minute struct {
		visitors map[string]bool
		events   uint64
	}
	minutes := map[int64]*minute{}
	at := func(t time.Time) *minute {
		k := t.Unix() / 60
		m := minutes[k]
		if m == nil {
			m = &minute{visitors: map[string]bool{}}
			minutes[k] = m
		}
		return m
	}
	active, bots := map[string]bool{}, map[string]bool{}
	recent := map[string]*RecentVisitor{}
	err := s.Views(site, hourAgo, now.Add(time.Millisecond), func(v *View) bool {
		if !v.CreatedAt.Before(fiveAgo) {
			switch {
			case v.BotScore >= 50:
				bots[v.VisitorID] = true
			case v.BotScore >= 0:
				active[v.VisitorID] = true
				d.Now.Pageviews++
			}
		}
		if v.BotScore < 0 || v.BotScore >= 50 {
			return true
		}
		at(v.CreatedAt).visitors[v.VisitorID] = true
		r := recent[v.VisitorID]
		if r == nil {
			r = &RecentVisitor{VisitorID: v.VisitorID}
			recent[v.VisitorID] = r
		}
		r.ViewCount++
		r.CreatedAt = max(r.CreatedAt, v.CreatedAt.Format(TimeLayout))
		maxField(&r.DeviceType, v.DeviceType)
		maxField(&r.OSName, v.OSName)
		maxField(&r.Browser, v.BrowserName)
		maxField(&r.CountryCode, v.CountryCode)
		return true
	})
	if err != nil {
		return d, err
	}
	d.Now.ActiveVisitors, d.Now.EstimatedBots = len(active), len(bots)
	err = s.Events(site, hourAgo, now.Add(time.Millisecond), func(e *Event) bool {
		if e.BotScore < 0 || e.BotScore >= 50 {
			return true
		}
		at(e.CreatedAt).events++
		d.RecentEvents = append(d.RecentEvents, RecentEvent{e.EventType, site, nullable(e.VisitorID), e.CreatedAt.Format(TimeLayout)})
		return true
	})
	if err != nil {
		return d, err
	}
	keys := make([]int64, 0, len(minutes))
	for k := range minutes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		m, label := minutes[k], time.Unix(k*60, 0).UTC().Format("15:04")
		if len(m.visitors) > 0 {
			d.Hourly.Visitors = append(d.Hourly.Visitors, MinuteCount{label, uint64(len(m.visitors))})
		}
		if m.events > 0 {
			d.Hourly.Events = append(d.Hourly.Events, MinuteCount{label, m.events})
		}
	}
	for _, r := range recent {
		d.RecentVisitors = append(d.RecentVisitors, *r)
	}
	slices.SortFunc(d.RecentVisitors, func(a, b RecentVisitor) int {
		if a.CreatedAt != b.CreatedAt {
			if a.CreatedAt > b.CreatedAt {
				return -1
			}
			return 1
		}
		if a.VisitorID < b.VisitorID {
			return -1
		}
		return 1
	})
	d.RecentVisitors = d.RecentVisitors[:min(20, len(d.RecentVisitors))]
	slices.Reverse(d.RecentEvents)
	d.RecentEvents = d.RecentEvents[:min(20, len(d.RecentEvents))]

	if err := s.dailyHours(site, now, &d); err != nil {
		return d, err
	}
	nonNil(&d.Hourly.Visitors, &d.Hourly.Events)
	nonNil(&d.Daily.Visitors, &d.Daily.Events)
	nonNil(&d.RecentVisitors)
	nonNil(&d.RecentEvents)
	return d, nil
}

// maxField keeps the larger of *p and v, as SQL MAX over a column with
// NULLs: empty strings are NULL.
func maxField(p **string, v string) {
	if v == "" {
		return
	}
	if *p == nil || **p < v {
		*p = &v
	}
}

// dailyHours fills the dashboard's last-24-hours buckets from the hourly
// counters of yesterday and today.
func (s *Store) dailyHours(site string, now time.Time, d *Dashboard) error {
	today := DayOf(now)
	first := hourOf(now.UnixMilli()) + 1
	return s.db.View(func(txn *badger.Txn) error {
		hours := make([]uint64, hoursFields)
		for _, day := range []Day{today - 1, today} {
			if err := dayCounts(txn, site, day, dimHours, hours); err != nil {
				return err
			}
			start, end := 0, hourOf(now.UnixMilli())+1
			if day != today {
				start, end = first, 24
			}
			for h := start; h < end; h++ {
				label := fmt.Sprintf("%02d:00", h)
				slot := hours[h*hourFields:]
				if slot[hVisitors] > 0 {
					d.Daily.Visitors = append(d.Daily.Visitors, HourCount{label, slot[hVisitors]})
				}
				if slot[hEvents] > 0 {
					d.Daily.Events = append(d.Daily.Events, HourCount{label, slot[hEvents]})
				}
			}
		}
		return nil
	})
}

// Realtime is GET /api/stats/realtime.
type Realtime struct {
	SiteID         string      `json:"site_id"`
	ActiveVisitors int         `json:"active_visitors"`
	Pageviews      int         `json:"pageviews"`
	ActivePaths    []PathViews `json:"active_paths"`
}

type PathViews struct {
	Path  string `json:"path"`
	Views uint64 `json:"views"`
}

// Realtime answers /api/stats/realtime: the last 5 minutes of clean views.
func (s *Store) Realtime(site string, now time.Time) (Realtime, error) {
	r := Realtime{SiteID: site, ActivePaths: []PathViews{}}
	visitors := map[string]bool{}
	paths := map[string]uint64{}
	err := s.Views(site, now.Add(-5*time.Minute), now.Add(time.Millisecond), func(v *View) bool {
		if v.BotScore >= 0 && v.BotScore < 50 {
			visitors[v.VisitorID] = true
			paths[v.Path]++
			r.Pageviews++
		}
		return true
	})
	if err != nil {
		return r, err
	}
	r.ActiveVisitors = len(visitors)
	for p, n := range paths {
		r.ActivePaths = append(r.ActivePaths, PathViews{p, n})
	}
	sortByCount(r.ActivePaths, func(p PathViews) uint64 { return p.Views }, func(p PathViews) string { return p.Path })
	r.ActivePaths = r.ActivePaths[:min(10, len(r.ActivePaths))]
	return r, nil
}
