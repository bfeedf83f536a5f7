package storage

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// CampaignStat is a registered campaign with its clean views and visitors.
type CampaignStat struct {
	ID          string
	Name        string
	UTMCampaign string
	SiteID      string
	Status      string
	Views       uint64
	Visitors    uint64
}

// CampaignList counts every registered campaign's clean views and visitors
// (sum of daily uniques) on its site since cutoff(days), views descending.
func (s *Store) CampaignList(days int, now time.Time) ([]CampaignStat, error) {
	all, err := s.Campaigns()
	if err != nil {
		return nil, err
	}
	today := DayOf(now)
	out := make([]CampaignStat, 0, len(all))
	pend := map[string]pending{}
	err = s.db.View(func(txn *badger.Txn) error {
		c := make([]uint64, valueFields)
		for _, cp := range all {
			st := CampaignStat{ID: cp.ID, Name: cp.Name, UTMCampaign: cp.UTMCampaign, SiteID: cp.SiteID, Status: cp.Status}
			p, ok := pend[cp.SiteID]
			if !ok {
				p = pending(s.agg.pendingFor(cp.SiteID))
				pend[cp.SiteID] = p
			}
			for d := today - Day(days); d <= today; d++ {
				if err := valueCounts(txn, p, cp.SiteID, d, dimUTMCmp, cp.UTMCampaign, c); err != nil {
					return err
				}
				st.Views += c[fCount]
				st.Visitors += c[fVisitors]
			}
			out = append(out, st)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("campaign stats: %w", err)
	}
	slices.SortStableFunc(out, func(a, b CampaignStat) int { return cmp.Compare(b.Views, a.Views) })
	return out, nil
}

// valueCounts reads one value's counter of a day.
func valueCounts(txn *badger.Txn, p pending, site string, day Day, dim byte, value string, dst []uint64) error {
	return readCounter(txn, p, append(counterPrefix(site, day, dim), value...), dst)
}

// CampaignDetail breaks a campaign's clean views down by UTM field,
// path and day.
type CampaignDetail struct {
	CampaignID string
	BySource   []SourceStat
	ByMedium   []MediumStat
	ByContent  []ContentStat
	ByTerm     []TermStat
	TopPaths   []PathStat
	DailyTrend []CampaignTrend
}

type (
	SourceStat struct {
		UTMSource string
		Views     uint64
		Visitors  uint64
	}
	MediumStat struct {
		UTMMedium string
		Views     uint64
		Visitors  uint64
	}
	ContentStat struct {
		UTMContent string
		Views      uint64
	}
	TermStat struct {
		UTMTerm string
		Views   uint64
	}
	CampaignTrend struct {
		Date     string
		Views    uint64
		Visitors uint64
	}
)

// Detail breaks a campaign's clean views since cutoff(days) down by
// source ("direct" when missing), medium, content, term ("none"), path and
// day; top 20 each, trend ascending.
func (s *Store) Detail(c Campaign, days int, now time.Time) (CampaignDetail, error) {
	today := DayOf(now)
	from := today - Day(days)
	d := CampaignDetail{CampaignID: c.ID}
	p := pending(s.agg.pendingFor(c.SiteID))
	err := s.db.View(func(txn *badger.Txn) error {
		it := counterIter(txn, c.SiteID)
		defer it.Close()
		list := func(dim byte, add func(Tally)) error {
			m, err := tallyDays(it, p, c.SiteID, from, today, dim, &c.UTMCampaign)
			if err != nil {
				return err
			}
			for _, t := range ranked(m, 20) {
				add(t)
			}
			return nil
		}
		err := joinErr(
			list(dimCmpSrc, func(t Tally) {
				d.BySource = append(d.BySource, SourceStat{orDefault(t.Sub, "direct"), t.Count, t.Visitors})
			}),
			list(dimCmpMed, func(t Tally) {
				d.ByMedium = append(d.ByMedium, MediumStat{orDefault(t.Sub, "none"), t.Count, t.Visitors})
			}),
			list(dimCmpCon, func(t Tally) { d.ByContent = append(d.ByContent, ContentStat{orDefault(t.Sub, "none"), t.Count}) }),
			list(dimCmpTrm, func(t Tally) { d.ByTerm = append(d.ByTerm, TermStat{orDefault(t.Sub, "none"), t.Count}) }),
			list(dimCmpPth, func(t Tally) { d.TopPaths = append(d.TopPaths, PathStat{t.Sub, t.Count, t.Visitors}) }),
		)
		if err != nil {
			return err
		}
		cnt := make([]uint64, valueFields)
		for day := from; day <= today; day++ {
			if err := valueCounts(txn, p, c.SiteID, day, dimUTMCmp, c.UTMCampaign, cnt); err != nil {
				return err
			}
			if cnt[fCount] > 0 {
				d.DailyTrend = append(d.DailyTrend, CampaignTrend{day.String(), cnt[fCount], cnt[fVisitors]})
			}
		}
		return nil
	})
	if err != nil {
		return d, fmt.Errorf("campaign %s: %w", c.ID, err)
	}
	return d, nil
}

// CampaignEventStat is how the visitors of one campaign (or of none)
// triggered events.
type CampaignEventStat struct {
	// UTMCampaign is "" for the visitors of no campaign; CampaignID and
	// CampaignName are "" unless the value is a registered campaign.
	CampaignID       string
	CampaignName     string
	UTMCampaign      string
	Visitors         uint64
	EventVisitors    uint64
	Events           uint64
	EventRate        float64
	EventsPerVisitor float64
	EventTypes       []EventTypeCount
}

// EventTypeCount is an event type with its events and visitors.
type EventTypeCount struct {
	EventType      string
	Count          uint64
	UniqueVisitors uint64
}

// CampaignEvents is one row per utm_campaign value of site's clean views
// since cutoff(days) ("" = organic, null in JSON): visitors, and the clean
// events of the same campaign (only eventType if set). Top 50 by visitors;
// event_types are each campaign's top 10 types, whatever eventType.
func (s *Store) CampaignEvents(site string, days int, eventType string, now time.Time) ([]CampaignEventStat, error) {
	today := DayOf(now)
	from := today - Day(days)
	all, err := s.Campaigns()
	if err != nil {
		return nil, err
	}
	reg := map[string]Campaign{}
	for _, c := range all {
		if c.SiteID == site {
			reg[c.UTMCampaign] = c
		}
	}
	p := pending(s.agg.pendingFor(site))
	var out []CampaignEventStat
	err = s.db.View(func(txn *badger.Txn) error {
		it := counterIter(txn, site)
		defer it.Close()
		viewers, err := tallyDays(it, p, site, from, today, dimUTMCmp, nil)
		if err != nil {
			return err
		}
		evTotals, err := tallyDays(it, p, site, from, today, dimCmpEvs, nil)
		if err != nil {
			return err
		}
		byType, err := tallyDays(it, p, site, from, today, dimCmpEvT, nil)
		if err != nil {
			return err
		}
		types := map[string][]EventTypeCount{}
		for _, t := range ranked(byType, 500) {
			if len(types[t.Value]) < 10 {
				types[t.Value] = append(types[t.Value], EventTypeCount{t.Sub, t.Count, t.Visitors})
			}
		}
		rows := ranked(viewers, 0)
		slices.SortStableFunc(rows, func(a, b Tally) int { return cmp.Compare(b.Visitors, a.Visitors) })
		for _, v := range rows[:min(50, len(rows))] {
			r := CampaignEventStat{Visitors: v.Visitors, EventTypes: types[v.Value]}
			if v.Value != "" {
				r.UTMCampaign = v.Value
				if c, ok := reg[v.Value]; ok {
					r.CampaignID, r.CampaignName = c.ID, c.Name
				}
			}
			var ev *Tally
			if eventType == "" {
				ev = evTotals[[2]string{v.Value, ""}]
			} else {
				ev = byType[[2]string{v.Value, eventType}]
			}
			if ev != nil {
				r.Events, r.EventVisitors = ev.Count, ev.Visitors
			}
			if r.Visitors > 0 {
				r.EventRate = float64(r.EventVisitors) / float64(r.Visitors)
				r.EventsPerVisitor = float64(r.Events) / float64(r.Visitors)
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("campaign events of %s: %w", site, err)
	}
	return out, nil
}
