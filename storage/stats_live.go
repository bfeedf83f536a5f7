package storage

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Dashboard is GET /api/stats/dashboard.
type Dashboard struct {
	Now struct {
		ActiveVisitors int `json:"activeVisitors"`
		EstimatedBots  int `json:"estimatedBots"`
		Pageviews      int `json:"pageviews"`
	} `json:"now"`
	Hourly struct {
		Visitors []MinuteCount `json:"visitors"`
		Events   []MinuteCount `json:"events"`
	} `json:"hourly"`
	Daily struct {
		Visitors []HourCount `json:"visitors"`
		Events   []HourCount `json:"events"`
	} `json:"daily"`
	RecentVisitors []RecentVisitor `json:"recentVisitors"`
	RecentEvents   []RecentEvent   `json:"recentEvents"`
}

type (
	MinuteCount struct {
		Minute string `json:"minute"`
		Count  uint64 `json:"count"`
	}
	HourCount struct {
		Hour  string `json:"hour"`
		Count uint64 `json:"count"`
	}
	RecentVisitor struct {
		VisitorID   string  `json:"visitor_id"`
		DeviceType  *string `json:"device_type"`
		OSName      *string `json:"os_name"`
		Browser     *string `json:"browser"`
		CountryCode *string `json:"country_code"`
		CreatedAt   string  `json:"created_at"`
		ViewCount   int     `json:"view_count"`
	}
	RecentEvent struct {
		EventType string  `json:"event_type"`
		SiteID    string  `json:"site_id"`
		VisitorID *string `json:"visitor_id"`
		CreatedAt string  `json:"created_at"`
	}
)

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Dashboard answers /api/stats/dashboard, clean records only, from
// counters: now = the current UTC minute and the 4 before it, hourly = the
// last 60 minutes per minute, daily = the current UTC hour and the 23
// before it per hour. recentVisitors and recentEvents read the newest raw
// rows and stop after 20 (visitors' view counts come from the visitor
// index), so no query here grows with the site's traffic. Buckets are in
// time order; empty ones are left out.
func (s *Store) Dashboard(site string, now time.Time) (Dashboard, error) {
	var d Dashboard
	now = now.UTC()
	nowMin := now.Truncate(time.Minute)
	p := pending(s.agg.pendingFor(site))
	err := s.db.View(func(txn *badger.Txn) error {
		err := minuteCounts(txn, p, site, nowMin.Add(-59*time.Minute), nowMin, func(t time.Time, c []uint64) {
			if !t.Before(nowMin.Add(-4 * time.Minute)) {
				d.Now.ActiveVisitors += int(c[mLastClean])
				d.Now.EstimatedBots += int(c[mLastBot])
				d.Now.Pageviews += int(c[mViews])
			}
			label := t.Format("15:04")
			if c[mVisitors] > 0 {
				d.Hourly.Visitors = append(d.Hourly.Visitors, MinuteCount{label, c[mVisitors]})
			}
			if c[mEvents] > 0 {
				d.Hourly.Events = append(d.Hourly.Events, MinuteCount{label, c[mEvents]})
			}
		})
		if err != nil {
			return err
		}
		if d.RecentVisitors, err = recentVisitors(txn, site, now); err != nil {
			return err
		}
		d.RecentEvents, err = recentEvents(txn, site, now)
		return err
	})
	if err != nil {
		return d, fmt.Errorf("dashboard of %s: %w", site, err)
	}
	if err := s.dailyHours(p, site, now, &d); err != nil {
		return d, err
	}
	nonNil(&d.Hourly.Visitors, &d.Hourly.Events)
	nonNil(&d.Daily.Visitors, &d.Daily.Events)
	nonNil(&d.RecentVisitors)
	nonNil(&d.RecentEvents)
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

// scanRowsReverse walks the primary rows of one site in [from, to), newest
// first.
func scanRowsReverse(txn *badger.Txn, table byte, site string, from, to time.Time,
	fn func(id uint64, val []byte) (bool, error)) error {
	prefix := sitePrefix(table, site)
	lower := rowKey(table, site, idFloor(ceilMilli(from)))
	it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: prefix})
	defer it.Close()
	for it.Seek(rowKey(table, site, idFloor(ceilMilli(to))-1)); it.Valid(); it.Next() {
		item := it.Item()
		key := item.Key()
		if bytes.Compare(key, lower) < 0 {
			return nil
		}
		if len(key) != len(prefix)+8 {
			return fmt.Errorf("%w: %x", errBadKey, key)
		}
		var more bool
		err := item.Value(func(val []byte) (err error) {
			more, err = fn(keyID(key), val)
			return err
		})
		if err != nil || !more {
			return err
		}
	}
	return nil
}

const recentLimit = 20

// recentVisitors is the dashboard's list: the 20 visitors with the latest
// clean views of the last hour, each with its view count and the maximum
// of each field over its clean views of that hour.
func recentVisitors(txn *badger.Txn, site string, now time.Time) ([]RecentVisitor, error) {
	from, to := now.Add(-time.Hour), now.Add(time.Millisecond)
	var order []string
	seen := map[string]bool{}
	err := scanRowsReverse(txn, tableViews, site, from, to, func(id uint64, val []byte) (bool, error) {
		v := View{ID: id, CreatedAt: idTime(id), SiteID: site}
		if err := DecodeView(val, &v); err != nil {
			return false, err
		}
		if v.BotScore >= 0 && v.BotScore < 50 && !seen[v.VisitorID] {
			seen[v.VisitorID] = true
			order = append(order, v.VisitorID)
		}
		return len(order) < recentLimit, nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]RecentVisitor, 0, len(order))
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tableVisitorViews}})
	defer it.Close()
	lo, hi := idFloor(ceilMilli(from)), idFloor(ceilMilli(to))
	for _, vid := range order {
		r := RecentVisitor{VisitorID: vid}
		prefix := visitorPrefix(tableVisitorViews, vid)
		for it.Seek(appendVisitorKey(nil, tableVisitorViews, vid, lo)); it.ValidForPrefix(prefix); it.Next() {
			id := keyID(it.Item().Key())
			if id >= hi {
				break
			}
			var rowSite []byte
			if rowSite, err = it.Item().ValueCopy(nil); err != nil {
				return nil, err
			}
			if string(rowSite) != site {
				continue
			}
			item, err := txn.Get(rowKey(tableViews, site, id))
			if err != nil {
				continue // deleted meanwhile
			}
			v := View{ID: id, CreatedAt: idTime(id), SiteID: site}
			if err := item.Value(func(val []byte) error { return DecodeView(val, &v) }); err != nil {
				return nil, err
			}
			if v.BotScore < 0 || v.BotScore >= 50 {
				continue
			}
			r.ViewCount++
			r.CreatedAt = max(r.CreatedAt, v.CreatedAt.Format(TimeLayout))
			maxField(&r.DeviceType, v.DeviceType)
			maxField(&r.OSName, v.OSName)
			maxField(&r.Browser, v.BrowserName)
			maxField(&r.CountryCode, v.CountryCode)
		}
		out = append(out, r)
	}
	return out, nil
}

// recentEvents is the newest 20 clean events of the last hour.
func recentEvents(txn *badger.Txn, site string, now time.Time) ([]RecentEvent, error) {
	var out []RecentEvent
	err := scanRowsReverse(txn, tableEvents, site, now.Add(-time.Hour), now.Add(time.Millisecond), func(id uint64, val []byte) (bool, error) {
		e := Event{ID: id, CreatedAt: idTime(id), SiteID: site}
		if err := DecodeEvent(val, &e); err != nil {
			return false, err
		}
		if e.BotScore >= 0 && e.BotScore < 50 {
			out = append(out, RecentEvent{e.EventType, site, nullable(e.VisitorID), e.CreatedAt.Format(TimeLayout)})
		}
		return len(out) < recentLimit, nil
	})
	return out, err
}

// maxField keeps the larger of *p and v, as SQL MAX over a column with
// NULLs: empty strings are NULL.
func maxField(p **string, v string) {
	if v == "" {
		return
	}
	if *p == nil || **p < v {
		*p = &v
	}
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

// Realtime is GET /api/stats/realtime.
type Realtime struct {
	SiteID         string      `json:"site_id"`
	ActiveVisitors int         `json:"active_visitors"`
	Pageviews      int         `json:"pageviews"`
	ActivePaths    []PathViews `json:"active_paths"`
}

type PathViews struct {
	Path  string `json:"path"`
	Views uint64 `json:"views"`
}

// Realtime answers /api/stats/realtime: the last 5 minutes of clean views.
func (s *Store) Realtime(site string, now time.Time) (Realtime, error) {
	r := Realtime{SiteID: site, ActivePaths: []PathViews{}}
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
