package sqliteimport

import (
	"context"
	"time"

	"github.com/echelon-analytics/caddy-echelon/handlers"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// The raw rows: views and events, stored at their own times by the calls
// /api/ingest uses (storage.IngestViews, storage.IngestEvents), and the
// daily rollups.

func flag(v any) bool { return integer(v) != 0 }

func score(v any) int { return int(max(-1, min(100, integer(v)))) }

// batcher stores rows batchSize at a time with put, each with the id that
// makes a rerun skip it, and counts what put stored and found present.
type batcher[T any] struct {
	rows []T
	ids  []string
	c    *Count
	put  func(rows []T, ids []string, keep time.Duration) (accepted, duplicate int, err error)
}

func (b *batcher[T]) add(row T, id string) error {
	b.rows, b.ids = append(b.rows, row), append(b.ids, id)
	if len(b.rows) >= batchSize {
		return b.flush()
	}
	return nil
}

func (b *batcher[T]) flush() error {
	if len(b.rows) == 0 {
		return nil
	}
	n, dup, err := b.put(b.rows, b.ids, Keep)
	b.c.Imported += n
	b.c.Present += dup
	b.rows, b.ids = b.rows[:0], b.ids[:0]
	return err
}

func (im *importer) views(ctx context.Context) error {
	b := &batcher[storage.View]{c: im.rep.count("visitor_views"), put: im.st.IngestViews}
	err := im.src.each(ctx, "visitor_views", "id", func(r []any) error {
		at, why := im.rowTime(r[24])
		site, visitor := text(r[3], 64), text(r[1], 128)
		switch {
		case why != "":
			im.rep.skip("visitor_views", why)
			return nil
		case !storage.ValidSiteID(site):
			im.rep.skip("visitor_views", "site_id is not a valid site id")
			return nil
		case visitor == "":
			im.rep.skip("visitor_views", "no visitor_id")
			return nil
		}
		v := storage.View{
			CreatedAt: at, VisitorID: visitor, Path: text(r[2], 2048), SiteID: site,
			SessionID: text(r[4], 128), InteractionMS: max(0, integer(r[5])),
			ScreenWidth: int(max(0, min(1e6, integer(r[6])))), ScreenHeight: int(max(0, min(1e6, integer(r[7])))),
			DeviceType: text(r[8], 32), OSName: text(r[9], 128), BrowserName: text(r[10], 128), BrowserVersion: text(r[11], 128),
			CountryCode: text(r[12], 8), IsReturning: flag(r[13]), Referrer: text(r[14], 2048), ReferrerType: text(r[15], 32),
			BotScore: score(r[16]), BotScoreDetail: jsonObject(r[17], 4096), IsPWA: flag(r[18]),
			UTMSource: text(r[19], 256), UTMMedium: text(r[20], 256), UTMCampaign: text(r[21], 256),
			UTMContent: text(r[22], 256), UTMTerm: text(r[23], 256),
		}
		sd := siteDay{site, storage.DayOf(at)}
		im.days[sd] = true
		if v.BotScore >= 0 && v.BotScore < 50 {
			im.rawDays[sd] = true
		}
		return b.add(v, rowID("views", text(r[0], 32), at.Format(time.RFC3339Nano), site, visitor, v.Path))
	})
	if err != nil {
		return err
	}
	return b.flush()
}

func (im *importer) events(ctx context.Context) error {
	b := &batcher[storage.Event]{c: im.rep.count("semantic_events"), put: im.st.IngestEvents}
	err := im.src.each(ctx, "semantic_events", "id", func(r []any) error {
		at, why := im.rowTime(r[17])
		site, typ := text(r[2], 64), text(r[1], 64)
		switch {
		case why != "":
			im.rep.skip("semantic_events", why)
			return nil
		case !storage.ValidSiteID(site):
			im.rep.skip("semantic_events", "site_id is not a valid site id")
			return nil
		case !handlers.ValidEventType(typ):
			im.rep.skip("semantic_events", "event_type is not a valid event type")
			return nil
		}
		e := storage.Event{
			CreatedAt: at, EventType: typ, SiteID: site,
			SessionID: text(r[3], 128), VisitorID: text(r[4], 128), Data: jsonObject(r[5], 16<<10),
			ExperimentID: text(r[6], 128), VariantID: text(r[7], 128), UTMCampaign: text(r[8], 256),
			DeviceType: text(r[9], 32), Referrer: text(r[10], 2048),
			Hour: inRange(r[11], 0, 23, at.Hour()), Month: inRange(r[12], 1, 12, int(at.Month())),
			DayOfWeek:   inRange(r[13], 0, 6, int(at.Weekday())),
			IsReturning: flag(r[14]), BotScore: score(r[15]), BotScoreDetail: jsonObject(r[16], 4096),
		}
		im.days[siteDay{site, storage.DayOf(at)}] = true
		return b.add(e, rowID("events", text(r[0], 32), at.Format(time.RFC3339Nano), site, typ, e.SessionID, e.VisitorID))
	})
	if err != nil {
		return err
	}
	return b.flush()
}

// inRange is v if it is a number in [lo, hi], else def.
func inRange(v any, lo, hi, def int) int {
	if v == nil {
		return def
	}
	if n := integer(v); n >= int64(lo) && n <= int64(hi) {
		return int(n)
	}
	return def
}

// rollups imports the daily rollups of the days the file has no clean
// views of (their raw rows were purged), then re-derives every finished
// day that got rows, so the visitors excluded in the file are left out of
// finished days as the original's rollup left them out.
func (im *importer) rollups(ctx context.Context) error {
	today := storage.DayOf(im.now)
	var out []storage.DayRollup
	byDay := map[siteDay]int{} // index in out
	c := im.rep.count("visitor_views_daily")
	err := im.src.each(ctx, "visitor_views_daily", "site_id, date", func(r []any) error {
		site := text(r[0], 64)
		t, err := parseTime(r[1])
		switch {
		case !storage.ValidSiteID(site):
			im.rep.skip("visitor_views_daily", "site_id is not a valid site id")
			return nil
		case err != nil || t.Before(oldest) || t.After(im.now):
			im.rep.skip("visitor_views_daily", "date is not a past date since 2024")
			return nil
		}
		sd := siteDay{site, storage.DayOf(t)}
		if im.rawDays[sd] {
			c.Present++ // the day's views are imported
			return nil
		}
		g := storage.RollupGroup{
			DeviceType: unknown(text(r[2], 32)), CountryCode: unknown(text(r[3], 8)), Returning: flag(r[4]),
			Visits: uint64(max(0, integer(r[5]))), Visitors: uint64(max(0, integer(r[6]))),
			AvgInteractionMS: uint64(max(0, integer(r[7]))),
		}
		i, ok := byDay[sd]
		if !ok {
			i = len(out)
			byDay[sd] = i
			out = append(out, storage.DayRollup{SiteID: site, Day: sd.day})
		}
		out[i].Groups = append(out[i].Groups, g)
		c.Imported++
		return nil
	})
	if err != nil && err != errNoTable {
		return err
	}
	for sd := range im.days {
		if _, ok := byDay[sd]; !ok && sd.day < today {
			out = append(out, storage.DayRollup{SiteID: sd.site, Day: sd.day})
		}
	}
	return im.st.ImportRollups(ctx, out)
}

// unknown maps the original's "unknown" device or country to the store's
// empty value.
func unknown(s string) string {
	if s == "unknown" {
		return ""
	}
	return s
}
