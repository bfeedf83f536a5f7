package pow

// ring is a fixed ring of maps, one per time tick (a minute, or five), so
// expiry is O(1): a tick's whole map is dropped when its slot is reused. The
// total number of entries over all slots never exceeds limit. It is not safe
// for concurrent use; its owner holds a mutex.
type ring[K comparable, V any] struct {
	slots []ringSlot[K, V]
	n     int // entries over all slots, stale ones included until dropped
	limit int
}

type ringSlot[K comparable, V any] struct {
	tick int64
	m    map[K]V // nil when empty
}

func newRing[K comparable, V any](ticks, limit int) *ring[K, V] {
	return &ring[K, V]{slots: make([]ringSlot[K, V], ticks), limit: limit}
}

func (r *ring[K, V]) slot(tick int64) *ringSlot[K, V] {
	return &r.slots[int(uint64(tick)%uint64(len(r.slots)))]
}

// get looks k up in tick's map.
func (r *ring[K, V]) get(tick int64, k K) (V, bool) {
	s := r.slot(tick)
	if s.tick != tick || s.m == nil {
		var zero V
		return zero, false
	}
	v, ok := s.m[k]
	return v, ok
}

type putResult int

const (
	stored putResult = iota
	full             // the ring holds limit entries even after expiry
	stale            // the slot already holds a newer tick: tick is too old
)

// put stores k in tick's map, first dropping whatever older tick occupied
// the slot. When the ring is full it drops the ticks older than oldest and
// refuses if that did not make room.
func (r *ring[K, V]) put(tick, oldest int64, k K, v V) putResult {
	s := r.slot(tick)
	if s.tick > tick && s.m != nil {
		return stale
	}
	if s.tick != tick {
		r.drop(s)
		s.tick = tick
	}
	if _, exists := s.m[k]; exists {
		s.m[k] = v
		return stored
	}
	if r.n >= r.limit {
		r.expire(oldest)
		if r.n >= r.limit {
			return full
		}
	}
	if s.m == nil {
		s.m = make(map[K]V)
	}
	s.m[k] = v
	r.n++
	return stored
}

// putEvict is put for a cache that evicts rather than refuses: when the
// ring is full even after expiry, it drops one entry of the oldest tick
// held (any of them: each tick is one map) and stores k. It reports
// whether it evicted. Finding the oldest tick is O(len(slots)).
func (r *ring[K, V]) putEvict(tick, oldest int64, k K, v V) (putResult, bool) {
	res := r.put(tick, oldest, k, v)
	if res != full {
		return res, false
	}
	var victim *ringSlot[K, V]
	for i := range r.slots {
		if s := &r.slots[i]; len(s.m) > 0 && (victim == nil || s.tick < victim.tick) {
			victim = s
		}
	}
	for old := range victim.m {
		delete(victim.m, old)
		r.n--
		break
	}
	return r.put(tick, oldest, k, v), true
}

// expire drops the slots of ticks older than oldest: O(len(slots)).
func (r *ring[K, V]) expire(oldest int64) {
	for i := range r.slots {
		if r.slots[i].tick < oldest {
			r.drop(&r.slots[i])
		}
	}
}

func (r *ring[K, V]) drop(s *ringSlot[K, V]) {
	r.n -= len(s.m)
	s.m = nil
}

// len counts the entries held, stale ticks included.
func (r *ring[K, V]) len() int { return r.n }
