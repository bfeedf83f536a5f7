package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Visitor states. Unique visitors are exact per day, so the aggregator
// keeps, for each (site, day) it holds, what every visitor has done that
// day. A visitor id is a hash of the User-Agent among others, so one
// client can make new visitors at will: past a memory budget shared by all
// day states (limits.visitorBudget), a day's new visitors are kept on disk
// instead, one key each,
//
//	0x11 | generation(8) | visitor id  →  state (appendVisitorState)
//
// read and rewritten in the batch of every record they have, so the
// counts stay exact while memory stays bounded. A generation names one day
// state: a state rebuilt from rows (after a restart, or by the rollup) gets
// a new one and its own keys, so no key is shared between two states.
// Keys of generations no state holds are garbage, deleted by sweepSpill
// (the daily maintenance).
const tableVisitorSpill byte = 0x11

// Defaults of the aggregator's limits (Options).
const (
	DefaultMaxValues     = 5000
	DefaultValueBudget   = 200_000
	DefaultVisitorMemory = 64 << 20

	// visitorCost approximates the bytes one visitor's state takes in
	// memory besides its id and seen list: the struct, the map entry.
	visitorCost = 112
	// spillChunk is how many disk visitors a rebuild gathers before it
	// writes them.
	spillChunk = 10_000
)

// limits bound the aggregator's memory. Every day state of one aggregator
// shares them; the counts are atomic because a rollup builds a state
// without the aggregator's lock.
type limits struct {
	db            *badger.DB
	valueBudget   int64 // value counters of all states
	visitorBudget int64 // bytes of visitor state in memory, all states

	maxValues    atomic.Int64  // distinct values per dimension, site and day
	values       atomic.Int64  // value counters held
	visitorBytes atomic.Int64  // visitor state bytes held in memory
	gen          atomic.Uint64 // the last generation handed out
}

// takeVisitor charges cost bytes of a new in-memory visitor, if the
// budget has room.
func (l *limits) takeVisitor(cost int64) bool {
	if l.visitorBytes.Load()+cost > l.visitorBudget {
		return false
	}
	l.visitorBytes.Add(cost)
	return true
}

// resumeGen makes generations continue above every stored one, and above
// the clock, so a key of an earlier run is never read as a new state's.
func (l *limits) resumeGen() error {
	last := uint64(time.Now().UnixNano())
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: []byte{tableVisitorSpill}})
		defer it.Close()
		if it.Seek([]byte{tableVisitorSpill, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}); it.Valid() {
			if k := it.Item().Key(); len(k) >= 9 {
				last = max(last, binary.BigEndian.Uint64(k[1:9]))
			}
		}
		return nil
	})
	l.gen.Store(last)
	return err
}

// visitorState is what one visitor did on one site and day.
type visitorState struct {
	any, clean, evClean bool
	disk                bool // kept on disk, not in dayState.visitors
	lastHour            int8
	lastClean, lastBot  int16   // minute of the day of the latest clean / bot view, -1 = none
	hourMask            uint32  // hours with a clean view
	seen                []int32 // ids of the counters (values) counted for the visitor
}

func newVisitorState() *visitorState {
	return &visitorState{lastHour: -1, lastClean: -1, lastBot: -1}
}

// visitorSpill is a day state's visitors on disk.
type visitorSpill struct {
	gen      uint64 // 0 until the first visitor goes to disk
	memBytes int64  // the state's in-memory visitors' share of the budget
	// batch holds the disk visitors the current batch read or made; they
	// are written with it (writeBatch) or, in a rebuild, every spillChunk.
	batch map[string]*visitorState
	txn   *badger.Txn // reads of the current batch
	err   error       // the first read error of the batch
}

func (st *dayState) visitor(id string) *visitorState {
	if id == "" {
		return nil
	}
	if vs := st.visitors[id]; vs != nil {
		return vs
	}
	return st.visitorSlow(id)
}

// visitorSlow finds a visitor that is not in memory: on disk if the day
// has any there, else new, in memory while the budget has room.
func (st *dayState) visitorSlow(id string) *visitorState {
	sp := &st.spill
	if sp.gen != 0 {
		if vs := sp.batch[id]; vs != nil {
			return vs
		}
		if vs := st.loadSpilled(id); vs != nil {
			sp.batch[id] = vs
			return vs
		}
	}
	vs := newVisitorState()
	cost := visitorCost + int64(len(id))
	// OtherSite's days get an eighth of the budget, like its values.
	if (st.site != OtherSite || sp.memBytes+cost <= st.lim.visitorBudget/8) && st.lim.takeVisitor(cost) {
		sp.memBytes += cost
		st.visitors[id] = vs
		return vs
	}
	if sp.gen == 0 {
		sp.gen = st.lim.gen.Add(1)
	}
	if sp.batch == nil {
		sp.batch = make(map[string]*visitorState)
	}
	vs.disk = true
	sp.batch[id] = vs
	return vs
}

// loadSpilled reads a disk visitor of st, or nil.
func (st *dayState) loadSpilled(id string) *visitorState {
	sp := &st.spill
	if sp.err != nil {
		return nil
	}
	if sp.txn == nil {
		sp.txn = st.lim.db.NewTransaction(false)
	}
	item, err := sp.txn.Get(spillKey(sp.gen, id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil
	}
	vs := newVisitorState()
	vs.disk = true
	if err == nil {
		err = item.Value(func(v []byte) error { return decodeVisitorState(v, vs) })
	}
	if err != nil {
		sp.err = fmt.Errorf("visitor state of %s %s: %w", st.site, st.day, err)
		return nil
	}
	return vs
}

// first reports whether vs meets counter id's value for the first time
// that day; a longer seen list of an in-memory visitor is charged to the
// budget.
func (st *dayState) first(vs *visitorState, id int32) bool {
	if vs == nil {
		return false
	}
	for _, s := range vs.seen {
		if s == id {
			return false
		}
	}
	c := cap(vs.seen)
	vs.seen = append(vs.seen, id)
	if grown := int64(cap(vs.seen)-c) * 4; grown > 0 && !vs.disk {
		st.spill.memBytes += grown
		st.lim.visitorBytes.Add(grown)
	}
	return true
}

func spillKey(gen uint64, id string) []byte {
	k := make([]byte, 0, 9+len(id))
	k = append(k, tableVisitorSpill)
	k = binary.BigEndian.AppendUint64(k, gen)
	return append(k, id...)
}

// writeBatch sets the batch's disk visitors with set (fresh slices, which
// a WriteBatch may keep until it commits).
func (sp *visitorSpill) writeBatch(set func(k, v []byte) error) error {
	if sp.err != nil {
		return sp.err
	}
	for id, vs := range sp.batch {
		if err := set(spillKey(sp.gen, id), appendVisitorState(nil, vs)); err != nil {
			return err
		}
	}
	return nil
}

// flushChunk writes a rebuild's disk visitors once spillChunk of them
// gathered, so a rebuild of a day of millions of visitors holds at most a
// chunk of them in memory.
func (sp *visitorSpill) flushChunk(db *badger.DB, force bool) error {
	if sp.err != nil {
		return sp.err
	}
	if len(sp.batch) == 0 || len(sp.batch) < spillChunk && !force {
		return nil
	}
	wb := db.NewWriteBatch()
	defer wb.Cancel()
	if err := sp.writeBatch(wb.Set); err != nil {
		return err
	}
	if err := wb.Flush(); err != nil {
		return err
	}
	sp.endBatch() // later reads need a transaction that sees the chunk
	return nil
}

// endBatch forgets the batch's disk visitors (written by now, or dropped
// with the state) and ends its reads.
func (sp *visitorSpill) endBatch() {
	clear(sp.batch)
	if sp.txn != nil {
		sp.txn.Discard()
		sp.txn = nil
	}
	sp.err = nil
}

// done ends the spill of a state that is dropped.
func (sp *visitorSpill) done() { sp.endBatch() }

// Visitor state encoding: flags(1) | lastHour+1 (1) | varint lastClean |
// varint lastBot | uvarint hourMask | uvarint seen id…
const (
	vsAny byte = 1 << iota
	vsClean
	vsEvClean
)

func appendVisitorState(dst []byte, vs *visitorState) []byte {
	var flags byte
	if vs.any {
		flags |= vsAny
	}
	if vs.clean {
		flags |= vsClean
	}
	if vs.evClean {
		flags |= vsEvClean
	}
	dst = append(dst, flags, byte(vs.lastHour+1))
	dst = binary.AppendVarint(dst, int64(vs.lastClean))
	dst = binary.AppendVarint(dst, int64(vs.lastBot))
	dst = binary.AppendUvarint(dst, uint64(vs.hourMask))
	for _, s := range vs.seen {
		dst = binary.AppendUvarint(dst, uint64(s))
	}
	return dst
}

func decodeVisitorState(v []byte, vs *visitorState) error {
	bad := fmt.Errorf("visitor state: %w", errTruncated)
	if len(v) < 2 || v[1] > 24 {
		return bad
	}
	vs.any, vs.clean, vs.evClean = v[0]&vsAny != 0, v[0]&vsClean != 0, v[0]&vsEvClean != 0
	vs.lastHour = int8(v[1]) - 1
	v = v[2:]
	var ints [3]int64
	for i := range ints {
		var n int
		if i < 2 {
			ints[i], n = binary.Varint(v)
		} else {
			var u uint64
			u, n = binary.Uvarint(v)
			ints[i] = int64(u)
		}
		if n <= 0 {
			return bad
		}
		v = v[n:]
	}
	if ints[0] < -1 || ints[0] >= 1440 || ints[1] < -1 || ints[1] >= 1440 || ints[2] >= 1<<24 {
		return bad
	}
	vs.lastClean, vs.lastBot, vs.hourMask = int16(ints[0]), int16(ints[1]), uint32(ints[2])
	vs.seen = vs.seen[:0]
	for len(v) > 0 {
		s, n := binary.Uvarint(v)
		if n <= 0 || s > 1<<31-1 {
			return bad
		}
		vs.seen = append(vs.seen, int32(s))
		v = v[n:]
	}
	return nil
}

// sweepSpill deletes the disk visitors of every generation no day state
// holds (states dropped, rebuilt, or of an earlier run), in batches.
func (a *aggregator) sweepSpill() (int, error) {
	a.mu.Lock()
	live := map[uint64]bool{}
	for _, st := range a.days {
		if st.spill.gen != 0 {
			live[st.spill.gen] = true
		}
	}
	// Generations handed out from here on are newer than every key seen.
	// A rollup's state is not in days, but the maintenance sweeps after
	// its rollups, never during one.
	limit := a.lim.gen.Load()
	a.mu.Unlock()
	n := 0
	for {
		var keys [][]byte
		err := a.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tableVisitorSpill}})
			defer it.Close()
			for it.Rewind(); it.Valid() && len(keys) < 10_000; {
				k := it.Item().Key()
				if len(k) < 9 {
					keys = append(keys, it.Item().KeyCopy(nil))
					it.Next()
					continue
				}
				gen := binary.BigEndian.Uint64(k[1:9])
				if live[gen] || gen > limit {
					if gen == 1<<64-1 {
						return nil
					}
					it.Seek(binary.BigEndian.AppendUint64([]byte{tableVisitorSpill}, gen+1))
					continue
				}
				keys = append(keys, it.Item().KeyCopy(nil))
				it.Next()
			}
			return nil
		})
		if err != nil || len(keys) == 0 {
			return n, err
		}
		wb := a.db.NewWriteBatch()
		for _, k := range keys {
			if err := wb.Delete(k); err != nil {
				wb.Cancel()
				return n, err
			}
		}
		if err := wb.Flush(); err != nil {
			return n, err
		}
		n += len(keys)
		if len(keys) < 10_000 {
			return n, nil
		}
	}
}
