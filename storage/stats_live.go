package storage

import (
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Dashboard is a site's last hour and day, clean records only.
type Dashboard struct {
	Now struct {
		ActiveVisitors int
		EstimatedBots  int
		Pageviews      int
		// VerifiedVisits are the pageviews that carried a valid proof of
		// work.
		VerifiedVisits int
	}
	Hourly struct {
		Visitors []MinuteCount
		Events   []MinuteCount
	}
	Daily struct {
		Visitors []HourCount
		Events   []HourCount
	}
	RecentVisitors []RecentVisitor
	RecentEvents   []RecentEvent
}

type (
	MinuteCount struct {
		Minute string
		Count  uint64
	}
	HourCount struct {
		Hour  string
		Count uint64
	}
	// RecentVisitor is a visitor of the last hour: the latest view's
	// time, the view count and the largest value of each field ("" when
	// every view left it empty).
	RecentVisitor struct {
		VisitorID   string
		DeviceType  string
		OSName      string
		Browser     string
		CountryCode string
		CreatedAt   time.Time
		ViewCount   int
	}
	// RecentEvent is an event of the last hour.
	RecentEvent struct {
		EventType string
		SiteID    string
		VisitorID string
		CreatedAt time.Time
	}
)

// Dashboard answers /api/stats/dashboard, clean records only, from
// counters: now = the current UTC minute and the 4 before it, hourly = the
// last 60 minutes per minute, daily = the current UTC hour and the 23
// before it per hour. recentVisitors and recentEvents read the newest raw
// rows, a minute first, and stop after 20 (visitors' view counts come from
// their own histories), so no query here grows with the site's traffic. Buckets are in
// time order; empty ones are left out.
func (s *Store) Dashboard(site string, now time.Time) (Dashboard, error) {
	var d Dashboard
	now = now.UTC()
	nowMin := now.Truncate(time.Minute)
	p := pending(s.agg.pendingFor(site))
	var hourViews, hourEvents uint64
	err := s.db.View(func(txn *badger.Txn) error {
		err := minuteCounts(txn, p, site, nowMin.Add(-59*time.Minute), nowMin, func(t time.Time, c []uint64) {
			hourViews += c[mViews] + c[mBotViews]
			hourEvents += c[mEvents]
			if !t.Before(nowMin.Add(-4 * time.Minute)) {
				d.Now.ActiveVisitors += int(c[mLastClean])
				d.Now.EstimatedBots += int(c[mLastBot])
				d.Now.Pageviews += int(c[mViews])
				d.Now.VerifiedVisits += int(c[mVerified])
			}
			label := t.Format("15:04")
			if c[mVisitors] > 0 {
				d.Hourly.Visitors = append(d.Hourly.Visitors, MinuteCount{label, c[mVisitors]})
			}
			if c[mEvents] > 0 {
				d.Hourly.Events = append(d.Hourly.Events, MinuteCount{label, c[mEvents]})
			}
		})
		return err
	})
	if err == nil {
		d.RecentVisitors, err = s.recentVisitors(site, now, hourViews <= smallHour)
	}
	if err == nil {
		d.RecentEvents, err = s.recentEvents(site, now, hourEvents <= smallHour)
	}
	if err != nil {
		return d, fmt.Errorf("dashboard of %s: %w", site, err)
	}
	if err := s.dailyHours(p, site, now, &d); err != nil {
		return d, err
	}
	return d, nil
}

// minuteCounts calls fn for the minute counters of site from the minute of
// from to the minute of to, in time order.
func minuteCounts(txn *badger.Txn, p pending, site string, from, to time.Time, fn func(t time.Time, c []uint64)) error {
	it := counterIter(txn, site)
	defer it.Close()
	type minute struct {
		t time.Time
		c []uint64
	}
	var out []minute
	for day := DayOf(from); day <= DayOf(to); day++ {
		first, last := 0, 1439
		if day == DayOf(from) {
			first = minuteOf(from.UnixMilli())
		}
		if day == DayOf(to) {
			last = minuteOf(to.UnixMilli())
		}
		err := scanDim(it, p, site, day, dimMinute, nil, func(a, _ string, c []uint64) {
			if len(a) != 2 {
				return
			}
			if m := int(a[0])<<8 | int(a[1]); m >= first && m <= last {
				out = append(out, minute{day.Time().Add(time.Duration(m) * time.Minute), slices.Clone(c)})
			}
		})
		if err != nil {
			return err
		}
	}
	slices.SortFunc(out, func(x, y minute) int { return x.t.Compare(y.t) })
	for _, m := range out {
		fn(m.t, m.c)
	}
	return nil
}

const (
	recentLimit = 20
	// smallHour is the most rows an hour may have for the recent lists to
	// read it in one scan; busier hours are read a minute first.
	smallHour = 200
)

// newestFirst calls scan over growing windows back from now (1, 5, 15
// and 60 minutes, or the whole hour at once when whole) until done reports
// true, so finding the newest rows of a busy site reads about a minute of
// rows, not the hour. It goes through the public reads only, whatever the
// row layout.
func newestFirst(now time.Time, whole bool, scan func(from, to time.Time) error, done func() bool) error {
	to := now.Add(time.Millisecond)
	windows := []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour}
	if whole {
		windows = windows[3:]
	}
	for _, back := range windows {
		from := now.Add(-back)
		if err := scan(from, to); err != nil || done() {
			return err
		}
		to = from
	}
	return nil
}

// recentVisitors is the dashboard's list: the 20 visitors with the latest
// clean views of the last hour, each with its view count and the maximum
// of each field over its clean views of that hour. A quiet hour (whole) is
// read once; on a busy one the newest minute usually names the 20, and
// their counts come from their own histories, so the cost follows the 20
// visitors, not the site.
func (s *Store) recentVisitors(site string, now time.Time, whole bool) ([]RecentVisitor, error) {
	var order []string
	byID := map[string]*RecentVisitor{}
	hourAgo := now.Add(-time.Hour)
	add := func(r *RecentVisitor, v *View) {
		r.ViewCount++
		if v.CreatedAt.After(r.CreatedAt) {
			r.CreatedAt = v.CreatedAt
		}
		r.DeviceType = max(r.DeviceType, v.DeviceType)
		r.OSName = max(r.OSName, v.OSName)
		r.Browser = max(r.Browser, v.BrowserName)
		r.CountryCode = max(r.CountryCode, v.CountryCode)
	}
	err := newestFirst(now, whole, func(from, to time.Time) error {
		var window []*View
		err := s.Views(site, from, to, func(v *View) bool {
			if v.BotScore >= 0 && v.BotScore < 50 {
				c := *v
				window = append(window, &c)
			}
			return true
		})
		for i := len(window) - 1; i >= 0; i-- {
			v := window[i]
			r := byID[v.VisitorID]
			if r == nil {
				r = &RecentVisitor{VisitorID: v.VisitorID}
				byID[v.VisitorID] = r
				order = append(order, v.VisitorID)
			}
			if whole {
				add(r, v)
			}
		}
		return err
	}, func() bool { return len(order) >= recentLimit })
	if err != nil {
		return nil, err
	}
	order = order[:min(recentLimit, len(order))]
	out := make([]RecentVisitor, 0, len(order))
	for _, vid := range order {
		r := byID[vid]
		if !whole {
			*r = RecentVisitor{VisitorID: vid}
			ids, err := s.visitorIDsSince(vid, site, hourAgo, now)
			if err != nil {
				return nil, err
			}
			for _, id := range ids {
				v, ok, err := s.ViewByID(id)
				if err != nil {
					return nil, err
				}
				if ok && v.SiteID == site && v.BotScore >= 0 && v.BotScore < 50 {
					add(r, &v)
				}
			}
		}
		out = append(out, *r)
	}
	return out, nil
}

// visitorIDsSince lists the ids of visitor's views on site in [from, to]
// from the visitor index (keys.go): a seek to from, not the whole history.
func (s *Store) visitorIDsSince(visitor, site string, from, to time.Time) ([]uint64, error) {
	if err := s.syncIndexes(); err != nil {
		return nil, err
	}
	var ids []uint64
	lo, hi := idFloor(ceilMilli(from)), idFloor(ceilMilli(to.Add(time.Millisecond)))
	err := s.db.View(func(txn *badger.Txn) error {
		entries, err := visitorEntries(txn, tableVisitorViews, visitor, site, lo, hi)
		for _, e := range entries {
			ids = append(ids, e.id)
		}
		return err
	})
	return ids, err
}

// recentEvents is the newest 20 clean events of the last hour.
func (s *Store) recentEvents(site string, now time.Time, whole bool) ([]RecentEvent, error) {
	var out []RecentEvent
	err := newestFirst(now, whole, func(from, to time.Time) error {
		var window []RecentEvent
		err := s.Events(site, from, to, func(e *Event) bool {
			if e.BotScore >= 0 && e.BotScore < 50 {
				window = append(window, RecentEvent{e.EventType, site, e.VisitorID, e.CreatedAt})
			}
			return true
		})
		for i := len(window) - 1; i >= 0 && len(out) < recentLimit; i-- {
			out = append(out, window[i])
		}
		return err
	}, func() bool { return len(out) >= recentLimit })
	return out, err
}

// dailyHours fills the dashboard's last-24-hours buckets from the hourly
// counters of yesterday and today.
func (s *Store) dailyHours(p pending, site string, now time.Time, d *Dashboard) error {
	today := DayOf(now)
	first := hourOf(now.UnixMilli()) + 1
	return s.db.View(func(txn *badger.Txn) error {
		hours := make([]uint64, hoursFields)
		for _, day := range []Day{today - 1, today} {
			if err := dayCounts(txn, p, site, day, dimHours, hours); err != nil {
				return err
			}
			start, end := 0, hourOf(now.UnixMilli())+1
			if day != today {
				start, end = first, 24
			}
			for h := start; h < end; h++ {
				label := fmt.Sprintf("%02d:00", h)
				slot := hours[h*hourFields:]
				if slot[hVisitors] > 0 {
					d.Daily.Visitors = append(d.Daily.Visitors, HourCount{label, slot[hVisitors]})
				}
				if slot[hEvents] > 0 {
					d.Daily.Events = append(d.Daily.Events, HourCount{label, slot[hEvents]})
				}
			}
		}
		return nil
	})
}

// Realtime is a site's last 5 minutes of clean views.
type Realtime struct {
	SiteID         string
	ActiveVisitors int
	Pageviews      int
	ActivePaths    []PathViews
}

// PathViews is a path and its views.
type PathViews struct {
	Path  string
	Views uint64
}

// Realtime answers /api/stats/realtime: the last 5 minutes of clean views.
func (s *Store) Realtime(site string, now time.Time) (Realtime, error) {
	r := Realtime{SiteID: site}
	visitors := map[string]bool{}
	paths := map[string]uint64{}
	err := s.Views(site, now.Add(-5*time.Minute), now.Add(time.Millisecond), func(v *View) bool {
		if v.BotScore >= 0 && v.BotScore < 50 {
			visitors[v.VisitorID] = true
			paths[v.Path]++
			r.Pageviews++
		}
		return true
	})
	if err != nil {
		return r, err
	}
	r.ActiveVisitors = len(visitors)
	for p, n := range paths {
		r.ActivePaths = append(r.ActivePaths, PathViews{p, n})
	}
	sortByCount(r.ActivePaths, func(p PathViews) uint64 { return p.Views }, func(p PathViews) string { return p.Path })
	r.ActivePaths = r.ActivePaths[:min(10, len(r.ActivePaths))]
	return r, nil
}
