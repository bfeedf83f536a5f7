package storage

import "strings"

// dayState is what the aggregator holds for one (site, day): every
// visitor's state (agg_visitors.go) and every counter the day has had,
// each with the current batch's delta. Folding a view costs one map lookup
// per value dimension, keyed by the value alone: the total, hour and
// minute counters are fields, and site and day are the state's own. (A map
// of every counter keyed by site, day, dim and value hashed the site and
// the value's struct a dozen times per view, half the fold's time.)
//
// Its memory is bounded (limits): each value dimension keeps at most
// maxValues distinct values, and all states together at most
// valueBudget value counters; past either, a new value is counted under
// OtherValue. Visitors past the visitor memory budget are kept on disk.
type dayState struct {
	site string
	day  Day
	lim  *limits

	visitors map[string]*visitorState
	spill    visitorSpill // visitors kept on disk (agg_visitors.go)

	total, hours *counter
	quality      *counter // dimQuality
	// minutes are the minute counters of the current batch (a batch
	// touches a few); id = minute, so the visitors' seen lists stay valid
	// when endBatch drops them.
	minutes map[int16]*counter
	lastMin *counter                         // the minute the fold used last
	values  [dimCount]map[string]*counter    // one-part values by dim
	pairs   [dimCount]map[[2]string]*counter // values with a second part
	nextID  int32                            // the next value's id
	// screens are the dimResol counters by screen size, which skips
	// formatting the "WxH" label of every view.
	screens map[[2]int]*counter

	valueN int64 // value counters held (limits.values)

	batch   []*counter // the counters with a delta in the current batch
	inBatch bool       // the state is in aggregator.batchDays
}

// OtherValue is the value that counts a dimension's values past its cap.
const OtherValue = "(other)"

// counter is one counter of a day and the current batch's delta of it.
type counter struct {
	dim  byte
	a, b string // value; b only for the two-part dims (campaign, browser)
	// id numbers the value within its day for visitorState.seen: the
	// minute for dimMinute, then 1440, 1441, … in order of first use.
	id int32
	// d is the batch's delta: the dim's fields, then for the dims with
	// hourly counters (hasHourly) the 24 hourly counts. Kept, zeroed,
	// between batches.
	d       []int64
	inBatch bool
}

func newDayState(site string, day Day, lim *limits) *dayState {
	return &dayState{
		site:     site,
		day:      day,
		lim:      lim,
		visitors: make(map[string]*visitorState),
		total:    &counter{dim: dimTotal, id: -1, d: make([]int64, totalFields)},
		hours:    &counter{dim: dimHours, id: -1, d: make([]int64, hoursFields)},
		quality:  &counter{dim: dimQuality, id: -1, d: make([]int64, qualityFields)},
		nextID:   int32(len(minuteValues)),
	}
}

// release returns what st holds to the shared budgets; st is not used
// after.
func (st *dayState) release() {
	st.lim.values.Add(-st.valueN)
	st.lim.visitorBytes.Add(-st.spill.memBytes)
	st.valueN, st.spill.memBytes = 0, 0
	st.spill.done()
}

// touch returns c's delta, entering c in the batch: every counter touched
// is written, even when its delta stays zero.
func (st *dayState) touch(c *counter) []int64 {
	if !c.inBatch {
		c.inBatch = true
		st.batch = append(st.batch, c)
	}
	return c.d
}

func (st *dayState) minute(m int) *counter {
	if c := st.lastMin; c != nil && int(c.id) == m {
		return c
	}
	c := st.minutes[int16(m)]
	if c == nil {
		if st.minutes == nil {
			st.minutes = make(map[int16]*counter)
		}
		c = &counter{dim: dimMinute, a: minuteValues[m], id: int32(m), d: make([]int64, minuteFields)}
		st.minutes[int16(m)] = c
	}
	st.lastMin = c
	return c
}

// value is the counter of a value dimension's value (a, b). A value with
// an empty b is keyed by a alone, the faster map key.
func (st *dayState) value(dim byte, a, b string) *counter {
	if b == "" {
		if c := st.values[dim][a]; c != nil {
			return c
		}
	} else if c := st.pairs[dim][[2]string{a, b}]; c != nil {
		return c
	}
	if !st.room(dim) {
		a, b = st.otherOf(dim, a, b)
		if c := st.find(dim, a, b); c != nil {
			return c
		}
	}
	c := st.newValue(dim, a, b)
	if b == "" {
		if st.values[dim] == nil {
			st.values[dim] = make(map[string]*counter)
		}
		st.values[dim][c.a] = c
	} else {
		if st.pairs[dim] == nil {
			st.pairs[dim] = make(map[[2]string]*counter)
		}
		st.pairs[dim][[2]string{c.a, c.b}] = c
	}
	return c
}

func (st *dayState) find(dim byte, a, b string) *counter {
	if b == "" {
		return st.values[dim][a]
	}
	return st.pairs[dim][[2]string{a, b}]
}

// distinct is how many values dim holds.
func (st *dayState) distinct(dim byte) int { return len(st.values[dim]) + len(st.pairs[dim]) }

// room reports whether dim may take a new value: it holds fewer than
// maxValues, and the budget of all states has room. A day of OtherSite,
// whose hits anyone can make, may use an eighth of the budget at most, so
// it cannot crowd the registered sites out.
func (st *dayState) room(dim byte) bool {
	return st.distinct(dim) < int(st.lim.maxValues.Load()) && st.lim.values.Load() < st.lim.valueBudget &&
		(st.site != OtherSite || st.valueN < st.lim.valueBudget/8)
}

// otherOf is where a value past the cap is counted: OtherValue; for a
// campaign-scoped value the campaign keeps its own (campaign, OtherValue)
// until the dim holds twice the cap (campaigns are few: only a site's
// active ones are kept on views).
func (st *dayState) otherOf(dim byte, a, b string) (string, string) {
	if b == "" || dim == dimBrowse {
		return OtherValue, ""
	}
	if st.distinct(dim) < 2*int(st.lim.maxValues.Load()) && st.lim.values.Load() < st.lim.valueBudget+st.lim.valueBudget/8 {
		return a, OtherValue
	}
	return OtherValue, OtherValue
}

// screen is the dimResol counter of a w × h screen. Only sizes with a
// counter of their own are remembered by size.
func (st *dayState) screen(w, h int) *counter {
	c := st.screens[[2]int{w, h}]
	if c == nil {
		c = st.value(dimResol, resolution(w, h), "")
		if c.a == OtherValue {
			return c
		}
		if st.screens == nil {
			st.screens = make(map[[2]int]*counter)
		}
		st.screens[[2]int{w, h}] = c
	}
	return c
}

// newValue makes the counter of a new value. The strings are copied: a
// record's may share memory with more than the value, and the state lives
// for the day.
func (st *dayState) newValue(dim byte, a, b string) *counter {
	n := fieldsOf(dim)
	if hasHourly(dim) {
		n += 24
	}
	c := &counter{dim: dim, a: strings.Clone(a), b: strings.Clone(b), id: st.nextID, d: make([]int64, n)}
	st.nextID++
	st.valueN++
	st.lim.values.Add(1)
	return c
}

// deltaKeys calls fn with the stored key and fields of every counter in
// the batch's deltas: a value dimension's vector carries its 24 hourly
// counts after its own fields, each a counter of its own (hourlyDim). key
// and d are only valid during the call.
func (st *dayState) deltaKeys(fn func(k ckey, key []byte, d []int64)) {
	var kb []byte
	hourly := make([]int64, valueFields)
	for _, c := range st.batch {
		k := ckey{site: st.site, day: st.day, dim: c.dim, a: c.a, b: c.b}
		kb = appendCounterKey(kb[:0], &k)
		if !hasHourly(k.dim) {
			fn(k, kb, c.d)
			continue
		}
		fn(k, kb, c.d[:valueFields])
		for h, n := range c.d[valueFields:] {
			if n == 0 {
				continue
			}
			hk := k
			hk.dim, hk.hour = k.dim|hourlyDim, uint8(h)
			kb = appendCounterKey(kb[:0], &hk)
			hourly[0], hourly[1] = n, 0
			fn(hk, kb, hourly)
		}
	}
}

// endBatch zeroes the batch's deltas and lets go of its minute counters.
func (st *dayState) endBatch() {
	for _, c := range st.batch {
		clear(c.d)
		c.inBatch = false
	}
	clear(st.batch)
	st.batch = st.batch[:0]
	clear(st.minutes)
	st.lastMin = nil
	st.inBatch = false
	st.spill.endBatch()
}
