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
