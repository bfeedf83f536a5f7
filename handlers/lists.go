package handlers

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// ListStore is what the list endpoints read; *storage.Store has it.
type ListStore interface {
	ListVisitors(storage.VisitorQuery) (storage.VisitorList, error)
	VisitorDetail(visitorID string, limit int) (storage.VisitorDetail, error)
	ListViews(storage.ViewQuery) (storage.ViewList, error)
	ListEvents(storage.EventQuery) (storage.EventList, error)
	EventTypes(site string) ([]storage.EventTypeTotal, error)
}

// Lists serves the dashboard's list endpoints: GET /api/visitors,
// /api/visitors/{id}, /api/pageviews and /api/events. Access control is
// the caller's. Every list is paged by an opaque cursor (next_cursor,
// prev_cursor) and bounded in work by the store (storage/lists.go).
type Lists struct {
	Store ListStore
}

func (l *Lists) fail(w http.ResponseWriter, err error) {
	if errors.Is(err, storage.ErrBadCursor) {
		writeError(w, http.StatusBadRequest, "invalid_cursor", "cursor is not one of this list's; start again from the first page")
		return
	}
	writeError(w, http.StatusInternalServerError, "internal", "list query failed")
}

// page is the paging part of every list answer.
type page struct {
	SiteID     string  `json:"site_id"`
	Page       int     `json:"page"`
	Limit      int     `json:"limit"`
	Total      int     `json:"total"`
	TotalExact bool    `json:"total_exact"`
	Pages      *int    `json:"pages"`
	NextCursor *string `json:"next_cursor"`
	PrevCursor *string `json:"prev_cursor"`
	Partial    bool    `json:"partial"`
}

func pageOf(site string, limit int, p storage.Page) page {
	if site == "" {
		site = "default"
	}
	out := page{SiteID: site, Page: p.Number, Limit: limit, Total: p.Total.N, TotalExact: p.Total.Exact,
		NextCursor: nullable(p.Next), PrevCursor: nullable(p.Prev), Partial: p.Partial}
	if p.Total.Exact {
		n := max(1, (p.Total.N+limit-1)/limit)
		out.Pages = &n
	}
	return out
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

// ServeVisitors answers GET /api/visitors?site_id&device&country&returning
// &bot&search&sort&limit&cursor.
func (l *Lists) ServeVisitors(w http.ResponseWriter, r *http.Request) {
	q, perr := ParseVisitorQuery(r.URL.Query())
	if perr != nil {
		perr.write(w)
		return
	}
	list, err := l.Store.ListVisitors(q)
	if err != nil {
		l.fail(w, err)
		return
	}
	rows := make([]visitorRow, len(list.Visitors))
	for i, v := range list.Visitors {
		rows[i] = visitorRow{
			VisitorID: v.VisitorID, SiteID: v.SiteID, Views: v.Views, FirstSeen: apiTime(v.FirstSeen), LastSeen: apiTime(v.LastSeen),
			DeviceType: nullable(v.DeviceType), OSName: nullable(v.OSName), BrowserName: nullable(v.BrowserName),
			CountryCode: nullable(v.CountryCode), MaxBotScore: v.MaxBotScore, IsReturning: bit(v.IsReturning), IsExcluded: bit(v.IsExcluded),
		}
	}
	writeJSON(w, http.StatusOK, struct {
		page
		Visitors []visitorRow `json:"visitors"`
	}{pageOf(q.Site, q.Limit, list.Page), rows})
}

type pageviewRow struct {
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

func pageviewOf(v *storage.View) pageviewRow {
	return pageviewRow{
		ID: v.ID, VisitorID: v.VisitorID, SiteID: v.SiteID, Path: v.Path, DeviceType: nullable(v.DeviceType),
		OSName: nullable(v.OSName), BrowserName: nullable(v.BrowserName), BrowserVersion: nullable(v.BrowserVersion),
		CountryCode: nullable(v.CountryCode), ScreenWidth: nullInt(v.ScreenWidth), ScreenHeight: nullInt(v.ScreenHeight),
		Referrer: nullable(v.Referrer), ReferrerType: nullable(v.ReferrerType), InteractionMS: v.InteractionMS,
		IsReturning: bit(v.IsReturning), BotScore: v.BotScore, CreatedAt: apiTime(v.CreatedAt),
	}
}

func nullInt(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}

// ServePageviews answers GET /api/pageviews?site_id&device&country&bot
// &search&sort&limit&cursor.
func (l *Lists) ServePageviews(w http.ResponseWriter, r *http.Request) {
	q, perr := ParseViewQuery(r.URL.Query())
	if perr != nil {
		perr.write(w)
		return
	}
	list, err := l.Store.ListViews(q)
	if err != nil {
		l.fail(w, err)
		return
	}
	rows := make([]pageviewRow, len(list.Views))
	for i := range list.Views {
		rows[i] = pageviewOf(&list.Views[i])
	}
	writeJSON(w, http.StatusOK, struct {
		page
		Pageviews []pageviewRow `json:"pageviews"`
	}{pageOf(q.Site, q.Limit, list.Page), rows})
}

type eventRow struct {
	ID           uint64  `json:"id"`
	EventType    string  `json:"event_type"`
	SiteID       string  `json:"site_id"`
	VisitorID    *string `json:"visitor_id"`
	SessionID    *string `json:"session_id"`
	Data         *string `json:"data"`
	DeviceType   *string `json:"device_type"`
	UTMCampaign  *string `json:"utm_campaign"`
	ExperimentID *string `json:"experiment_id"`
	VariantID    *string `json:"variant_id"`
	IsReturning  int     `json:"is_returning"`
	BotScore     int     `json:"bot_score"`
	CreatedAt    string  `json:"created_at"`
}

func eventOf(e *storage.Event) eventRow {
	return eventRow{
		ID: e.ID, EventType: e.EventType, SiteID: e.SiteID, VisitorID: nullable(e.VisitorID), SessionID: nullable(e.SessionID),
		Data: nullable(e.Data), DeviceType: nullable(e.DeviceType), UTMCampaign: nullable(e.UTMCampaign),
		ExperimentID: nullable(e.ExperimentID), VariantID: nullable(e.VariantID), IsReturning: bit(e.IsReturning),
		BotScore: e.BotScore, CreatedAt: apiTime(e.CreatedAt),
	}
}

type typeChip struct {
	EventType string `json:"event_type"`
	Count     int    `json:"count"`
}

// ServeEvents answers GET /api/events?site_id&type&search&sort&limit&cursor:
// a page of events and the type chips (every type with its count).
func (l *Lists) ServeEvents(w http.ResponseWriter, r *http.Request) {
	q, perr := ParseEventQuery(r.URL.Query())
	if perr != nil {
		perr.write(w)
		return
	}
	list, err := l.Store.ListEvents(q)
	if err != nil {
		l.fail(w, err)
		return
	}
	types, err := l.Store.EventTypes(q.Site)
	if err != nil {
		l.fail(w, err)
		return
	}
	rows := make([]eventRow, len(list.Events))
	for i := range list.Events {
		rows[i] = eventOf(&list.Events[i])
	}
	chips := make([]typeChip, len(types))
	for i, t := range types {
		chips[i] = typeChip{t.Type, t.Count}
	}
	writeJSON(w, http.StatusOK, struct {
		page
		Types  []typeChip `json:"types"`
		Events []eventRow `json:"events"`
	}{pageOf(q.Site, q.Limit, list.Page), chips, rows})
}

type visitorSummaryJSON struct {
	Pageviews    int      `json:"pageviews"`
	Events       int      `json:"events"`
	FirstSeen    *string  `json:"first_seen"`
	LastSeen     *string  `json:"last_seen"`
	ActiveTimeMS int64    `json:"active_time_ms"`
	Devices      []string `json:"devices"`
	Sites        []string `json:"sites"`
}

type visitorDetail struct {
	VisitorID  string             `json:"visitor_id"`
	IsExcluded bool               `json:"is_excluded"`
	Exclusion  *exclusionRow      `json:"exclusion"`
	Summary    visitorSummaryJSON `json:"summary"`
	Views      []pageviewRow      `json:"views"`
	Events     []eventRow         `json:"events"`
}

// ServeVisitor answers GET /api/visitors/{id} (the id URL-decoded): the
// visitor's cards and its newest 200 views and events. An unknown id
// answers empty cards and lists, as /api/bots/visitor does.
func (l *Lists) ServeVisitor(w http.ResponseWriter, _ *http.Request, id string) {
	id = cutUTF8(id, storage.MaxExcludedIDLen)
	d, err := l.Store.VisitorDetail(id, storage.VisitorDetailLimit)
	if err != nil {
		l.fail(w, err)
		return
	}
	out := visitorDetail{VisitorID: id, Views: make([]pageviewRow, len(d.Views)), Events: make([]eventRow, len(d.Events)),
		Summary: visitorSummaryJSON{Pageviews: d.Pageviews, Events: d.EventCount, ActiveTimeMS: d.ActiveMS,
			Devices: nonNil(d.Devices), Sites: nonNil(d.Sites)}}
	if d.Pageviews > 0 {
		first, last := apiTime(d.FirstSeen), apiTime(d.LastSeen)
		out.Summary.FirstSeen, out.Summary.LastSeen = &first, &last
	}
	if e := d.Exclusion; e != nil {
		out.IsExcluded = true
		out.Exclusion = &exclusionRow{VisitorID: e.VisitorID, Label: label(*e), CreatedAt: apiTime(e.CreatedAt)}
	}
	for i := range d.Views {
		out.Views[i] = pageviewOf(&d.Views[i])
	}
	for i := range d.Events {
		out.Events[i] = eventOf(&d.Events[i])
	}
	writeJSON(w, http.StatusOK, out)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ParamError is a list parameter that does not parse: the 400 to answer.
type ParamError struct {
	Code, Message string
}

func (e *ParamError) Error() string { return e.Message }

func (e *ParamError) write(w http.ResponseWriter) {
	writeError(w, http.StatusBadRequest, e.Code, e.Message)
}

// Limits of the list parameters: longer values are cut.
const (
	maxFilterLen = 64  // device, country, type
	maxSearchLen = 128 // search
)

var errInvalidSort = &ParamError{"invalid_param", "Invalid sort parameter"}

// listSite is the lenient site of the list pages: missing, invalid or
// "default" mean every site ("").
func listSite(s string) string {
	if s == "default" || !storage.ValidSiteID(s) {
		return ""
	}
	return s
}

// listCommon reads the parameters every list has: site_id, limit, cursor.
func listCommon(q url.Values) (site string, limit int, cursor string, perr *ParamError) {
	cursor = q.Get("cursor")
	if len(cursor) > 1024 {
		return "", 0, "", &ParamError{"invalid_cursor", "cursor is not one of this list's; start again from the first page"}
	}
	return listSite(q.Get("site_id")), intParam(q, "limit", storage.DefaultListLimit, 1, storage.MaxListLimit), cursor, nil
}

func botParam(q url.Values) (storage.BotFilter, *ParamError) {
	switch q.Get("bot") {
	case "":
		return storage.BotAny, nil
	case "suspect":
		return storage.BotSuspect, nil
	case "clean":
		return storage.BotClean, nil
	}
	return 0, &ParamError{"invalid_param", "bot must be suspect or clean"}
}

// timeOrder reads the sort of the raw lists: time_desc (default) or
// time_asc; oldest is true for time_asc.
func timeOrder(q url.Values) (oldest bool, perr *ParamError) {
	switch q.Get("sort") {
	case "", "time_desc":
		return false, nil
	case "time_asc":
		return true, nil
	}
	return false, errInvalidSort
}

// ParseVisitorQuery reads the parameters of GET /api/visitors (and of the
// Visitors page): site_id (lenient; default = all sites), device,
// country, returning (returning|new), bot (suspect|clean), search (a
// visitor id substring), sort (time_desc|time_asc|views_desc|views_asc),
// limit (1–100, 25) and cursor.
func ParseVisitorQuery(q url.Values) (storage.VisitorQuery, *ParamError) {
	var vq storage.VisitorQuery
	var perr *ParamError
	if vq.Site, vq.Limit, vq.Cursor, perr = listCommon(q); perr != nil {
		return vq, perr
	}
	vq.Device, vq.Country = cutUTF8(q.Get("device"), maxFilterLen), cutUTF8(q.Get("country"), maxFilterLen)
	vq.Search = cutUTF8(q.Get("search"), maxSearchLen)
	switch q.Get("returning") {
	case "":
	case "returning":
		vq.Returning = storage.ReturningOnly
	case "new":
		vq.Returning = storage.NewOnly
	default:
		return vq, &ParamError{"invalid_param", "returning must be returning or new"}
	}
	if vq.Bot, perr = botParam(q); perr != nil {
		return vq, perr
	}
	switch q.Get("sort") {
	case "", "time_desc":
		vq.Sort = storage.SortLastSeen
	case "time_asc":
		vq.Sort = storage.SortFirstSeen
	case "views_desc":
		vq.Sort = storage.SortViewsDesc
	case "views_asc":
		vq.Sort = storage.SortViewsAsc
	default:
		return vq, errInvalidSort
	}
	return vq, nil
}

// ParseViewQuery reads the parameters of GET /api/pageviews: site_id,
// device, country, bot, search (a visitor id or path substring), sort
// (time_desc|time_asc), limit and cursor.
func ParseViewQuery(q url.Values) (storage.ViewQuery, *ParamError) {
	var vq storage.ViewQuery
	var perr *ParamError
	if vq.Site, vq.Limit, vq.Cursor, perr = listCommon(q); perr != nil {
		return vq, perr
	}
	vq.Device, vq.Country = cutUTF8(q.Get("device"), maxFilterLen), cutUTF8(q.Get("country"), maxFilterLen)
	vq.Search = cutUTF8(q.Get("search"), maxSearchLen)
	if vq.Bot, perr = botParam(q); perr != nil {
		return vq, perr
	}
	vq.Oldest, perr = timeOrder(q)
	return vq, perr
}

// ParseEventQuery reads the parameters of GET /api/events: site_id, type,
// search (a type or data substring), sort (time_desc|time_asc), limit and
// cursor.
func ParseEventQuery(q url.Values) (storage.EventQuery, *ParamError) {
	var eq storage.EventQuery
	var perr *ParamError
	if eq.Site, eq.Limit, eq.Cursor, perr = listCommon(q); perr != nil {
		return eq, perr
	}
	eq.Type, eq.Search = cutUTF8(q.Get("type"), maxFilterLen), cutUTF8(q.Get("search"), maxSearchLen)
	eq.Oldest, perr = timeOrder(q)
	return eq, perr
}
