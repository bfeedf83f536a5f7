package handlers

import (
	"encoding/json"
	"net/http"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// Quality is GET /api/stats/quality (docs/api.md): how much of a site's
// traffic is proven, and what was kept out of its statistics, by reason.
type Quality struct {
	SiteID     string `json:"site_id"`
	PeriodDays int    `json:"period_days"`
	// Views are the clean views (what the statistics count); of them,
	// VerifiedVisits carried a valid proof of work, UnverifiedVisits not.
	Views            uint64 `json:"views"`
	VerifiedVisits   uint64 `json:"verified_visits"`
	UnverifiedVisits uint64 `json:"unverified_visits"`
	// BotViews are the stored views scoring 50 or more.
	BotViews uint64 `json:"bot_views"`
	// Filtered counts every hit kept out of the statistics, stored as a
	// bot's or never stored, by reason; every reason is listed.
	Filtered Filtered       `json:"filtered"`
	Total    FilteredCount  `json:"filtered_total"`
	Daily    []QualityDaily `json:"daily"` // days with any traffic, oldest first
}

// QualityDaily is one day of Quality.
type QualityDaily struct {
	Date           string        `json:"date"`
	Views          uint64        `json:"views"`
	VerifiedVisits uint64        `json:"verified_visits"`
	BotViews       uint64        `json:"bot_views"`
	Filtered       FilteredCount `json:"filtered"`
}

// FilteredCount is a number of pageviews and of events.
type FilteredCount struct {
	Views  uint64 `json:"views"`
	Events uint64 `json:"events"`
}

// Filtered are the counts by reason, encoded as an object keyed by the
// reason names in their fixed order.
type Filtered [storage.NumReasons]FilteredCount

func (f Filtered) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, c := range f {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, storage.Reason(i).String()...)
		b = append(b, '"', ':')
		v, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		b = append(b, v...)
	}
	return append(b, '}'), nil
}

// ServeQuality answers GET /api/stats/quality?site_id&days (days 1–730,
// default 30, counted like the overview's).
func (s *Stats) ServeQuality(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	site, ok := strictSite(w, q)
	if !ok {
		return
	}
	days := intParam(q, "days", 30, 1, 730)
	rows, err := s.Store.Quality(site, days, s.Now())
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, qualityOf(site, days, rows))
}

func qualityOf(site string, days int, rows []storage.DayQuality) Quality {
	out := Quality{SiteID: site, PeriodDays: days, Daily: []QualityDaily{}}
	for _, d := range rows {
		day := QualityDaily{Date: d.Day.String(), Views: d.Views, VerifiedVisits: d.Verified, BotViews: d.BotViews}
		for r, c := range d.Filtered {
			out.Filtered[r].Views += c[0]
			out.Filtered[r].Events += c[1]
			day.Filtered.Views += c[0]
			day.Filtered.Events += c[1]
		}
		out.Views += d.Views
		out.VerifiedVisits += d.Verified
		out.BotViews += d.BotViews
		out.Total.Views += day.Filtered.Views
		out.Total.Events += day.Filtered.Events
		if d.Views > 0 || d.BotViews > 0 || day.Filtered != (FilteredCount{}) {
			out.Daily = append(out.Daily, day)
		}
	}
	out.UnverifiedVisits = out.Views - min(out.VerifiedVisits, out.Views)
	return out
}
