package admin

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/echelon-analytics/caddy-echelon/auth"
)

// The Bots, bot visitor and Excluded pages, and the exclude toggle.

type suspect struct {
	VisitorID   string  `json:"visitor_id"`
	MaxBotScore int     `json:"max_bot_score"`
	Pageviews   int     `json:"pageviews"`
	LastSeen    string  `json:"last_seen"`
	Countries   *string `json:"countries"`
	Devices     *string `json:"devices"`
	OSNames     *string `json:"os_names"`
	Browsers    *string `json:"browsers"`
	IsExcluded  int     `json:"is_excluded"`
}

type botsData struct {
	MinScore, Limit int
	Rows            []suspect
	AllSites        bool
}

// bots is GET <prefix>/bots?min_score&limit: /api/bots/suspicious for the
// site ("default" = all sites).
func (d *Dashboard) bots(w http.ResponseWriter, r *http.Request, cred auth.Credential) {
	s, err := d.newShell(w, r, cred, "Bots", "bots")
	if err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	q := r.URL.Query()
	data := botsData{MinScore: intIn(q.Get("min_score"), 25, 0, 100), Limit: intIn(q.Get("limit"), 50, 1, 200)}
	if data.MinScore == 0 {
		data.MinScore = 25
	}
	site := s.Site
	if site == "default" {
		site, data.AllSites = "", true
	}
	err = d.get(r, "/api/bots/suspicious", vals("site_id", site, "min_score", strconv.Itoa(data.MinScore), "limit", strconv.Itoa(data.Limit)), &data.Rows)
	if err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	d.render(w, http.StatusOK, "bots", s, data)
}

// intIn parses a decimal integer, def when it is not one, clamped to lo..hi.
func intIn(s string, def, lo, hi int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return min(max(n, lo), hi)
}

// visitorReport is GET /api/bots/visitor/:id.
type visitorReport struct {
	VisitorID  string `json:"visitor_id"`
	IsExcluded bool   `json:"is_excluded"`
	Exclusion  *struct {
		Label     *string `json:"label"`
		CreatedAt string  `json:"created_at"`
	} `json:"exclusion"`
	Views []struct {
		ID             uint64  `json:"id"`
		Path           string  `json:"path"`
		SiteID         string  `json:"site_id"`
		InteractionMS  int64   `json:"interaction_ms"`
		DeviceType     *string `json:"device_type"`
		OSName         *string `json:"os_name"`
		BrowserName    *string `json:"browser_name"`
		BrowserVersion *string `json:"browser_version"`
		CountryCode    *string `json:"country_code"`
		BotScore       int     `json:"bot_score"`
		CreatedAt      string  `json:"created_at"`
	} `json:"views"`
	Events []struct {
		ID        uint64  `json:"id"`
		EventType string  `json:"event_type"`
		SiteID    string  `json:"site_id"`
		Data      *string `json:"data"`
		BotScore  int     `json:"bot_score"`
		CreatedAt string  `json:"created_at"`
	} `json:"events"`
}

// botVisitor is GET <prefix>/bots/{id}: /api/bots/visitor/:id, the newest
// 100 views and events with their score factors.
func (d *Dashboard) botVisitor(w http.ResponseWriter, r *http.Request, cred auth.Credential) {
	id := r.PathValue("id")
	s, err := d.newShell(w, r, cred, "Bot visitor "+shortID(id), "bots")
	if err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	var rep visitorReport
	if err := d.get(r, "/api/bots/visitor/"+url.PathEscape(id), nil, &rep); err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	d.render(w, http.StatusOK, "botvisitor", s, rep)
}

type excludedRow struct {
	VisitorID   string  `json:"visitor_id"`
	Label       *string `json:"label"`
	CreatedAt   string  `json:"created_at"`
	Pageviews   int     `json:"pageviews"`
	MaxBotScore *int    `json:"max_bot_score"`
}

// excluded is GET <prefix>/bots/excluded: /api/bots/excluded.
func (d *Dashboard) excluded(w http.ResponseWriter, r *http.Request, cred auth.Credential) {
	s, err := d.newShell(w, r, cred, "Excluded visitors", "excluded")
	if err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	var rows []excludedRow
	if err := d.get(r, "/api/bots/excluded", nil, &rows); err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	d.render(w, http.StatusOK, "excluded", s, rows)
}

// exclude is POST <prefix>/bots/exclude: POST /api/bots/exclude.
func (d *Dashboard) exclude(w http.ResponseWriter, r *http.Request, _ auth.Credential) {
	f, err := form(w, r)
	if err != nil {
		d.fail(w, r, nil, http.StatusBadRequest, err.Error())
		return
	}
	id := f.Get("visitor_id")
	body := map[string]string{"visitor_id": id}
	if l := f.Get("label"); l != "" {
		body["label"] = l
	}
	d.write(w, r, http.MethodPost, "/api/bots/exclude", body, d.back(f, d.cfg.Prefix+"/bots/excluded"),
		"Visitor "+shortID(id)+" is excluded from statistics from now on.")
}

// include is POST <prefix>/bots/include: DELETE /api/bots/exclude/:id.
func (d *Dashboard) include(w http.ResponseWriter, r *http.Request, _ auth.Credential) {
	f, err := form(w, r)
	if err != nil {
		d.fail(w, r, nil, http.StatusBadRequest, err.Error())
		return
	}
	id := f.Get("visitor_id")
	d.write(w, r, http.MethodDelete, "/api/bots/exclude/"+url.PathEscape(id), nil, d.back(f, d.cfg.Prefix+"/bots/excluded"),
		"Visitor "+shortID(id)+" is counted again.")
}

// toggleData is the exclude/include button of a visitor.
type toggleData struct {
	CanWrite bool
	P        string
	ID       string
	Excluded bool
	Back     string
}

// Toggle builds a visitor's exclude toggle for the templates; excluded is
// a bool or the API's 0/1.
func (s *shell) Toggle(id string, excluded any) toggleData {
	ex := false
	switch v := excluded.(type) {
	case bool:
		ex = v
	case int:
		ex = v != 0
	}
	return toggleData{CanWrite: s.CanWrite, P: s.P, ID: id, Excluded: ex, Back: s.Here}
}

// ScoreURL is the API address of a view's or event's score factors.
func (s *shell) ScoreURL(kind string, id uint64) string {
	return s.P + "/api/bots/score-detail?" + kind + "_id=" + strconv.FormatUint(id, 10)
}
