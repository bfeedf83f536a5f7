package storage

import "strings"

// dayState is what the aggregator holds for one (site, day): every
// visitor's state and every counter the day has had, each with the current
// batch's delta. Folding a view costs one map lookup per value dimension,
// keyed by the value alone: the total, hour and minute counters are fields
// and a minute-indexed array, and site and day are the state's own. (A map
// of every counter keyed by site, day, dim and value hashed the site and
// the value's struct a dozen times per view, half the fold's time.)
type dayState struct {
	site     string
	day      Day
	visitors map[string]*visitorState

	total, hours *counter
	minutes      [1440]*counter                   // by minute of the day; id = minute
	values       [dimCount]map[string]*counter    // one-part values by dim
	pairs        [dimCount]map[[2]string]*counter // values with a second part
	nextID       int32                            // the next value's id
	// screens are the dimResol counters by screen size, which skips
	// formatting the "WxH" label of every view.
	screens map[[2]int]*counter

	batch   []*counter // the counters with a delta in the current batch
	inBatch bool       // the state is in aggregator.batchDays
}

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

// visitorState is what one visitor did on one site and day.
type visitorState struct {
	any, clean, evClean bool
	lastHour            int8
	lastClean, lastBot  int16   // minute of the day of the latest clean / bot view, -1 = none
	hourMask            uint32  // hours with a clean view
	seen                []int32 // ids of the counters (values) counted for the visitor
}

func newDayState(site string, day Day) *dayState {
	return &dayState{
		site:     site,
		day:      day,
		visitors: make(map[string]*visitorState),
		total:    &counter{dim: dimTotal, id: -1, d: make([]int64, totalFields)},
		hours:    &counter{dim: dimHours, id: -1, d: make([]int64, hoursFields)},
		nextID:   int32(len(minuteValues)),
	}
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
	c := st.minutes[m]
	if c == nil {
		c = &counter{dim: dimMinute, a: minuteValues[m], id: int32(m), d: make([]int64, minuteFields)}
		st.minutes[m] = c
	}
	return c
}

// value is the counter of a value dimension's value (a, b). A value with
// an empty b is keyed by a alone, the faster map key.
func (st *dayState) value(dim byte, a, b string) *counter {
	if b == "" {
		c := st.values[dim][a]
		if c == nil {
			if st.values[dim] == nil {
				st.values[dim] = make(map[string]*counter)
			}
			c = st.newValue(dim, a, "")
			st.values[dim][c.a] = c
		}
		return c
	}
	c := st.pairs[dim][[2]string{a, b}]
	if c == nil {
		if st.pairs[dim] == nil {
			st.pairs[dim] = make(map[[2]string]*counter)
		}
		c = st.newValue(dim, a, b)
		st.pairs[dim][[2]string{c.a, c.b}] = c
	}
	return c
}

// screen is the dimResol counter of a w × h screen.
func (st *dayState) screen(w, h int) *counter {
	c := st.screens[[2]int{w, h}]
	if c == nil {
		if st.screens == nil {
			st.screens = make(map[[2]int]*counter)
		}
		c = st.value(dimResol, resolution(w, h), "")
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
	return c
}

// first reports whether vs meets counter id's value for the first time
// that day.
func (vs *visitorState) first(id int32) bool {
	if vs == nil {
		return false
	}
	for _, s := range vs.seen {
		if s == id {
			return false
		}
	}
	vs.seen = append(vs.seen, id)
	return true
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

// endBatch zeroes the batch's deltas.
func (st *dayState) endBatch() {
	for _, c := range st.batch {
		clear(c.d)
		c.inBatch = false
	}
	clear(st.batch)
	st.batch = st.batch[:0]
	st.inBatch = false
}
