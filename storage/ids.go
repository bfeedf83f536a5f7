package storage

import (
	"sync"
	"time"
)

// Record ids (View.ID, Event.ID) are the record's time and a counter:
//
//	id = (Unix ms − idEpochMS) << 12 | n
//
// n numbers the records of one millisecond from 0 to 4095; a 4097th record
// in one millisecond borrows the next one. A record whose CreatedAt is
// before the newest id's time (the clock went back, or the caller took its
// time before another caller that was stored first) gets the id after the
// newest. So ids are unique and strictly increasing in the order the writer
// stores records, also across restarts (Open continues after the highest
// id stored), and id order is time order. The stored CreatedAt is the id's
// time: the millisecond of the CreatedAt given to AddView, or in the cases
// above a little later. CreatedAt before idEpochMS counts as idEpochMS; 0
// is never an id.
//
// Ids are below 2^53, so exact as JavaScript numbers, until
// 2093-09-06T15:47:35.551Z (idEpochMS + 2^41 ms); later they keep working
// in Go but need 54 bits or more.
//
// A CreatedAt far in the future (a clock that jumped ahead) moves the
// newest id there, and every later record is stored at that time until the
// clock catches up: ids never go back.
const (
	idEpochMS = 1704067200000 // 2024-01-01T00:00:00Z
	idSeqBits = 12
	maxIDMS   = 1<<(64-idSeqBits) - 1 // ms offsets past this are clamped
)

// idFloor is the smallest id of Unix millisecond ms.
func idFloor(ms int64) uint64 {
	d := ms - idEpochMS
	switch {
	case d < 0:
		return 0
	case d > maxIDMS:
		d = maxIDMS
	}
	return uint64(d) << idSeqBits
}

// idMS is the Unix millisecond an id encodes.
func idMS(id uint64) int64 { return idEpochMS + int64(id>>idSeqBits) }

func idTime(id uint64) time.Time { return msTime(idMS(id)) }

// idSource hands out the ids of one table. It is shared by all writers of a
// store; Open sets last to the highest id stored.
type idSource struct {
	mu   sync.Mutex
	last uint64
}

// assign gives each of n records with id 0 the next id for its CreatedAt
// and returns the highest id among the n. Records that already have an id
// (kept from a failed flush) keep it, so a retry rewrites the same keys.
func (g *idSource) assign(n int, rec func(i int) (id *uint64, createdAt time.Time)) (highest uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := range n {
		p, at := rec(i)
		if *p == 0 {
			*p = max(g.last+1, idFloor(at.UnixMilli()))
			g.last = *p
		}
		highest = max(highest, *p)
	}
	return highest
}

// current is the highest id handed out (or resumed from).
func (g *idSource) current() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last
}

// resume makes the next id larger than id.
func (g *idSource) resume(id uint64) {
	g.mu.Lock()
	g.last = max(g.last, id)
	g.mu.Unlock()
}
