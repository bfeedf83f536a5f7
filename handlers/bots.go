package handlers

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// Bots serves the bot management API (docs/api.md, Bots). The
// module checks access before calling it.
type Bots struct {
	Store BotStore
	Now   Clock
}

// Limits of the bots API.
const (
	suspiciousDefaultMin   = 25
	suspiciousDefaultLimit = 50
	suspiciousMaxLimit     = 200
	excludedListLimit      = 500
	visitorHistoryLimit    = 100
	maxExcludeBody         = 64 << 10
)

// nullable is "" → null, for SQL NULL columns.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func joined(list []string) *string { return nullable(strings.Join(list, ",")) }

func bit(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (b *Bots) internal(w http.ResponseWriter) {
	writeError(w, http.StatusInternalServerError, "internal", "the store could not answer")
}

// ParseIntParam reads an integer query parameter as JavaScript's parseInt
// does: optional spaces and sign, then the leading decimal digits; ok is
// false when there are none (NaN). Values beyond ±1e9 are clamped.
func ParseIntParam(s string) (n int, ok bool) {
	s = strings.TrimLeft(s, " \t\n\r")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	digits := 0
	for digits < len(s) && s[digits] >= '0' && s[digits] <= '9' {
		if n < 1e9 {
			n = n*10 + int(s[digits]-'0')
		}
		digits++
	}
	if digits == 0 {
		return 0, false
	}
	n = min(n, 1e9)
	if neg {
		n = -n
	}
	return n, true
}

type suspiciousRow struct {
	VisitorID   string  `json:"visitor_id"`
	MaxBotScore int     `json:"max_bot_score"`
	Pageviews   int     `json:"pageviews"`
	FirstSeen   string  `json:"first_seen"`
	LastSeen    string  `json:"last_seen"`
	Sites       *string `json:"sites"`
	Devices     *string `json:"devices"`
	Countries   *string `json:"countries"`
	OSNames     *string `json:"os_names"`
	Browsers    *string `json:"browsers"`
	IsExcluded  int     `json:"is_excluded"`
}

// Suspicious serves GET /api/bots/suspicious?site_id=&min_score=25&limit=50.
func (b *Bots) Suspicious(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	site := q.Get("site_id")
	if site != "" && !storage.ValidSiteID(site) && site != storage.OtherSite {
		writeError(w, http.StatusBadRequest, "invalid_site_id", "site_id must be 1-64 characters of A-Z a-z 0-9 . _ -")
		return
	}
	minScore, ok := ParseIntParam(q.Get("min_score"))
	if !ok {
		minScore = suspiciousDefaultMin
	}
	limit, ok := ParseIntParam(q.Get("limit"))
	if !ok || limit == 0 {
		limit = suspiciousDefaultLimit
	}
	limit = min(max(limit, 1), suspiciousMaxLimit)
	rows, err := b.Store.SuspiciousVisitors(site, minScore, limit)
	if err != nil {
		b.internal(w)
		return
	}
	out := make([]suspiciousRow, len(rows))
	for i, v := range rows {
		out[i] = suspiciousRow{
			VisitorID: v.VisitorID, MaxBotScore: v.MaxBotScore, Pageviews: v.Pageviews,
			FirstSeen: apiTime(v.FirstSeen), LastSeen: apiTime(v.LastSeen),
			Sites: joined(v.Sites), Devices: joined(v.Devices), Countries: joined(v.Countries),
			OSNames: joined(v.OSNames), Browsers: joined(v.Browsers), IsExcluded: bit(v.IsExcluded),
		}
	}
	writeJSON(w, http.StatusOK, out)
}

type excludedRow struct {
	VisitorID   string  `json:"visitor_id"`
	Label       *string `json:"label"`
	CreatedAt   string  `json:"created_at"`
	Pageviews   int     `json:"pageviews"`
	MaxBotScore *int    `json:"max_bot_score"`
}

// Excluded serves GET /api/bots/excluded: the newest 500 exclusions with
// their visitors' pageviews and top score (null without views).
func (b *Bots) Excluded(w http.ResponseWriter, _ *http.Request) {
	list, err := b.Store.Exclusions(excludedListLimit)
	if err != nil {
		b.internal(w)
		return
	}
	out := make([]excludedRow, len(list))
	for i, e := range list {
		sum, err := b.Store.SummarizeVisitor(e.VisitorID)
		if err != nil {
			b.internal(w)
			return
		}
		out[i] = excludedRow{VisitorID: e.VisitorID, Label: label(e), CreatedAt: apiTime(e.CreatedAt), Pageviews: sum.Pageviews}
		if sum.Pageviews > 0 {
			out[i].MaxBotScore = &sum.MaxBotScore
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func label(e storage.Exclusion) *string {
	if !e.HasLabel {
		return nil
	}
	return &e.Label
}

// ExcludeRequest is a parsed POST /api/bots/exclude body.
type ExcludeRequest struct {
	VisitorID string // non-empty, at most 128 bytes
	Label     string // at most 256 bytes
	HasLabel  bool
}

// ErrInvalidExclude is why ParseExclude refused a body.
var ErrInvalidExclude = errors.New("visitor_id must be a non-empty string")

// ParseExclude reads {visitor_id, label?}: the id must be a non-empty
// string (cut to 128), the label is kept if it is a string (cut to 256).
func ParseExclude(body []byte) (ExcludeRequest, error) {
	var raw struct {
		VisitorID any `json:"visitor_id"`
		Label     any `json:"label"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return ExcludeRequest{}, errors.New("body is not a JSON object")
	}
	id, ok := raw.VisitorID.(string)
	if !ok || id == "" {
		return ExcludeRequest{}, ErrInvalidExclude
	}
	req := ExcludeRequest{VisitorID: cutUTF8(id, storage.MaxExcludedIDLen)}
	if l, ok := raw.Label.(string); ok {
		req.Label, req.HasLabel = cutUTF8(l, storage.MaxExcludedLabel), true
	}
	return req, nil
}

// cutUTF8 cuts s to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// Exclude serves POST /api/bots/exclude: 201 {"excluded": id}, also when
// the id was already excluded (insert or ignore).
func (b *Bots) Exclude(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxExcludeBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_payload", "body unreadable or over 64 KB")
		return
	}
	req, err := ParseExclude(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_payload", err.Error())
		return
	}
	if _, err := b.Store.Exclude(req.VisitorID, req.Label, req.HasLabel, b.Now()); err != nil {
		if errors.Is(err, storage.ErrTooManyExclusions) {
			writeError(w, http.StatusConflict, "too_many_exclusions", err.Error())
			return
		}
		b.internal(w)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"excluded": req.VisitorID})
}

// Include serves DELETE /api/bots/exclude/:visitor_id; the id comes
// URL-decoded. Always 200 {"included": id}.
func (b *Bots) Include(w http.ResponseWriter, _ *http.Request, id string) {
	id = cutUTF8(id, storage.MaxExcludedIDLen)
	if id != "" {
		if err := b.Store.Include(id); err != nil {
			b.internal(w)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"included": id})
}

type exclusionRow struct {
	VisitorID string  `json:"visitor_id"`
	Label     *string `json:"label"`
	CreatedAt string  `json:"created_at"`
}

type visitorView struct {
	ID             uint64  `json:"id"` // for /api/bots/score-detail?view_id=
	Path           string  `json:"path"`
	SiteID         string  `json:"site_id"`
	InteractionMS  int64   `json:"interaction_ms"`
	DeviceType     *string `json:"device_type"`
	OSName         *string `json:"os_name"`
	BrowserName    *string `json:"browser_name"`
	BrowserVersion *string `json:"browser_version"`
	CountryCode    *string `json:"country_code"`
	ReferrerType   *string `json:"referrer_type"`
	BotScore       int     `json:"bot_score"`
	IsPWA          int     `json:"is_pwa"`
	CreatedAt      string  `json:"created_at"`
}

type visitorEvent struct {
	ID         uint64  `json:"id"` // for /api/bots/score-detail?event_id=
	EventType  string  `json:"event_type"`
	SiteID     string  `json:"site_id"`
	Data       *string `json:"data"`
	DeviceType *string `json:"device_type"`
	BotScore   int     `json:"bot_score"`
	CreatedAt  string  `json:"created_at"`
}

type visitorReport struct {
	VisitorID  string         `json:"visitor_id"`
	IsExcluded bool           `json:"is_excluded"`
	Exclusion  *exclusionRow  `json:"exclusion"`
	Views      []visitorView  `json:"views"`
	Events     []visitorEvent `json:"events"`
}

// Visitor serves GET /api/bots/visitor/:visitor_id: the exclusion and the
// newest 100 views and events. An unknown id gives empty lists, not 404.
func (b *Bots) Visitor(w http.ResponseWriter, _ *http.Request, id string) {
	id = cutUTF8(id, storage.MaxExcludedIDLen)
	rep := visitorReport{VisitorID: id, Views: []visitorView{}, Events: []visitorEvent{}}
	if id != "" {
		e, ok, err := b.Store.Exclusion(id)
		if err != nil {
			b.internal(w)
			return
		}
		if ok {
			rep.IsExcluded = true
			rep.Exclusion = &exclusionRow{VisitorID: e.VisitorID, Label: label(e), CreatedAt: apiTime(e.CreatedAt)}
		}
		views, err := b.Store.LatestVisitorViews(id, visitorHistoryLimit)
		if err != nil {
			b.internal(w)
			return
		}
		for _, v := range views {
			rep.Views = append(rep.Views, visitorView{
				ID: v.ID, Path: v.Path, SiteID: v.SiteID, InteractionMS: v.InteractionMS, DeviceType: nullable(v.DeviceType),
				OSName: nullable(v.OSName), BrowserName: nullable(v.BrowserName), BrowserVersion: nullable(v.BrowserVersion),
				CountryCode: nullable(v.CountryCode), ReferrerType: nullable(v.ReferrerType), BotScore: v.BotScore,
				IsPWA: bit(v.IsPWA), CreatedAt: apiTime(v.CreatedAt),
			})
		}
		events, err := b.Store.LatestVisitorEvents(id, visitorHistoryLimit)
		if err != nil {
			b.internal(w)
			return
		}
		for _, e := range events {
			rep.Events = append(rep.Events, visitorEvent{
				ID: e.ID, EventType: e.EventType, SiteID: e.SiteID, Data: nullable(e.Data), DeviceType: nullable(e.DeviceType),
				BotScore: e.BotScore, CreatedAt: apiTime(e.CreatedAt),
			})
		}
	}
	writeJSON(w, http.StatusOK, rep)
}

// ScoreDetail serves GET /api/bots/score-detail?view_id=|event_id=:
// {score, detail} with the detail parsed (null if none, {} if it does not
// parse).
func (b *Bots) ScoreDetail(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	viewID, eventID := q.Get("view_id"), q.Get("event_id")
	if viewID == "" && eventID == "" {
		writeError(w, http.StatusBadRequest, "missing_param", "view_id or event_id required")
		return
	}
	var (
		score  int
		detail string
		found  bool
		err    error
	)
	if viewID != "" {
		if id, perr := strconv.ParseUint(viewID, 10, 64); perr == nil {
			var v storage.View
			v, found, err = b.Store.ViewByID(id)
			score, detail = v.BotScore, v.BotScoreDetail
		}
	} else if id, perr := strconv.ParseUint(eventID, 10, 64); perr == nil {
		var e storage.Event
		e, found, err = b.Store.EventByID(id)
		score, detail = e.BotScore, e.BotScoreDetail
	}
	if err != nil {
		b.internal(w)
		return
	}
	if !found {
		writeError(w, http.StatusNotFound, "not_found", "no row with that id")
		return
	}
	out := struct {
		Score  int             `json:"score"`
		Detail json.RawMessage `json:"detail"`
	}{Score: score, Detail: json.RawMessage("null")}
	if detail != "" {
		if json.Valid([]byte(detail)) && strings.HasPrefix(strings.TrimSpace(detail), "{") {
			out.Detail = json.RawMessage(detail)
		} else {
			out.Detail = json.RawMessage("{}")
		}
	}
	writeJSON(w, http.StatusOK, out)
}
