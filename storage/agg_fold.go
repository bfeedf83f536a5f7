package storage

import "hash/maphash"

// How one record changes the counters: the aggregator folds each stored
// view and event into its day's visitor state and the batch's deltas.

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

// vec is the batch's delta vector of counter k, made on first use: one
// map lookup per counter and record, whatever the fields it changes.
func (a *aggregator) vec(k ckey) []int64 {
	d := a.delta[k]
	if d == nil {
		n := fieldsOf(k.dim)
		if hasHourly(k.dim) {
			n += 24
		}
		d = make([]int64, n)
		a.delta[k] = d
	}
	return d
}

func (a *aggregator) bump(k ckey, field int, n int64) { a.vec(k)[field] += n }

// count adds one to a value dimension and, for the dims that count
// visitors, one visitor the first time vs has the value that day.
func (a *aggregator) count(vs *visitorState, k ckey) {
	d := a.vec(k)
	d[fCount]++
	if uniqueDims[k.dim] && a.first(vs, k) {
		d[fVisitors]++
	}
	if hasHourly(k.dim) {
		d[valueFields+int(a.hour)]++
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

// minuteLast moves vs's latest-view minute (*last) to m (whose vector is
// cur) in the minute counters' field f when m is later.
func (a *aggregator) minuteLast(k ckey, cur []int64, last *int16, m int, f int) {
	if m <= int(*last) {
		return
	}
	if *last >= 0 {
		old := k
		old.a = minuteValues[*last]
		a.vec(old)[f]--
	}
	cur[f]++
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
	a.hour = uint8(h)
	tot := a.vec(ckey{site: site, day: day, dim: dimTotal})
	hrs := a.vec(ckey{site: site, day: day, dim: dimHours})
	hr := hrs[h*hourFields : (h+1)*hourFields]
	vs := st.visitor(v.VisitorID)
	if vs != nil {
		switch {
		case !vs.any:
			vs.any, vs.lastHour = true, int8(h)
			tot[tAnyVisitors]++
			hr[hAnyLast]++
		case h > int(vs.lastHour):
			hrs[int(vs.lastHour)*hourFields+hAnyLast]--
			hr[hAnyLast]++
			vs.lastHour = int8(h)
		}
	}
	m := minuteOf(v.CreatedAt.UnixMilli())
	minute := ckey{site: site, day: day, dim: dimMinute, a: minuteValues[m]}
	mv := a.vec(minute)
	if v.BotScore >= 50 {
		tot[tBotViews]++
		hr[hBotViews]++
		mv[mBotViews]++
		if vs != nil {
			a.minuteLast(minute, mv, &vs.lastBot, m, mLastBot)
		}
		return
	}
	if v.BotScore < 0 {
		return
	}
	tot[tViews]++
	if v.InteractionMS > 0 {
		tot[tInterSum] += v.InteractionMS
		tot[tInterN]++
	}
	hr[hViews]++
	mv[mViews]++
	if vs != nil {
		a.minuteLast(minute, mv, &vs.lastClean, m, mLastClean)
		if a.first(vs, minute) {
			mv[mVisitors]++
		}
		if !vs.clean {
			vs.clean = true
			tot[tVisitors]++
		}
		if vs.hourMask&(1<<h) == 0 {
			vs.hourMask |= 1 << h
			hr[hVisitors]++
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
	a.hour = uint8(h)
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
	var last siteDay
	var st *dayState
	for i := range views {
		v := &views[i]
		v.CreatedAt = idTime(v.ID)
		if sd := (siteDay{v.SiteID, DayOf(v.CreatedAt)}); st == nil || sd != last {
			var err error
			if st, err = a.state(sd.site, sd.day); err != nil {
				return err
			}
			last = sd
		}
		a.view(st, v)
	}
	return nil
}

// addEvents is addViews for events.
func (a *aggregator) addEvents(events []Event) error {
	var last siteDay
	var st *dayState
	for i := range events {
		e := &events[i]
		e.CreatedAt = idTime(e.ID)
		if sd := (siteDay{e.SiteID, DayOf(e.CreatedAt)}); st == nil || sd != last {
			var err error
			if st, err = a.state(sd.site, sd.day); err != nil {
				return err
			}
			last = sd
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
