package storage

// How one record changes the counters: the aggregator folds each stored
// view and event into its day's state: visitor state and the batch's
// deltas (agg_day.go).

func minuteOf(ms int64) int {
	sec := ms / 1000
	return int((sec%86400+86400)%86400) / 60
}

// minuteLast moves vs's latest-view minute (*last) to m (whose delta is
// cur) in the minute counters' field f when m is later.
func (st *dayState) minuteLast(cur []int64, last *int16, m int, f int) {
	if m <= int(*last) {
		return
	}
	if *last >= 0 {
		st.touch(st.minute(int(*last)))[f]--
	}
	cur[f]++
	*last = int16(m)
}

// count adds one to a value dimension and, for the dims that count
// visitors, one visitor the first time vs has the value that day.
func (st *dayState) count(vs *visitorState, c *counter, hour int) {
	d := st.touch(c)
	d[fCount]++
	if uniqueDims[c.dim] && st.first(vs, c.id) {
		d[fVisitors]++
	}
	if hasHourly(c.dim) {
		d[valueFields+hour]++
	}
}

func hourOf(ms int64) int {
	sec := ms / 1000
	return int((sec%86400+86400)%86400) / 3600
}

// viewRow counts one stored view in the row totals. view does it too; a
// re-derived day calls it alone for the views of excluded visitors, which
// the rows still hold.
func (st *dayState) viewRow(v *View) {
	if v.BotScore >= 0 && v.BotScore < 50 {
		st.touch(st.total)[tViewRows]++
	} else {
		st.touch(st.total)[tViewRowsOther]++
	}
}

// excludedRow counts a stored row of an excluded visitor, which a
// re-derived day leaves out of the statistics, in the quality counters.
func (st *dayState) excludedRow(event bool) {
	f := 2 * int(ReasonExcluded)
	if event {
		f++
	}
	st.touch(st.quality)[f]++
}

// eventRow is viewRow for events, which are also counted by type.
func (st *dayState) eventRow(e *Event) {
	f := rClean
	if e.BotScore < 0 || e.BotScore >= 50 {
		f = rOther
	}
	st.touch(st.total)[tEventRows+f]++
	st.touch(st.value(dimEvRows, e.EventType, ""))[f]++
}

// view folds one stored view, of st's site and day, into st.
func (st *dayState) view(v *View) {
	st.viewRow(v)
	ms := v.CreatedAt.UnixMilli()
	h := hourOf(ms)
	tot := st.touch(st.total)
	hrs := st.touch(st.hours)
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
	m := minuteOf(ms)
	minute := st.minute(m)
	mv := st.touch(minute)
	if v.BotScore >= 50 {
		tot[tBotViews]++
		st.touch(st.quality)[2*int(rowReason(v.BotScoreDetail))]++
		hr[hBotViews]++
		mv[mBotViews]++
		if vs != nil {
			st.minuteLast(mv, &vs.lastBot, m, mLastBot)
		}
		return
	}
	if v.BotScore < 0 {
		return
	}
	tot[tViews]++
	if proofValid(v.BotScoreDetail) {
		tot[tVerified]++
		mv[mVerified]++
	}
	if v.InteractionMS > 0 {
		tot[tInterSum] += v.InteractionMS
		tot[tInterN]++
	}
	hr[hViews]++
	mv[mViews]++
	if vs != nil {
		st.minuteLast(mv, &vs.lastClean, m, mLastClean)
		if st.first(vs, minute.id) {
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
	dim := func(d byte, x, y string) { st.count(vs, st.value(d, x, y), h) }
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
	st.count(vs, st.screen(v.ScreenWidth, v.ScreenHeight), h)
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

// event folds one stored event, of st's site and day, into st.
func (st *dayState) event(e *Event) {
	st.eventRow(e)
	switch {
	case e.BotScore >= 50:
		st.touch(st.total)[tBotEvents]++
		st.touch(st.quality)[2*int(rowReason(e.BotScoreDetail))+1]++
		return
	case e.BotScore < 0:
		st.touch(st.total)[tOtherEvents]++
		return
	}
	ms := e.CreatedAt.UnixMilli()
	h := hourOf(ms)
	tot := st.touch(st.total)
	tot[tEvents]++
	st.touch(st.hours)[h*hourFields+hEvents]++
	st.touch(st.minute(minuteOf(ms)))[mEvents]++
	vs := st.visitor(e.VisitorID)
	if vs != nil && !vs.evClean {
		vs.evClean = true
		tot[tEvVisitors]++
	}
	st.count(vs, st.value(dimEvType, e.EventType, ""), h)
	st.count(vs, st.value(dimCmpEvT, e.UTMCampaign, e.EventType), h)
	st.count(vs, st.value(dimCmpEvs, e.UTMCampaign, ""), h)
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
		st.view(v)
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
		st.event(e)
	}
	return nil
}

// dayRows reads one day's stored rows of a site, for rebuilding state.
func (s *Store) dayRows(site string, day Day, views func(*View) bool, events func(*Event) bool) error {
	from, to := day.Time(), (day + 1).Time()
	stopped := false
	err := s.Views(site, from, to, func(v *View) bool {
		stopped = !views(v)
		return !stopped
	})
	if err != nil || stopped {
		return err
	}
	return s.Events(site, from, to, events)
}
