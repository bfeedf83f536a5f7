package storage

import (
	"errors"
	"time"
)

// The dashboard's list pages (Visitors, a visitor's page, Page Views,
// Events) and their API read these queries. Every list is paged by key, not
// by offset: a page returns opaque cursors (cursor.go) that resume the
// walk right after its last row or right before its first, so page 40
// costs what page 1 costs. Every query's work is bounded by an index, its
// limit or a scan budget (listScanBudget), never by the size of the store:
// the endpoints are open to anyone in public mode.

// Page sizes.
const (
	DefaultListLimit = 25
	MaxListLimit     = 100
	// VisitorDetailLimit is the most views and events VisitorDetail lists.
	VisitorDetailLimit = 200
)

// listScanBudget is the most candidates (rows, or index entries for the
// visitors by views) a filtered page examines before it returns what it
// has found; countBudget the most a filtered total examines. A page cut
// short by the budget says so (Page.Partial) and its Next cursor resumes
// the walk where it stopped. (Store.budgets holds them; tests lower them.)
const (
	listScanBudget = 10_000
	countBudget    = 10_000
)

// listBudgets are a store's scan and count budgets, and the views one
// SuspiciousVisitors reads (SuspiciousBudget).
type listBudgets struct{ scan, count, suspicious int }

// ErrBadCursor is returned for a cursor that does not decode, or that was
// made for another list, sort or set of filters.
var ErrBadCursor = errors.New("invalid cursor")

// BotFilter selects rows, or visitors by their highest view score.
type BotFilter uint8

const (
	BotAny     BotFilter = iota
	BotSuspect           // score ≥ 50
	BotClean             // score 0–49 (ingested rows, −1, are neither)
)

// ReturningFilter selects visitors by whether any of their views was a
// returning one.
type ReturningFilter uint8

const (
	ReturningAny ReturningFilter = iota
	ReturningOnly
	NewOnly
)

// VisitorSort orders ListVisitors.
type VisitorSort uint8

const (
	SortLastSeen  VisitorSort = iota // last seen, newest first (time_desc)
	SortFirstSeen                    // first seen, oldest first (time_asc)
	SortViewsDesc                    // most views first
	SortViewsAsc                     // fewest views first
)

// Total is a list's record count for "N records — page X of Y": exactly N
// when Exact, else at least N (a filtered count stopped at its budget:
// "more than N").
type Total struct {
	N     int
	Exact bool
}

// Page is what every list returns besides its rows.
type Page struct {
	// Next and Prev are the cursors of the following and the preceding
	// page, "" when there is none.
	Next, Prev string
	// Number is this page's number, 1 for the first.
	Number int
	// Total counts the list's records. It is computed for the first page
	// and carried by the cursors, so later pages do not count again.
	Total Total
	// Partial reports that the scan budget ran out before the page was
	// full: it may hold fewer rows than asked, and Next continues.
	Partial bool
}

// VisitorQuery selects and orders ListVisitors. Empty strings and zero
// values select everything.
type VisitorQuery struct {
	Site            string // "" = all sites
	Device, Country string // the visitor's device type and country
	Returning       ReturningFilter
	Bot             BotFilter // by the visitor's highest view score
	Search          string    // a substring of the visitor id
	Sort            VisitorSort
	Limit           int    // 1–MaxListLimit; 0 = DefaultListLimit
	Cursor          string // from a previous page's Page.Next or Page.Prev
}

// VisitorRow is one visitor of one site over the retained rows. A visitor
// id is made per site (its hash includes the site), so on all sites a row
// is still one visitor on one site.
type VisitorRow struct {
	VisitorID, SiteID   string
	Views               int
	FirstSeen, LastSeen time.Time
	// DeviceType, OSName, BrowserName and CountryCode are those of the
	// visitor's latest view.
	DeviceType, OSName, BrowserName, CountryCode string
	MaxBotScore                                  int
	IsReturning                                  bool // any view was a returning one
	IsExcluded                                   bool
}

// VisitorList is a page of ListVisitors.
type VisitorList struct {
	Visitors []VisitorRow
	Page
}

// ViewQuery selects ListViews. Empty strings and zero values select
// everything.
type ViewQuery struct {
	Site            string // "" = all sites
	Device, Country string
	Bot             BotFilter
	Search          string // a substring of the visitor id or the path
	Oldest          bool   // oldest first instead of newest first
	Limit           int    // 1–MaxListLimit; 0 = DefaultListLimit
	Cursor          string
}

// ViewList is a page of ListViews.
type ViewList struct {
	Views []View
	Page
}

// EventQuery selects ListEvents. Empty strings select everything.
type EventQuery struct {
	Site   string // "" = all sites
	Type   string // the event type, exactly
	Search string // a substring of the event type or its data
	Oldest bool   // oldest first instead of newest first
	Limit  int    // 1–MaxListLimit; 0 = DefaultListLimit
	Cursor string
}

// EventList is a page of ListEvents.
type EventList struct {
	Events []Event
	Page
}

// EventTypeTotal is one chip of the Events page: a type and its stored
// events (any score) over the retained window.
type EventTypeTotal struct {
	Type  string
	Count int
}

// VisitorDetail is one visitor's page: cards over every retained row of
// the visitor on every site, and its newest views and events.
type VisitorDetail struct {
	VisitorID string
	// Pageviews and EventCount count the visitor's retained rows.
	Pageviews, EventCount int
	// FirstSeen and LastSeen are its first and last view (zero without
	// views).
	FirstSeen, LastSeen time.Time
	// ActiveMS is the sum of the views' interaction time.
	ActiveMS int64
	// Devices and Sites are the distinct device types and sites of the
	// visitor's views, sorted.
	Devices, Sites []string
	Exclusion      *Exclusion // nil when the visitor is not excluded
	// Views and Events are the newest rows, newest first, at most the
	// limit given.
	Views  []View
	Events []Event
}

// limitOf is a query's page size: 0 = DefaultListLimit, clamped to
// 1–MaxListLimit.
func limitOf(n int) int {
	if n <= 0 {
		return DefaultListLimit
	}
	return min(n, MaxListLimit)
}
