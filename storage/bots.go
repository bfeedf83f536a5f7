package storage

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"
)

// Queries of the bots API (docs/api.md, Bots).

// SuspiciousVisitor is one row of GET /api/bots/suspicious: a visitor's
// views scoring at least the minimum, aggregated. The lists hold distinct
// non-empty values, sorted.
type SuspiciousVisitor struct {
	VisitorID   string
	MaxBotScore int
	Pageviews   int
	FirstSeen   time.Time
	LastSeen    time.Time
	Sites       []string
	Devices     []string
	Countries   []string
	OSNames     []string
	Browsers    []string
	IsExcluded  bool
}

// SuspiciousBudget is the most views one SuspiciousVisitors call reads,
// whatever the store holds and whatever min_score asks: the query is open
// to anyone in public mode. The score index hands them out highest score
// first, so the visitors at the top of the answer are found first; past
// the budget, the rows cover the views read (docs/bot-defense.md).
const SuspiciousBudget = 10_000

// readBudget counts the views a query may still read.
type readBudget struct{ left int }

// take uses one view of the budget; false once it is spent.
func (b *readBudget) take() bool {
	if b.left <= 0 {
		return false
	}
	b.left--
	return true
}

// SuspiciousVisitors groups the views scoring minScore or more by visitor,
// on site or on every site when site is "", and returns the top limit by
// maximum score, then pageviews, both descending (then visitor id). It
// reads the score index (scoreindex.go) from score 100 down and the views
// it names, then the views not yet indexed; with minScore <= 0 the views
// scoring below 1 (not indexed) are then scanned. At most
// s.budgets.suspicious views are read in all (SuspiciousBudget).
func (s *Store) SuspiciousVisitors(site string, minScore, limit int) ([]SuspiciousVisitor, error) {
	sites := s.sites.all()
	if site != "" {
		sites = []string{site}
	}
	type acc struct {
		row                                       SuspiciousVisitor
		sites, devices, countries, oses, browsers map[string]struct{}
	}
	by := map[string]*acc{}
	add := func(v *View) {
		if v.BotScore < minScore || v.VisitorID == "" {
			return
		}
		a := by[v.VisitorID]
		if a == nil {
			a = &acc{
				row:   SuspiciousVisitor{VisitorID: v.VisitorID, MaxBotScore: v.BotScore, FirstSeen: v.CreatedAt, LastSeen: v.CreatedAt},
				sites: map[string]struct{}{}, devices: map[string]struct{}{}, countries: map[string]struct{}{},
				oses: map[string]struct{}{}, browsers: map[string]struct{}{},
			}
			by[v.VisitorID] = a
		}
		a.row.Pageviews++
		a.row.MaxBotScore = max(a.row.MaxBotScore, v.BotScore)
		if v.CreatedAt.Before(a.row.FirstSeen) {
			a.row.FirstSeen = v.CreatedAt
		}
		if v.CreatedAt.After(a.row.LastSeen) {
			a.row.LastSeen = v.CreatedAt
		}
		addTo(a.sites, v.SiteID)
		addTo(a.devices, v.DeviceType)
		addTo(a.countries, v.CountryCode)
		addTo(a.oses, v.OSName)
		addTo(a.browsers, v.BrowserName)
	}
	budget := &readBudget{left: s.budgets.suspicious}
	// scanFrom scans every view, adding those scoring below below.
	scanFrom := func(below int) error {
		for _, st := range sites {
			err := s.Views(st, time.Time{}, time.Unix(1<<40, 0), func(v *View) bool {
				if !budget.take() {
					return false
				}
				if v.BotScore < below {
					add(v)
				}
				return true
			})
			if err != nil || budget.left == 0 {
				return err
			}
		}
		return nil
	}
	switch {
	case s.scanOnly:
		if err := scanFrom(math.MaxInt); err != nil {
			return nil, err
		}
	default:
		if err := s.suspiciousIndexed(site, max(minScore, 1), add, budget); err != nil {
			return nil, err
		}
		if minScore < 1 {
			if err := scanFrom(1); err != nil {
				return nil, err
			}
		}
	}
	out := make([]SuspiciousVisitor, 0, len(by))
	for _, a := range by {
		r := a.row
		r.Sites, r.Devices, r.Countries = sortedKeys(a.sites), sortedKeys(a.devices), sortedKeys(a.countries)
		r.OSNames, r.Browsers = sortedKeys(a.oses), sortedKeys(a.browsers)
		r.IsExcluded = s.IsExcluded(r.VisitorID)
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b SuspiciousVisitor) int {
		if c := cmp.Compare(b.MaxBotScore, a.MaxBotScore); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Pageviews, a.Pageviews); c != 0 {
			return c
		}
		return strings.Compare(a.VisitorID, b.VisitorID)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func addTo(m map[string]struct{}, v string) {
	if v != "" {
		m[v] = struct{}{}
	}
}

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// VisitorSummary is a visitor's pageview count and highest view score;
// MaxBotScore is meaningful only when Pageviews > 0.
type VisitorSummary struct {
	Pageviews   int
	MaxBotScore int
}

// SummarizeVisitor counts visitorID's views and finds their top score: one
// prefix scan of the visitor index.
func (s *Store) SummarizeVisitor(visitorID string) (VisitorSummary, error) {
	var sum VisitorSummary
	err := s.VisitorViews(visitorID, func(v *View) bool {
		if sum.Pageviews == 0 || v.BotScore > sum.MaxBotScore {
			sum.MaxBotScore = v.BotScore
		}
		sum.Pageviews++
		return true
	})
	return sum, err
}

// LatestVisitorViews returns visitorID's newest n views, newest first.
func (s *Store) LatestVisitorViews(visitorID string, n int) ([]View, error) {
	ring := newest[View]{n: n}
	err := s.VisitorViews(visitorID, func(v *View) bool { ring.add(*v); return true })
	return ring.list(), err
}

// LatestVisitorEvents is LatestVisitorViews for events.
func (s *Store) LatestVisitorEvents(visitorID string, n int) ([]Event, error) {
	ring := newest[Event]{n: n}
	err := s.VisitorEvents(visitorID, func(e *Event) bool { ring.add(*e); return true })
	return ring.list(), err
}

// newest keeps the last n of an oldest-first stream.
type newest[T any] struct {
	n     int
	items []T
	next  int
}

func (r *newest[T]) add(x T) {
	if r.n <= 0 {
		return
	}
	if len(r.items) < r.n {
		r.items = append(r.items, x)
		return
	}
	r.items[r.next] = x
	r.next = (r.next + 1) % r.n
}

// list returns the kept items newest first.
func (r *newest[T]) list() []T {
	out := make([]T, 0, len(r.items))
	for i := range len(r.items) {
		out = append(out, r.items[(r.next-1-i+2*len(r.items))%len(r.items)])
	}
	return out
}
