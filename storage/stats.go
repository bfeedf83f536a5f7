package storage

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// The stats queries (docs/api.md, Statistics). Everything older than the
// last hour comes from counters; the last hour (dashboard, realtime) from
// raw rows. Clean means bot_score 0–49.

// TimeLayout is how the API writes times: UTC ISO-8601 with milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Overview is a site's clean visits over a period and their breakdowns.
type Overview struct {
	SiteID     string
	PeriodDays int
	Visits     uint64
	// VerifiedVisits are the visits that carried a valid proof of work.
	VerifiedVisits   uint64
	UniqueVisitors   uint64
	AvgInteractionMS uint64
	TopPaths         []PathStat
	Devices          []DeviceStat
	Countries        []CountryStat
	Referrers        []ReferrerStat
	OSSystems        []OSStat
	Browsers         []BrowserStat
	Resolutions      []ResStat
	DailyTrend       []TrendStat
}

type (
	PathStat struct {
		Path     string
		Views    uint64
		Visitors uint64
	}
	DeviceStat struct {
		DeviceType string
		Visits     uint64
	}
	CountryStat struct {
		CountryCode string
		Visits      uint64
		Visitors    uint64
	}
	ReferrerStat struct {
		ReferrerType string
		Views        uint64
	}
	OSStat struct {
		OSName string
		Views  uint64
	}
	BrowserStat struct {
		Browser string
		Views   uint64
	}
	ResStat struct {
		Resolution string
		Views      uint64
	}
	TrendStat struct {
		Date     string
		Visits   uint64
		Visitors uint64
	}
)

// NoReferrerType is the referrer_type of a view without a listed
// referrer, the name of scoring.ReferrerUnknown; the overview shows a view
// stored without any type under it too.
const NoReferrerType = "direct_or_unknown"

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Overview answers /api/stats/overview for the days [today−days, today],
// all from counters, so there is no gap between midnight and the daily
// maintenance. Lists of paths, referrers, OS, browsers and resolutions
// cover the last min(days, 7) days.
func (s *Store) Overview(site string, days int, now time.Time) (Overview, error) {
	today := DayOf(now)
	from, recent := today-Day(days), today-Day(min(days, 7))
	o := Overview{SiteID: site, PeriodDays: days}
	p := pending(s.agg.pendingFor(site))
	err := s.db.View(func(txn *badger.Txn) error {
		it := counterIter(txn, site)
		defer it.Close()
		tot := make([]uint64, totalFields)
		var interSum, interN uint64
		for d := from; d <= today; d++ {
			if err := dayCounts(txn, p, site, d, dimTotal, tot); err != nil {
				return err
			}
			o.Visits += tot[tViews]
			o.VerifiedVisits += tot[tVerified]
			o.UniqueVisitors += tot[tVisitors]
			interSum += tot[tInterSum]
			interN += tot[tInterN]
			if tot[tViews] > 0 {
				o.DailyTrend = append(o.DailyTrend, TrendStat{Date: d.String(), Visits: tot[tViews], Visitors: tot[tVisitors]})
			}
		}
		if interN > 0 {
			o.AvgInteractionMS = interSum / interN
		}
		list := func(dim byte, since Day, limit int, add func(Tally)) error {
			m, err := tallyDays(it, p, site, since, today, dim, nil)
			if err != nil {
				return err
			}
			for _, t := range ranked(m, limit) {
				add(t)
			}
			return nil
		}
		return joinErr(
			list(dimDevice, from, 0, func(t Tally) {
				o.Devices = append(o.Devices, DeviceStat{orDefault(t.Value, "unknown"), t.Count})
			}),
			list(dimCountr, from, 11, func(t Tally) {
				if t.Value != "" && len(o.Countries) < 10 {
					o.Countries = append(o.Countries, CountryStat{t.Value, t.Count, t.Visitors})
				}
			}),
			list(dimPath, recent, 20, func(t Tally) { o.TopPaths = append(o.TopPaths, PathStat{t.Value, t.Count, t.Visitors}) }),
			list(dimRefTyp, recent, 0, func(t Tally) {
				o.Referrers = append(o.Referrers, ReferrerStat{orDefault(t.Value, NoReferrerType), t.Count})
			}),
			list(dimOS, recent, 20, func(t Tally) { o.OSSystems = append(o.OSSystems, OSStat{orDefault(t.Value, "Unknown"), t.Count}) }),
			list(dimBrowse, recent, 20, func(t Tally) { o.Browsers = append(o.Browsers, BrowserStat{orDefault(t.Value, "Unknown"), t.Count}) }),
			list(dimResol, recent, 20, func(t Tally) { o.Resolutions = append(o.Resolutions, ResStat{orDefault(t.Value, "0x0"), t.Count}) }),
		)
	})
	if err != nil {
		return Overview{}, fmt.Errorf("overview of %s: %w", site, err)
	}
	return o, nil
}

func joinErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Summary is the views and visitors of every site together over the last
// 24 hours.
type Summary struct {
	TotalViews     uint64
	HumanViews     uint64
	BotViews       uint64
	UniqueVisitors uint64
}

// Last24h sums the views of every site over the current UTC hour and the
// 23 before it (SiteSummaries).
func (s *Store) Last24h(now time.Time) (Summary, error) {
	_, sum, err := s.SiteSummaries(now)
	return sum, err
}

// TopPaths is the day's paths by views, at most limit.
func (s *Store) TopPaths(site string, day Day, limit int) ([]PathStat, error) {
	var out []PathStat
	err := s.db.View(func(txn *badger.Txn) error {
		it := counterIter(txn, site)
		defer it.Close()
		m, err := tallyDays(it, pending(s.agg.pendingFor(site)), site, day, day, dimPath, nil)
		for _, t := range ranked(m, limit) {
			out = append(out, PathStat{t.Value, t.Count, t.Visitors})
		}
		return err
	})
	return out, err
}

// sortByCount orders xs by count descending, then key ascending.
func sortByCount[T any](xs []T, count func(T) uint64, key func(T) string) {
	slices.SortFunc(xs, func(a, b T) int {
		if c := cmp.Compare(count(b), count(a)); c != 0 {
			return c
		}
		return cmp.Compare(key(a), key(b))
	})
}
