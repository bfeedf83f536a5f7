package handlers

import "github.com/echelon-analytics/caddy-echelon/storage"

// The JSON shapes of GET /api/stats/* (docs/api.md, Statistics). The store
// returns the numbers; these types decide how the API spells them, and the
// dashboard decodes the same types.

// each converts every element of in with f; nil stays nil, so a list the
// store left out still encodes as null.
func each[T, U any](in []T, f func(T) U) []U {
	if in == nil {
		return nil
	}
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// list is each with nil made empty, for the lists the API always writes
// as an array.
func list[T, U any](in []T, f func(T) U) []U {
	if out := each(in, f); out != nil {
		return out
	}
	return []U{}
}

// StatsSummary is GET /api/stats/summary.
type StatsSummary struct {
	// Buffers are left out in public mode.
	Buffers *Buffers      `json:"buffers,omitempty"`
	Last24h Summary       `json:"last_24h"`
	Live    Live          `json:"live"`
	Sites   []SiteSummary `json:"sites"`
}

// Buffers are the records buffered and not yet stored.
type Buffers struct {
	Views  int `json:"views"`
	Events int `json:"events"`
}

// SiteSummary is one site's last 24 hours in GET /api/stats/summary.
type SiteSummary struct {
	SiteID         string `json:"site_id"`
	TotalViews     uint64 `json:"total_views"`
	HumanViews     uint64 `json:"human_views"`
	BotViews       uint64 `json:"bot_views"`
	UniqueVisitors uint64 `json:"unique_visitors"`
	// HourlyViews are the clean views of each of the 24 hours, oldest
	// first; the last is the current UTC hour.
	HourlyViews []uint64 `json:"hourly_views"`
}

// Live is every site's traffic of the last minutes, for the dashboard's
// live bar.
type Live struct {
	Minutes    int    `json:"minutes"`
	HumanViews uint64 `json:"human_views"`
	BotViews   uint64 `json:"bot_views"`
	// UniqueVisitors counts visitors (any score) whose latest view of its
	// kind (clean or bot) of the day falls in the window: every visitor
	// with a view there, one with both kinds counted twice.
	UniqueVisitors uint64 `json:"unique_visitors"`
}

// Summary is the last_24h of GET /api/stats/summary: every site together.
type Summary struct {
	TotalViews     uint64 `json:"total_views"`
	HumanViews     uint64 `json:"human_views"`
	BotViews       uint64 `json:"bot_views"`
	UniqueVisitors uint64 `json:"unique_visitors"`
}

func siteSummaryOf(s storage.SiteSummary) SiteSummary { return SiteSummary(s) }

// Dashboard is GET /api/stats/dashboard: the site's last hour and day.
type Dashboard struct {
	Now            DashboardNow    `json:"now"`
	Hourly         MinuteSeries    `json:"hourly"`
	Daily          HourSeries      `json:"daily"`
	RecentVisitors []RecentVisitor `json:"recentVisitors"`
	RecentEvents   []RecentEvent   `json:"recentEvents"`
}

// DashboardNow is the current minute and the 4 before it.
type DashboardNow struct {
	ActiveVisitors int `json:"activeVisitors"`
	EstimatedBots  int `json:"estimatedBots"`
	Pageviews      int `json:"pageviews"`
	// VerifiedVisits are the pageviews that carried a valid proof of
	// work.
	VerifiedVisits int `json:"verified_visits"`
}

// MinuteSeries are the last 60 minutes, per minute.
type MinuteSeries struct {
	Visitors []MinuteCount `json:"visitors"`
	Events   []MinuteCount `json:"events"`
}

// HourSeries are the last 24 hours, per hour.
type HourSeries struct {
	Visitors []HourCount `json:"visitors"`
	Events   []HourCount `json:"events"`
}

// MinuteCount is one minute ("15:04") of a MinuteSeries.
type MinuteCount struct {
	Minute string `json:"minute"`
	Count  uint64 `json:"count"`
}

// HourCount is one hour ("15:00") of an HourSeries.
type HourCount struct {
	Hour  string `json:"hour"`
	Count uint64 `json:"count"`
}

// RecentVisitor is one of the dashboard's newest visitors.
type RecentVisitor struct {
	VisitorID   string  `json:"visitor_id"`
	DeviceType  *string `json:"device_type"`
	OSName      *string `json:"os_name"`
	Browser     *string `json:"browser"`
	CountryCode *string `json:"country_code"`
	CreatedAt   string  `json:"created_at"`
	ViewCount   int     `json:"view_count"`
}

// RecentEvent is one of the dashboard's newest events.
type RecentEvent struct {
	EventType string  `json:"event_type"`
	SiteID    string  `json:"site_id"`
	VisitorID *string `json:"visitor_id"`
	CreatedAt string  `json:"created_at"`
}

func dashboardOf(d storage.Dashboard) Dashboard {
	minute := func(c storage.MinuteCount) MinuteCount { return MinuteCount(c) }
	hour := func(c storage.HourCount) HourCount { return HourCount(c) }
	return Dashboard{
		Now:            DashboardNow(d.Now),
		Hourly:         MinuteSeries{Visitors: list(d.Hourly.Visitors, minute), Events: list(d.Hourly.Events, minute)},
		Daily:          HourSeries{Visitors: list(d.Daily.Visitors, hour), Events: list(d.Daily.Events, hour)},
		RecentVisitors: list(d.RecentVisitors, recentVisitorOf),
		RecentEvents:   list(d.RecentEvents, recentEventOf),
	}
}

// recentVisitorOf writes empty fields as null.
func recentVisitorOf(v storage.RecentVisitor) RecentVisitor {
	return RecentVisitor{
		VisitorID: v.VisitorID, DeviceType: nullable(v.DeviceType), OSName: nullable(v.OSName),
		Browser: nullable(v.Browser), CountryCode: nullable(v.CountryCode),
		CreatedAt: apiTime(v.CreatedAt), ViewCount: v.ViewCount,
	}
}

func recentEventOf(e storage.RecentEvent) RecentEvent {
	return RecentEvent{EventType: e.EventType, SiteID: e.SiteID, VisitorID: nullable(e.VisitorID), CreatedAt: apiTime(e.CreatedAt)}
}

// Realtime is GET /api/stats/realtime: the last 5 minutes of clean views.
type Realtime struct {
	SiteID         string      `json:"site_id"`
	ActiveVisitors int         `json:"active_visitors"`
	Pageviews      int         `json:"pageviews"`
	ActivePaths    []PathViews `json:"active_paths"`
}

// PathViews is one of Realtime's most viewed paths.
type PathViews struct {
	Path  string `json:"path"`
	Views uint64 `json:"views"`
}

func realtimeOf(r storage.Realtime) Realtime {
	return Realtime{
		SiteID: r.SiteID, ActiveVisitors: r.ActiveVisitors, Pageviews: r.Pageviews,
		ActivePaths: list(r.ActivePaths, func(p storage.PathViews) PathViews { return PathViews(p) }),
	}
}
