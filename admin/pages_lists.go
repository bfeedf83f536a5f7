package admin

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/echelon-analytics/caddy-echelon/auth"
)

// The Visitors, visitor, Page Views and Events pages, over the list
// endpoints (/api/visitors, /api/visitors/:id, /api/pageviews,
// /api/events): paged by the API's cursors, filtered by the same
// parameters, site "default" meaning every site.

// listPage is the paging part of every list answer.
type listPage struct {
	Page       int     `json:"page"`
	Total      int     `json:"total"`
	TotalExact bool    `json:"total_exact"`
	Pages      *int    `json:"pages"`
	NextCursor *string `json:"next_cursor"`
	PrevCursor *string `json:"prev_cursor"`
	Partial    bool    `json:"partial"`
}

// pager is what the templates show of a listPage.
type pager struct {
	Total       int
	Exact       bool
	Page, Pages int
	Prev, Next  string
	Partial     bool
	AllSites    bool
}

// listFilters are the parameters each list passes on to its endpoint.
var listFilters = map[string][]string{
	"visitors":  {"device", "country", "returning", "bot", "search", "sort", "cursor"},
	"pageviews": {"device", "country", "bot", "search", "sort", "cursor"},
	"events":    {"type", "search", "sort", "cursor"},
}

// listQuery is the API query of a list page: its filters and the site
// ("" for every site when the site is "default").
func listQuery(r *http.Request, list, site string) url.Values {
	q := url.Values{}
	in := r.URL.Query()
	for _, k := range listFilters[list] {
		if v := in.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	if site != "default" {
		q.Set("site_id", site)
	}
	return q
}

// newPager links the previous and next pages: the page's own query with
// the cursor replaced.
func newPager(r *http.Request, p listPage, site string) pager {
	pg := pager{Total: p.Total, Exact: p.TotalExact, Page: max(p.Page, 1), Partial: p.Partial, AllSites: site == "default"}
	if p.Pages != nil {
		pg.Pages = *p.Pages
	}
	link := func(cursor *string) string {
		if cursor == nil {
			return ""
		}
		q := r.URL.Query()
		q.Del("page")
		q.Set("cursor", *cursor)
		return r.URL.Path + "?" + q.Encode()
	}
	pg.Prev, pg.Next = link(p.PrevCursor), link(p.NextCursor)
	return pg
}

type visitorRow struct {
	VisitorID   string  `json:"visitor_id"`
	SiteID      string  `json:"site_id"`
	Views       int     `json:"views"`
	FirstSeen   string  `json:"first_seen"`
	LastSeen    string  `json:"last_seen"`
	DeviceType  *string `json:"device_type"`
	OSName      *string `json:"os_name"`
	BrowserName *string `json:"browser_name"`
	CountryCode *string `json:"country_code"`
	MaxBotScore int     `json:"max_bot_score"`
	IsReturning int     `json:"is_returning"`
	IsExcluded  int     `json:"is_excluded"`
}

type viewRow struct {
	ID             uint64  `json:"id"`
	VisitorID      string  `json:"visitor_id"`
	SiteID         string  `json:"site_id"`
	Path           string  `json:"path"`
	DeviceType     *string `json:"device_type"`
	OSName         *string `json:"os_name"`
	BrowserName    *string `json:"browser_name"`
	BrowserVersion *string `json:"browser_version"`
	CountryCode    *string `json:"country_code"`
	ScreenWidth    *int    `json:"screen_width"`
	ScreenHeight   *int    `json:"screen_height"`
	Referrer       *string `json:"referrer"`
	ReferrerType   *string `json:"referrer_type"`
	InteractionMS  int64   `json:"interaction_ms"`
	IsReturning    int     `json:"is_returning"`
	BotScore       int     `json:"bot_score"`
	CreatedAt      string  `json:"created_at"`
}

// Screen is the view's resolution as the dashboard shows it.
func (v viewRow) Screen() string {
	if v.ScreenWidth == nil && v.ScreenHeight == nil {
		return "-"
	}
	w, h := 0, 0
	if v.ScreenWidth != nil {
		w = *v.ScreenWidth
	}
	if v.ScreenHeight != nil {
		h = *v.ScreenHeight
	}
	return resolution(strconv.Itoa(w) + "x" + strconv.Itoa(h))
}

type eventRow struct {
	ID          uint64  `json:"id"`
	EventType   string  `json:"event_type"`
	SiteID      string  `json:"site_id"`
	VisitorID   *string `json:"visitor_id"`
	Data        *string `json:"data"`
	DeviceType  *string `json:"device_type"`
	IsReturning int     `json:"is_returning"`
	BotScore    int     `json:"bot_score"`
	CreatedAt   string  `json:"created_at"`
}

type listData[T any] struct {
	Rows  []T
	Pager pager
	Q     url.Values // the page's own filters, for the filter form
	Types []typeChip
	Type  string
}

type typeChip struct {
	EventType string `json:"event_type"`
	Count     int    `json:"count"`
}

// visitors is GET <prefix>/visitors: /api/visitors.
func (d *Dashboard) visitors(w http.ResponseWriter, r *http.Request, cred auth.Credential) {
	listPageOf[visitorRow](d, w, r, cred, "visitors", "Visitors", "visitors")
}

// pageviews is GET <prefix>/pageviews: /api/pageviews.
func (d *Dashboard) pageviews(w http.ResponseWriter, r *http.Request, cred auth.Credential) {
	listPageOf[viewRow](d, w, r, cred, "pageviews", "Page Views", "pageviews")
}

// events is GET <prefix>/events: /api/events and its type chips.
func (d *Dashboard) events(w http.ResponseWriter, r *http.Request, cred auth.Credential) {
	listPageOf[eventRow](d, w, r, cred, "events", "Events", "events")
}

// listPageOf renders one of the three lists; field is the rows' key in
// the API's answer.
func listPageOf[T any](d *Dashboard, w http.ResponseWriter, r *http.Request, cred auth.Credential, list, title, field string) {
	s, err := d.newShell(w, r, cred, title, list)
	if err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	var answer struct {
		listPage
		Visitors  []T        `json:"visitors"`
		Pageviews []T        `json:"pageviews"`
		Events    []T        `json:"events"`
		Types     []typeChip `json:"types"`
	}
	if err := d.get(r, "/api/"+list, listQuery(r, list, s.Site), &answer); err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	data := listData[T]{Pager: newPager(r, answer.listPage, s.Site), Q: r.URL.Query(), Types: answer.Types, Type: r.URL.Query().Get("type")}
	switch field {
	case "visitors":
		data.Rows = answer.Visitors
	case "pageviews":
		data.Rows = answer.Pageviews
	default:
		data.Rows = answer.Events
	}
	d.render(w, http.StatusOK, list, s, data)
}

type visitorDetail struct {
	VisitorID  string `json:"visitor_id"`
	IsExcluded bool   `json:"is_excluded"`
	Exclusion  *struct {
		Label     *string `json:"label"`
		CreatedAt string  `json:"created_at"`
	} `json:"exclusion"`
	Summary struct {
		Pageviews    int      `json:"pageviews"`
		Events       int      `json:"events"`
		FirstSeen    *string  `json:"first_seen"`
		LastSeen     *string  `json:"last_seen"`
		ActiveTimeMS uint64   `json:"active_time_ms"`
		Devices      []string `json:"devices"`
		Sites        []string `json:"sites"`
	} `json:"summary"`
	Views  []viewRow  `json:"views"`
	Events []eventRow `json:"events"`
}

// visitor is GET <prefix>/visitors/{id}: /api/visitors/:id.
func (d *Dashboard) visitor(w http.ResponseWriter, r *http.Request, cred auth.Credential) {
	id := r.PathValue("id")
	s, err := d.newShell(w, r, cred, "Visitor "+shortID(id), "visitors")
	if err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	var v visitorDetail
	if err := d.get(r, "/api/visitors/"+url.PathEscape(id), nil, &v); err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	d.render(w, http.StatusOK, "visitor", s, v)
}
