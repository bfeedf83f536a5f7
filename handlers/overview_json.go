package handlers

import "github.com/echelon-analytics/caddy-echelon/storage"

// Overview is GET /api/stats/overview: a site's visits over a period and
// their breakdowns.
type Overview struct {
	SiteID     string `json:"site_id"`
	PeriodDays int    `json:"period_days"`
	Visits     uint64 `json:"visits"`
	// VerifiedVisits are the visits that carried a valid proof of work.
	VerifiedVisits   uint64         `json:"verified_visits"`
	UniqueVisitors   uint64         `json:"unique_visitors"`
	AvgInteractionMS uint64         `json:"avg_interaction_ms"`
	TopPaths         []PathStat     `json:"top_paths"`
	Devices          []DeviceStat   `json:"devices"`
	Countries        []CountryStat  `json:"countries"`
	Referrers        []ReferrerStat `json:"referrers"`
	OSSystems        []OSStat       `json:"os_systems"`
	Browsers         []BrowserStat  `json:"browsers"`
	Resolutions      []ResStat      `json:"resolutions"`
	DailyTrend       []TrendStat    `json:"daily_trend"`
}

// PathStat is a path with its views and visitors.
type PathStat struct {
	Path     string `json:"path"`
	Views    uint64 `json:"views"`
	Visitors uint64 `json:"visitors"`
}

// DeviceStat is a device class with its visits.
type DeviceStat struct {
	DeviceType string `json:"device_type"`
	Visits     uint64 `json:"visits"`
}

// CountryStat is a country with its visits and visitors.
type CountryStat struct {
	CountryCode string `json:"country_code"`
	Visits      uint64 `json:"visits"`
	Visitors    uint64 `json:"visitors"`
}

// ReferrerStat is a referrer class with its views.
type ReferrerStat struct {
	ReferrerType string `json:"referrer_type"`
	Views        uint64 `json:"views"`
}

// OSStat is an operating system with its views.
type OSStat struct {
	OSName string `json:"os_name"`
	Views  uint64 `json:"views"`
}

// BrowserStat is a browser with its views.
type BrowserStat struct {
	Browser string `json:"browser"`
	Views   uint64 `json:"views"`
}

// ResStat is a screen resolution with its views.
type ResStat struct {
	Resolution string `json:"resolution"`
	Views      uint64 `json:"views"`
}

// TrendStat is one day (YYYY-MM-DD) of the daily trend.
type TrendStat struct {
	Date     string `json:"date"`
	Visits   uint64 `json:"visits"`
	Visitors uint64 `json:"visitors"`
}

func overviewOf(o storage.Overview) Overview {
	return Overview{
		SiteID: o.SiteID, PeriodDays: o.PeriodDays, Visits: o.Visits, VerifiedVisits: o.VerifiedVisits,
		UniqueVisitors: o.UniqueVisitors, AvgInteractionMS: o.AvgInteractionMS,
		TopPaths:    list(o.TopPaths, pathStatOf),
		Devices:     list(o.Devices, func(s storage.DeviceStat) DeviceStat { return DeviceStat(s) }),
		Countries:   list(o.Countries, func(s storage.CountryStat) CountryStat { return CountryStat(s) }),
		Referrers:   list(o.Referrers, func(s storage.ReferrerStat) ReferrerStat { return ReferrerStat(s) }),
		OSSystems:   list(o.OSSystems, func(s storage.OSStat) OSStat { return OSStat(s) }),
		Browsers:    list(o.Browsers, func(s storage.BrowserStat) BrowserStat { return BrowserStat(s) }),
		Resolutions: list(o.Resolutions, func(s storage.ResStat) ResStat { return ResStat(s) }),
		DailyTrend:  list(o.DailyTrend, func(s storage.TrendStat) TrendStat { return TrendStat(s) }),
	}
}

func pathStatOf(s storage.PathStat) PathStat { return PathStat(s) }
