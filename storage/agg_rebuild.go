package storage

import (
	"cmp"
	"context"
	"slices"
)

// Rebuilding a day's state from its stored rows: when the aggregator
// meets a (site, day) it holds no state for (after a restart, or an old
// day), and in the daily rollup, which re-derives finished days.

// build folds the stored rows of site's day (skipping the visitors
// excluded, if set) into a new state, whose deltas are then the day's
// counters. It needs no lock: the state is the caller's until installed.
// Visitors past the memory budget go to disk as it goes.
func (a *aggregator) build(ctx context.Context, site string, day Day, excluded map[string]struct{}) (*dayState, error) {
	st := newDayState(site, day, a.lim)
	skip := func(visitor string) bool {
		_, ok := excluded[visitor]
		return ok && visitor != ""
	}
	var stop error
	n := 0
	step := func() bool {
		if n++; n%1024 == 0 {
			if stop = ctx.Err(); stop == nil {
				stop = st.spill.flushChunk(a.db, false)
			}
		}
		return stop == nil
	}
	err := a.rows(site, day, func(v *View) bool {
		if skip(v.VisitorID) {
			st.viewRow(v) // the rows still hold it
			st.excludedRow(false)
		} else {
			st.view(v)
		}
		return step()
	}, func(e *Event) bool {
		if skip(e.VisitorID) {
			st.eventRow(e)
			st.excludedRow(true)
		} else {
			st.event(e)
		}
		return step()
	})
	if err = cmp.Or(err, stop); err == nil {
		var base []RollupGroup
		if base, err = readRollupBase(a.db, site, day); err == nil {
			st.addBase(base) // an imported rollup of the day (import_rollup.go)
			err = st.spill.flushChunk(a.db, true)
		}
	}
	if err != nil {
		st.endBatch()
		st.release()
		return nil, err
	}
	return st, nil
}

// install makes a built state's counters the day's stored ones (without
// minute counters unless minutes) and returns how many it wrote. The
// caller holds a.mu.
func (a *aggregator) install(st *dayState, minutes bool) (int, error) {
	a.forget(st.site, st.day)
	if err := deleteDayCounters(a.db, st.site, st.day); err != nil {
		return 0, err
	}
	wb := a.db.NewWriteBatch()
	defer wb.Cancel()
	n := 0
	var setErr error
	st.deltaKeys(func(k ckey, key []byte, d []int64) {
		if k.dim == dimMinute && !minutes || setErr != nil {
			return
		}
		vals := make([]uint64, len(d))
		for i := range d {
			vals[i] = uint64(max(0, d[i]))
		}
		setErr = wb.Set(slices.Clone(key), appendCounts(nil, vals))
		n++
	})
	if setErr != nil {
		return 0, setErr
	}
	if err := wb.Flush(); err != nil {
		return 0, err
	}
	st.endBatch()
	return n, nil
}

// rederive re-derives site's day from its rows (without the visitors
// excluded, if set) and installs its counters, keeping no state; it
// returns how many counters it wrote. The caller holds a.mu.
func (a *aggregator) rederive(site string, day Day, excluded map[string]struct{}, minutes bool) (int, error) {
	st, err := a.build(context.Background(), site, day, excluded)
	if err != nil {
		return 0, err
	}
	defer st.release()
	return a.install(st, minutes)
}

// rollupTries is how often rollupSite re-derives a day without the lock
// before it gives up on writes that keep touching the day and holds it.
const rollupTries = 3

// rollupSite re-derives the counters of site's finished day from its
// rows, holding the lock (and so the writer) only to install the result:
// the rows are read without it, and if a batch touched the day meanwhile
// (a late or imported record), the work is done again.
func (a *aggregator) rollupSite(ctx context.Context, site string, day Day, excluded map[string]struct{}) (int, error) {
	sd := siteDay{site, day}
	for try := 1; ; try++ {
		a.mu.Lock()
		if try > rollupTries {
			defer a.mu.Unlock()
			st, err := a.build(ctx, site, day, excluded)
			if err != nil {
				return 0, err
			}
			defer st.release()
			return a.install(st, false)
		}
		a.rolling[sd] = 0
		a.mu.Unlock()
		st, err := a.build(ctx, site, day, excluded)
		a.mu.Lock()
		touched := a.rolling[sd] > 0
		delete(a.rolling, sd)
		if err != nil || touched {
			a.mu.Unlock()
			if err != nil {
				return 0, err
			}
			st.endBatch()
			st.release()
			continue
		}
		n, err := a.install(st, false)
		a.mu.Unlock()
		st.release()
		return n, err
	}
}
