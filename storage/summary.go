package storage

import (
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// SiteSummary is one site's views and visitors of the last 24 hours.
type SiteSummary struct {
	SiteID         string
	TotalViews     uint64
	HumanViews     uint64
	BotViews       uint64
	UniqueVisitors uint64
	// HourlyViews are the clean views of each of the 24 hours, oldest
	// first; the last is the current UTC hour.
	HourlyViews []uint64
}

// SiteSummaries is every registered site's last 24 hours (the current UTC
// hour and the 23 before it, from the hourly counters), sorted by site id,
// and their sum. Unique visitors (any score) are exact: all of today's,
// plus yesterday's whose last view falls in the window (ids rotate daily,
// so the two days never share a visitor). The cost is a few point reads
// per registered site, whatever the traffic.
func (s *Store) SiteSummaries(now time.Time) ([]SiteSummary, Summary, error) {
	today := DayOf(now)
	cur := hourOf(now.UnixMilli())
	sites := slices.Clone(s.counterSites())
	slices.Sort(sites)
	out := make([]SiteSummary, 0, len(sites))
	var sum Summary
	bySite := s.agg.pendingOf(sites)
	err := s.db.View(func(txn *badger.Txn) error {
		hours := make([]uint64, hoursFields)
		tot := make([]uint64, totalFields)
		for _, site := range sites {
			ss := SiteSummary{SiteID: site, HourlyViews: make([]uint64, 0, 24)}
			p := bySite[site]
			for _, d := range []Day{today - 1, today} {
				if err := dayCounts(txn, p, site, d, dimHours, hours); err != nil {
					return err
				}
				start, end := cur+1, 24 // yesterday's hours still in the window
				if d == today {
					start, end = 0, cur+1
				}
				for h := start; h < end; h++ {
					slot := hours[h*hourFields:]
					ss.HumanViews += slot[hViews]
					ss.BotViews += slot[hBotViews]
					ss.HourlyViews = append(ss.HourlyViews, slot[hViews])
					if d != today {
						ss.UniqueVisitors += slot[hAnyLast]
					}
				}
			}
			if err := dayCounts(txn, p, site, today, dimTotal, tot); err != nil {
				return err
			}
			ss.UniqueVisitors += tot[tAnyVisitors]
			ss.TotalViews = ss.HumanViews + ss.BotViews
			sum.HumanViews += ss.HumanViews
			sum.BotViews += ss.BotViews
			sum.UniqueVisitors += ss.UniqueVisitors
			out = append(out, ss)
		}
		return nil
	})
	if err != nil {
		return nil, Summary{}, fmt.Errorf("summary: %w", err)
	}
	sum.TotalViews = sum.HumanViews + sum.BotViews
	return out, sum, nil
}

// Live is every site's traffic of the last minutes, for the dashboard's
// live bar.
type Live struct {
	Minutes    int
	HumanViews uint64
	BotViews   uint64
	// UniqueVisitors counts visitors (any score) whose latest view of its
	// kind (clean or bot) of the day falls in the window: every visitor
	// with a view there, one with both kinds counted twice.
	UniqueVisitors uint64
}

// MaxLiveMinutes bounds Live's window: the per-minute counters are kept
// for today and, until the daily maintenance at 03:00 UTC, yesterday.
const MaxLiveMinutes = 180

// LiveSummary sums the per-minute counters of every site over the current
// UTC minute and the minutes−1 before it (1..MaxLiveMinutes).
func (s *Store) LiveSummary(minutes int, now time.Time) (Live, error) {
	minutes = min(max(minutes, 1), MaxLiveMinutes)
	l := Live{Minutes: minutes}
	to := now.UTC().Truncate(time.Minute)
	from := to.Add(-time.Duration(minutes-1) * time.Minute)
	sites := s.counterSites()
	bySite := s.agg.pendingOf(sites)
	err := s.db.View(func(txn *badger.Txn) error {
		for _, site := range sites {
			err := minuteCounts(txn, bySite[site], site, from, to, func(_ time.Time, c []uint64) {
				l.HumanViews += c[mViews]
				l.BotViews += c[mBotViews]
				l.UniqueVisitors += c[mLastClean] + c[mLastBot]
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Live{}, fmt.Errorf("live summary: %w", err)
	}
	return l, nil
}
