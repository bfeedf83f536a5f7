package handlers

import (
	"net/http"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// Stats serves the GET /api/stats/* endpoints (docs/api.md, Statistics; vitals
// and experiments live elsewhere). Access control is the caller's.
type Stats struct {
	Store StatsStore
	// Pending reports the records buffered and not yet stored.
	Pending    func() (views, events int)
	PublicMode bool
	Now        Clock
}

func (s *Stats) fail(w http.ResponseWriter, _ error) {
	writeError(w, http.StatusInternalServerError, "internal", "stats query failed")
}

// ServeOverview answers GET /api/stats/overview?site_id&days (1–730, 30).
func (s *Stats) ServeOverview(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	site, ok := strictSite(w, q)
	if !ok {
		return
	}
	o, err := s.Store.Overview(site, intParam(q, "days", 30, 1, 730), s.Now())
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, overviewOf(o))
}

// ServeDashboard answers GET /api/stats/dashboard?site_id.
func (s *Stats) ServeDashboard(w http.ResponseWriter, r *http.Request) {
	site, ok := strictSite(w, r.URL.Query())
	if !ok {
		return
	}
	d, err := s.Store.Dashboard(site, s.Now())
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, dashboardOf(d))
}

// ServeRealtime answers GET /api/stats/realtime?site_id.
func (s *Stats) ServeRealtime(w http.ResponseWriter, r *http.Request) {
	site, ok := strictSite(w, r.URL.Query())
	if !ok {
		return
	}
	rt, err := s.Store.Realtime(site, s.Now())
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, realtimeOf(rt))
}

// ServeSummary answers GET /api/stats/summary?minutes: the last 24 hours
// of every site together (last_24h) and each (sites, with 24 hourly clean
// view counts), every site's views of the last minutes (live; 1–180,
// default 10) and the buffered record counts except in public mode.
func (s *Stats) ServeSummary(w http.ResponseWriter, r *http.Request) {
	now := s.Now()
	sites, sum, err := s.Store.SiteSummaries(now)
	if err != nil {
		s.fail(w, err)
		return
	}
	live, err := s.Store.LiveSummary(intParam(r.URL.Query(), "minutes", 10, 1, storage.MaxLiveMinutes), now)
	if err != nil {
		s.fail(w, err)
		return
	}
	out := StatsSummary{Last24h: Summary(sum), Live: Live(live), Sites: each(sites, siteSummaryOf)}
	if !s.PublicMode && s.Pending != nil {
		v, e := s.Pending()
		out.Buffers = &Buffers{v, e}
	}
	writeJSON(w, http.StatusOK, out)
}
