package storage

import (
	"errors"
	"hash/maphash"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// aggregator keeps the counters (agg_keys.go) up to date. Every batch of
// records the writer stores passes through it inside the same WriteBatch:
// the batch's records are merged in memory into one delta per counter,
// then each touched counter is read (from a cache of the values it wrote,
// or Badger), added to and written once. A flush therefore writes
// O(distinct counters) extra keys, not keys per view.
//
// Distinct visitors are exact per day: for each (site, day) it has seen it
// keeps every visitor's state (counted yet? which values counted?) in
// memory. State it does not have, after a restart or for an older day, is
// rebuilt by reading that day's stored rows once. Only the two newest days
// of a site are kept.
type aggregator struct {
	mu    sync.Mutex // held from reading counters to the batch's commit
	seed  maphash.Seed
	days  map[siteDay]*dayState
	cache map[string][]uint64 // counter values as last written
	delta map[ckey][]int64    // the batch being aggregated
	// touched are the days the batch has records of; their state is
	// dropped when the batch fails.
	touched map[siteDay]bool
	rows    func(site string, day Day, views func(*View), events func(*Event)) error
}

type siteDay struct {
	site string
	day  Day
}

type dayState struct {
	visitors map[string]*visitorState
}

// visitorState is what one visitor did on one site and day.
type visitorState struct {
	any, clean, evClean bool
	lastHour            int8
	lastClean, lastBot  int16 // minute of the day of the latest clean / bot view, -1 = none
	hourMask            uint32   // hours with a clean view
	seen                []uint64 // hashes of (dim, value) counted for the visitor
}

const cacheCap = 200_000

func newAggregator(rows func(string, Day, func(*View), func(*Event)) error) *aggregator {
	return &aggregator{
		seed:  maphash.MakeSeed(),
		days:  make(map[siteDay]*dayState),
		cache: make(map[string][]uint64),
		delta: make(map[ckey][]int64),
		rows:  rows,
	}
}

// batch aggregates records into wb. add is called with the aggregator's
// locked state and feeds the records; the returned done must be called with
// the outcome of the batch's commit, and releases the lock.
func (a *aggregator) batch(db *badger.DB, wb *badger.WriteBatch, add func(a *aggregator) error) (done func(ok bool), err error) {
	a.mu.Lock()
	clear(a.delta)
	touched := map[siteDay]bool{}
	fail := func() {
		for sd := range touched {
			delete(a.days, sd)
		}
		clear(a.cache)
		clear(a.delta)
		a.mu.Unlock()
	}
	a.touched = touched
	if err := add(a); err != nil {
		fail()
		return nil, err
	}
	written, err := a.writeDeltas(db, wb)
	if err != nil {
		fail()
		return nil, err
	}
	return func(ok bool) {
		if !ok {
			fail()
			return
		}
		if len(a.cache)+len(written) > cacheCap {
			clear(a.cache)
		}
		for k, v := range written {
			a.cache[k] = v
		}
		clear(a.delta)
		a.mu.Unlock()
	}, nil
}

// writeDeltas adds the batch's deltas to the stored counters and sets the
// sums in wb; it returns the new values by key for the cache.
func (a *aggregator) writeDeltas(db *badger.DB, wb *badger.WriteBatch) (map[string][]uint64, error) {
	written := make(map[string][]uint64, len(a.delta))
	err := db.View(func(txn *badger.Txn) error {
		var kb []byte
		for k, d := range a.delta {
			kb = appendCounterKey(kb[:0], &k)
			cur, ok := a.cache[string(kb)]
			if !ok {
				cur = make([]uint64, len(d))
				item, err := txn.Get(kb)
				switch {
				case err == nil:
					if err := item.Value(func(v []byte) error { return readCounts(v, cur) }); err != nil {
						return err
					}
				case !errors.Is(err, badger.ErrKeyNotFound):
					return err
				}
			}
			next := make([]uint64, len(d))
			for i := range d {
				n := int64(cur[i]) + d[i]
				if n < 0 { // only after a lost batch; maintenance re-derives the day
					n = 0
				}
				next[i] = uint64(n)
			}
			key := string(kb)
			if err := wb.Set([]byte(key), appendCounts(nil, next)); err != nil {
				return err
			}
			written[key] = next
		}
		return nil
	})
	return written, err
}

// forget drops what the aggregator holds for site's day, after the day's
// counters were rewritten from raw rows. The caller holds a.mu.
func (a *aggregator) forget(site string, day Day) {
	delete(a.days, siteDay{site, day})
	clear(a.cache)
}

// state returns the visitor states of (site, day), rebuilding them from the
// stored rows when missing, and keeps at most two days per site.
func (a *aggregator) state(site string, day Day) (*dayState, error) {
	sd := siteDay{site, day}
	a.touched[sd] = true
	if st := a.days[sd]; st != nil {
		return st, nil
	}
	st := &dayState{visitors: make(map[string]*visitorState)}
	saved := a.delta
	a.delta = nil // fold without deltas
	err := a.rows(site, day, func(v *View) { a.view(st, v) }, func(e *Event) { a.event(st, e) })
	a.delta = saved
	if err != nil {
		return nil, err
	}
	for k := range a.days {
		if k.site == site && k.day < day-1 {
			delete(a.days, k)
		}
	}
	a.days[sd] = st
	return st, nil
}

func (st *dayState) visitor(id string) *visitorState {
	if id == "" {
		return nil
	}
	vs := st.visitors[id]
	if vs == nil {
		vs = &visitorState{lastHour: -1, lastClean: -1, lastBot: -1}
		st.visitors[id] = vs
	}
	return vs
}

func (a *aggregator) bump(k ckey, field int, n int64) {
	if a.delta == nil {
		return
	}
	d := a.delta[k]
	if d == nil {
		d = make([]int64, fieldsOf(k.dim))
		a.delta[k] = d
	}
	d[field] += n
}

// count adds one to a value dimension and, for the dims that count
// visitors, one visitor the first time vs has the value that day.
func (a *aggregator) count(vs *visitorState, k ckey) {
	a.bump(k, fCount, 1)
	if uniqueDims[k.dim] && a.first(vs, k) {
		a.bump(k, fVisitors, 1)
	}
}

// first reports whether vs meets k's value for the first time that day.
func (a *aggregator) first(vs *visitorState, k ckey) bool {
	if vs == nil {
		return false
	}
	var h maphash.Hash
	h.SetSeed(a.seed)
	h.WriteByte(k.dim)
	h.WriteString(k.a)
	h.WriteByte(0xff)
	h.WriteString(k.b)
	sum := h.Sum64()
	for _, s := range vs.seen {
		if s == sum {
			return false
		}
	}
	vs.seen = append(vs.seen, sum)
	return true
}

func minuteOf(ms int64) int {
	sec := ms / 1000
	return int((sec%86400+86400)%86400) / 60
}

// minuteLast moves vs's latest-view minute (*last) to m in the minute
// counters' field f when m is later.
func (a *aggregator) minuteLast(k ckey, last *int16, m int, f int) {
	if m <= int(*last) {
		return
	}
	if *last >= 0 {
		old := k
		old.a = minuteValues[*last]
		a.bump(old, f, -1)
	}
	k.a = minuteValues[m]
	a.bump(k, f, 1)
	*last = int16(m)
}

func hourOf(ms int64) int {
	sec := ms / 1000
	return int((sec%86400+86400)%86400) / 3600
}

// view folds one stored view into st (and the batch's deltas).
func (a *aggregator) view(st *dayState, v *View) {
	site, day := v.SiteID, DayOf(v.CreatedAt)
	h := hourOf(v.CreatedAt.UnixMilli())
	total := ckey{site: site, day: day, dim: dimTotal}
	hours := ckey{site: site, day: day, dim: dimHours}
	vs := st.visitor(v.VisitorID)
	if vs != nil {
		switch {
		case !vs.any:
			vs.any, vs.lastHour = true, int8(h)
			a.bump(total, tAnyVisitors, 1)
			a.bump(hours, h*hourFields+hAnyLast, 1)
		case h > int(vs.lastHour):
			a.bump(hours, int(vs.lastHour)*hourFields+hAnyLast, -1)
			a.bump(hours, h*hourFields+hAnyLast, 1)
			vs.lastHour = int8(h)
		}
	}
	m := minuteOf(v.CreatedAt.UnixMilli())
	minute := ckey{site: site, day: day, dim: dimMinute, a: minuteValues[m]}
	if v.BotScore >= 50 {
		a.bump(total, tBotViews, 1)
		a.bump(hours, h*hourFields+hBotViews, 1)
		a.bump(minute, mBotViews, 1)
		if vs != nil {
			a.minuteLast(minute, &vs.lastBot, m, mLastBot)
		}
		return
	}
	if v.BotScore < 0 {
		return
	}
	a.bump(total, tViews, 1)
	if v.InteractionMS > 0 {
		a.bump(total, tInterSum, v.InteractionMS)
		a.bump(total, tInterN, 1)
	}
	a.bump(hours, h*hourFields+hViews, 1)
	a.bump(minute, mViews, 1)
	if vs != nil {
		a.minuteLast(minute, &vs.lastClean, m, mLastClean)
		if a.first(vs, minute) {
			a.bump(minute, mVisitors, 1)
		}
		if !vs.clean {
			vs.clean = true
			a.bump(total, tVisitors, 1)
		}
		if vs.hourMask&(1<<h) == 0 {
			vs.hourMask |= 1 << h
			a.bump(hours, h*hourFields+hVisitors, 1)
		}
	}
	k := ckey{site: site, day: day}
	dim := func(d byte, x, y string) {
		k.dim, k.a, k.b = d, x, y
		a.count(vs, k)
	}
	dim(dimPath, v.Path, "")
	dim(dimDevice, v.DeviceType, "")
	dim(dimOS, v.OSName, "")
	if v.BrowserName != "" {
		dim(dimBrowse, v.BrowserName, v.BrowserVersion)
	} else {
		dim(dimBrowse, "", "")
	}
	dim(dimCountr, v.CountryCode, "")
	dim(dimRefTyp, v.ReferrerType, "")
	dim(dimRefOrg, v.Referrer, "")
	dim(dimResol, resolution(v.ScreenWidth, v.ScreenHeight), "")
	dim(dimUTMCmp, v.UTMCampaign, "")
	if v.UTMCampaign == "" {
		return
	}
	for _, u := range [...]struct {
		site, camp byte
		val        string
	}{
		{dimUTMSrc, dimCmpSrc, v.UTMSource},
		{dimUTMMed, dimCmpMed, v.UTMMedium},
		{dimUTMCon, dimCmpCon, v.UTMContent},
		{dimUTMTrm, dimCmpTrm, v.UTMTerm},
	} {
		if u.val != "" {
			dim(u.site, u.val, "")
		}
		dim(u.camp, v.UTMCampaign, u.val)
	}
	dim(dimCmpPth, v.UTMCampaign, v.Path)
}

// event folds one stored event into st (and the batch's deltas).
func (a *aggregator) event(st *dayState, e *Event) {
	site, day := e.SiteID, DayOf(e.CreatedAt)
	total := ckey{site: site, day: day, dim: dimTotal}
	switch {
	case e.BotScore >= 50:
		a.bump(total, tBotEvents, 1)
		return
	case e.BotScore < 0:
		a.bump(total, tOtherEvents, 1)
		return
	}
	h := hourOf(e.CreatedAt.UnixMilli())
	a.bump(total, tEvents, 1)
	a.bump(ckey{site: site, day: day, dim: dimHours}, h*hourFields+hEvents, 1)
	a.bump(ckey{site: site, day: day, dim: dimMinute, a: minuteValues[minuteOf(e.CreatedAt.UnixMilli())]}, mEvents, 1)
	vs := st.visitor(e.VisitorID)
	if vs != nil && !vs.evClean {
		vs.evClean = true
		a.bump(total, tEvVisitors, 1)
	}
	a.count(vs, ckey{site: site, day: day, dim: dimEvType, a: e.EventType})
	a.count(vs, ckey{site: site, day: day, dim: dimCmpEvT, a: e.UTMCampaign, b: e.EventType})
	a.count(vs, ckey{site: site, day: day, dim: dimCmpEvs, a: e.UTMCampaign})
}

// addViews folds a batch of views, whose ids are assigned, into the deltas.
func (a *aggregator) addViews(views []View) error {
	for i := range views {
		v := &views[i]
		v.CreatedAt = idTime(v.ID)
		st, err := a.state(v.SiteID, DayOf(v.CreatedAt))
		if err != nil {
			return err
		}
		a.view(st, v)
	}
	return nil
}

// addEvents is addViews for events.
func (a *aggregator) addEvents(events []Event) error {
	for i := range events {
		e := &events[i]
		e.CreatedAt = idTime(e.ID)
		st, err := a.state(e.SiteID, DayOf(e.CreatedAt))
		if err != nil {
			return err
		}
		a.event(st, e)
	}
	return nil
}

// dayRows reads one day's stored rows of a site, for rebuilding state.
func (s *Store) dayRows(site string, day Day, views func(*View), events func(*Event)) error {
	from, to := day.Time(), (day + 1).Time()
	if err := s.Views(site, from, to, func(v *View) bool { views(v); return true }); err != nil {
		return err
	}
	return s.Events(site, from, to, func(e *Event) bool { events(e); return true })
}
