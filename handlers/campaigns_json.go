package handlers

import "github.com/echelon-analytics/caddy-echelon/storage"

// The JSON shapes of the campaign registry and its statistics (docs/api.md,
// Campaigns).

// Campaign is one registered UTM campaign in GET /api/campaigns.
type Campaign struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	UTMCampaign string `json:"utm_campaign"`
	SiteID      string `json:"site_id"`
	Status      string `json:"status"`
	CreatedAt   string `json:"created_at"`
}

func campaignOf(c storage.Campaign) Campaign { return Campaign(c) }

// CampaignStat is one item of GET /api/stats/campaigns without id.
type CampaignStat struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	UTMCampaign string `json:"utm_campaign"`
	SiteID      string `json:"site_id"`
	Status      string `json:"status"`
	Views       uint64 `json:"views"`
	Visitors    uint64 `json:"visitors"`
}

// CampaignDetail is GET /api/stats/campaigns?id=.
type CampaignDetail struct {
	CampaignID string          `json:"campaign_id"`
	BySource   []SourceStat    `json:"bySource"`
	ByMedium   []MediumStat    `json:"byMedium"`
	ByContent  []ContentStat   `json:"byContent"`
	ByTerm     []TermStat      `json:"byTerm"`
	TopPaths   []PathStat      `json:"topPaths"`
	DailyTrend []CampaignTrend `json:"dailyTrend"`
}

// SourceStat is a utm_source with its views and visitors.
type SourceStat struct {
	UTMSource string `json:"utm_source"`
	Views     uint64 `json:"views"`
	Visitors  uint64 `json:"visitors"`
}

// MediumStat is a utm_medium with its views and visitors.
type MediumStat struct {
	UTMMedium string `json:"utm_medium"`
	Views     uint64 `json:"views"`
	Visitors  uint64 `json:"visitors"`
}

// ContentStat is a utm_content with its views.
type ContentStat struct {
	UTMContent string `json:"utm_content"`
	Views      uint64 `json:"views"`
}

// TermStat is a utm_term with its views.
type TermStat struct {
	UTMTerm string `json:"utm_term"`
	Views   uint64 `json:"views"`
}

// CampaignTrend is one day (YYYY-MM-DD) of a campaign.
type CampaignTrend struct {
	Date     string `json:"date"`
	Views    uint64 `json:"views"`
	Visitors uint64 `json:"visitors"`
}

// CampaignEventStat is one item of GET /api/stats/campaign-events.
type CampaignEventStat struct {
	CampaignID       *string          `json:"campaign_id"`
	CampaignName     *string          `json:"campaign_name"`
	UTMCampaign      *string          `json:"utm_campaign"`
	Visitors         uint64           `json:"visitors"`
	EventVisitors    uint64           `json:"event_visitors"`
	Events           uint64           `json:"events"`
	EventRate        float64          `json:"event_rate"`
	EventsPerVisitor float64          `json:"events_per_visitor"`
	EventTypes       []EventTypeCount `json:"event_types"`
}

// EventTypeCount is an event type with its events and visitors.
type EventTypeCount struct {
	EventType      string `json:"event_type"`
	Count          uint64 `json:"count"`
	UniqueVisitors uint64 `json:"unique_visitors"`
}

func campaignStatOf(c storage.CampaignStat) CampaignStat { return CampaignStat(c) }

func campaignDetailOf(d storage.CampaignDetail) CampaignDetail {
	return CampaignDetail{
		CampaignID: d.CampaignID,
		BySource:   list(d.BySource, func(s storage.SourceStat) SourceStat { return SourceStat(s) }),
		ByMedium:   list(d.ByMedium, func(s storage.MediumStat) MediumStat { return MediumStat(s) }),
		ByContent:  list(d.ByContent, func(s storage.ContentStat) ContentStat { return ContentStat(s) }),
		ByTerm:     list(d.ByTerm, func(s storage.TermStat) TermStat { return TermStat(s) }),
		TopPaths:   list(d.TopPaths, pathStatOf),
		DailyTrend: list(d.DailyTrend, func(s storage.CampaignTrend) CampaignTrend { return CampaignTrend(s) }),
	}
}

// campaignEventStatOf writes the organic row's campaign fields, and those of
// an unregistered campaign's id and name, as null.
func campaignEventStatOf(c storage.CampaignEventStat) CampaignEventStat {
	out := CampaignEventStat{
		UTMCampaign: nullable(c.UTMCampaign),
		Visitors:    c.Visitors, EventVisitors: c.EventVisitors, Events: c.Events,
		EventRate: c.EventRate, EventsPerVisitor: c.EventsPerVisitor,
		EventTypes: list(c.EventTypes, func(e storage.EventTypeCount) EventTypeCount { return EventTypeCount(e) }),
	}
	if c.CampaignID != "" {
		out.CampaignID, out.CampaignName = &c.CampaignID, &c.CampaignName
	}
	return out
}
