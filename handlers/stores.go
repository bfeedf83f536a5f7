package handlers

import (
	"time"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// The parts of the store each API handler uses. *storage.Store has them
// all; the handlers' tests put a real store in a temporary directory behind
// them.

// StatsStore is what the statistics endpoints read (Stats).
type StatsStore interface {
	Overview(site string, days int, now time.Time) (storage.Overview, error)
	Dashboard(site string, now time.Time) (storage.Dashboard, error)
	Realtime(site string, now time.Time) (storage.Realtime, error)
	SiteSummaries(now time.Time) ([]storage.SiteSummary, storage.Summary, error)
	LiveSummary(minutes int, now time.Time) (storage.Live, error)
	Quality(site string, days int, now time.Time) ([]storage.DayQuality, error)
	CampaignList(days int, now time.Time) ([]storage.CampaignStat, error)
	CampaignByID(id string) (storage.Campaign, bool, error)
	Detail(c storage.Campaign, days int, now time.Time) (storage.CampaignDetail, error)
	CampaignEvents(site string, days int, eventType string, now time.Time) ([]storage.CampaignEventStat, error)
}

// CampaignStore keeps the UTM campaign registry (Campaigns).
type CampaignStore interface {
	Campaigns() ([]storage.Campaign, error)
	CreateCampaign(c storage.Campaign, now time.Time) error
	SetCampaignStatus(id, status string) (ok bool, err error)
	DeleteCampaign(id string) (ok bool, err error)
}

// ManageStore keeps experiments and per-site settings (Manage).
type ManageStore interface {
	ListExperiments(limit int) ([]storage.Experiment, error)
	ExperimentsWithStatus(statuses ...string) ([]storage.Experiment, error)
	ExperimentByID(id string) (storage.Experiment, error)
	CreateExperiment(e storage.Experiment) error
	TransitionExperiment(id, to string, now time.Time) error
	ExperimentResults(e storage.Experiment) ([]storage.VariantResult, error)
	SiteSettings(site string) (st storage.SiteSettings, found bool, err error)
	SetConsentCSS(site, css string, now time.Time) error
}

// BotStore reads suspicious visitors and keeps the exclusion list (Bots).
type BotStore interface {
	SuspiciousVisitors(site string, minScore, limit int) ([]storage.SuspiciousVisitor, error)
	Exclusions(limit int) ([]storage.Exclusion, error)
	Exclusion(visitorID string) (e storage.Exclusion, ok bool, err error)
	Exclude(visitorID, label string, hasLabel bool, now time.Time) (created bool, err error)
	Include(visitorID string) error
	SummarizeVisitor(visitorID string) (storage.VisitorSummary, error)
	LatestVisitorViews(visitorID string, n int) ([]storage.View, error)
	LatestVisitorEvents(visitorID string, n int) ([]storage.Event, error)
	ViewByID(id uint64) (v storage.View, ok bool, err error)
	EventByID(id uint64) (e storage.Event, ok bool, err error)
}

// IngestStore stores ingested events, deduplicated by id (Ingest).
type IngestStore interface {
	IngestEvents(events []storage.Event, ids []string, keep time.Duration) (accepted, duplicate int, err error)
}

var (
	_ StatsStore    = (*storage.Store)(nil)
	_ CampaignStore = (*storage.Store)(nil)
	_ ManageStore   = (*storage.Store)(nil)
	_ BotStore      = (*storage.Store)(nil)
	_ IngestStore   = (*storage.Store)(nil)
)
