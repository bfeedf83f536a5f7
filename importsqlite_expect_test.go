package echelon

import (
	"cmp"
	"database/sql"
	"slices"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// expectedOverview computes /api/stats/overview of site straight from the
// original's rows: a day with clean views counts them (finished days
// without the excluded visitors, as the daily rollup leaves them out; the
// interaction mean weighs every view), a day without counts its rollup
// (distinct visitors: the largest group's; the interaction mean weighs
// each group by its visits). Paths, referrers and the like come from raw
// views of the last min(days, 7) days.
func expectedOverview(t *testing.T, path, site string, days int, now time.Time) storage.Overview {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	query := func(q string, args []any, fn func(r *sql.Rows) error) {
		t.Helper()
		rows, err := db.Query(q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := fn(rows); err != nil {
				t.Fatal(err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	today := storage.DayOf(now)
	from, recent := today-storage.Day(days), today-storage.Day(min(days, 7))
	o := storage.Overview{SiteID: site, PeriodDays: days}
	// Clean raw views counted on their day; today keeps excluded visitors.
	const cleanViews = `FROM visitor_views WHERE site_id = ?1 AND bot_score BETWEEN 0 AND 49 AND substr(created_at, 1, 10) = ?2
		AND (?2 = ?3 OR visitor_id NOT IN (SELECT visitor_id FROM excluded_visitors))`
	devices, countries, paths := map[string]uint64{}, map[string][2]uint64{}, map[string][2]uint64{}
	var interSum, interN uint64
	for d := from; d <= today; d++ {
		args := []any{site, d.String(), today.String()}
		var visits, visitors uint64
		raw := false
		query(`SELECT count(*), count(DISTINCT visitor_id), COALESCE(sum(CASE WHEN interaction_ms > 0 THEN interaction_ms END), 0),
			sum(interaction_ms > 0) `+cleanViews, args, func(r *sql.Rows) error {
			var sum, n sql.NullInt64
			if err := r.Scan(&visits, &visitors, &sum, &n); err != nil {
				return err
			}
			raw = visits > 0
			interSum += uint64(sum.Int64)
			interN += uint64(n.Int64)
			return nil
		})
		if raw {
			query(`SELECT COALESCE(device_type, ''), count(*) `+cleanViews+` GROUP BY 1`, args, func(r *sql.Rows) error {
				var dev string
				var n uint64
				err := r.Scan(&dev, &n)
				devices[dev] += n
				return err
			})
			query(`SELECT COALESCE(country_code, ''), count(*), count(DISTINCT visitor_id) `+cleanViews+` GROUP BY 1`, args, func(r *sql.Rows) error {
				var cc string
				var n, u uint64
				err := r.Scan(&cc, &n, &u)
				countries[cc] = [2]uint64{countries[cc][0] + n, countries[cc][1] + u}
				return err
			})
			if d >= recent {
				query(`SELECT path, count(*), count(DISTINCT visitor_id) `+cleanViews+` GROUP BY 1`, args, func(r *sql.Rows) error {
					var p string
					var n, u uint64
					err := r.Scan(&p, &n, &u)
					paths[p] = [2]uint64{paths[p][0] + n, paths[p][1] + u}
					return err
				})
			}
		} else {
			query(`SELECT device_type, country_code, visits, unique_visitors, avg_interaction_ms FROM visitor_views_daily
				WHERE site_id = ? AND date = ?`, args[:2], func(r *sql.Rows) error {
				var dev, cc string
				var n, u, avg uint64
				if err := r.Scan(&dev, &cc, &n, &u, &avg); err != nil {
					return err
				}
				dev, cc = unknownToEmpty(dev), unknownToEmpty(cc)
				visits += n
				visitors = max(visitors, u)
				if avg > 0 {
					interSum += avg * n
					interN += n
				}
				devices[dev] += n
				countries[cc] = [2]uint64{countries[cc][0] + n, countries[cc][1] + u}
				return nil
			})
		}
		o.Visits += visits
		o.UniqueVisitors += visitors
		if visits > 0 {
			o.DailyTrend = append(o.DailyTrend, storage.TrendStat{Date: d.String(), Visits: visits, Visitors: visitors})
		}
	}
	if interN > 0 {
		o.AvgInteractionMS = interSum / interN
	}
	for dev, n := range devices {
		o.Devices = append(o.Devices, storage.DeviceStat{DeviceType: cmp.Or(dev, "unknown"), Visits: n})
	}
	slices.SortFunc(o.Devices, func(a, b storage.DeviceStat) int {
		return cmp.Or(cmp.Compare(b.Visits, a.Visits), cmp.Compare(a.DeviceType, b.DeviceType))
	})
	for cc, n := range countries {
		if cc != "" {
			o.Countries = append(o.Countries, storage.CountryStat{CountryCode: cc, Visits: n[0], Visitors: n[1]})
		}
	}
	slices.SortFunc(o.Countries, func(a, b storage.CountryStat) int {
		return cmp.Or(cmp.Compare(b.Visits, a.Visits), cmp.Compare(b.Visitors, a.Visitors), cmp.Compare(a.CountryCode, b.CountryCode))
	})
	for p, n := range paths {
		o.TopPaths = append(o.TopPaths, storage.PathStat{Path: p, Views: n[0], Visitors: n[1]})
	}
	slices.SortFunc(o.TopPaths, func(a, b storage.PathStat) int {
		return cmp.Or(cmp.Compare(b.Views, a.Views), cmp.Compare(b.Visitors, a.Visitors), cmp.Compare(a.Path, b.Path))
	})
	o.TopPaths = o.TopPaths[:min(20, len(o.TopPaths))]
	return o
}

func unknownToEmpty(s string) string {
	if s == "unknown" {
		return ""
	}
	return s
}
