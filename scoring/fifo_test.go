package scoring

import (
	"math/rand/v2"
	"testing"
)

// fifoModel is the obvious implementation fifoShard must agree with: a map
// of entries, each with its expiry and count, plus the number of entries
// per expiry time so counting the unexpired ones is cheap.
type fifoModel struct {
	capacity int
	entries  map[uint64]fifoModelEntry
	byExpiry map[int64]int
}

type fifoModelEntry struct {
	expires int64
	count   int32
}

func (m *fifoModel) set(h uint64, e fifoModelEntry) {
	m.remove(h)
	m.entries[h] = e
	m.byExpiry[e.expires]++
}

func (m *fifoModel) remove(h uint64) {
	if old, ok := m.entries[h]; ok {
		m.byExpiry[old.expires]--
		delete(m.entries, h)
	}
}

// alive counts the unexpired entries; all expire within ttl of now.
func (m *fifoModel) alive(now, ttl int64) int {
	n := 0
	for e := now + 1; e <= now+ttl; e++ {
		n += m.byExpiry[e]
	}
	return n
}

// TestFIFOShard_AgreesWithModel drives a shard and the model with the same
// random operations, with a TTL that is either fixed (window counters) or
// refreshed before expiry (bot-IP sightings), and checks the contract: a
// key the shard holds is the model's, with the same expiry and count; an
// unexpired key is never lost; a new key is refused exactly when capacity
// unexpired keys are held.
func TestFIFOShard_AgreesWithModel(t *testing.T) {
	for _, tc := range []struct {
		name     string
		capacity int
		keys     int
		refresh  bool // re-open live keys, as BotIPs does
		tick     int  // the clock advances once every tick operations on average
	}{
		{"tiny", 1, 3, false, 1},
		{"small windows", 7, 20, false, 1},
		{"small refreshed", 7, 20, true, 1},
		{"refreshed faster than expiry, compacts", 7, 8, true, 1000},
		{"chunked windows", 3000, 9000, false, 30},
		{"chunked refreshed", 3000, 4000, true, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tc.capacity)))
			var sh fifoShard
			sh.init(tc.capacity)
			model := fifoModel{capacity: tc.capacity, entries: map[uint64]fifoModelEntry{}, byExpiry: map[int64]int{}}
			const ttl = 100
			now := int64(0)
			for op := 0; op < 100_000; op++ {
				if rng.IntN(tc.tick) == 0 {
					now += int64(rng.IntN(3))
				}
				h := rng.Uint64N(uint64(tc.keys)) * 0x9e3779b97f4a7c15 // spread over all bits
				slot, p := sh.find(h)
				me, inModel := model.entries[h]
				switch {
				case p < 0 && inModel && now < me.expires:
					t.Fatalf("op %d: unexpired key %x lost", op, h)
				case p < 0 && inModel:
					model.remove(h) // evicted after expiring
					inModel = false
				case p >= 0 && !inModel:
					t.Fatalf("op %d: shard holds unknown key %x", op, h)
				case p >= 0:
					if exp, cnt := sh.at(p); exp != me.expires || cnt != me.count {
						t.Fatalf("op %d: key %x = (%d, %d), model (%d, %d)", op, h, exp, cnt, me.expires, me.count)
					}
				}
				switch {
				case inModel && now < me.expires && !tc.refresh:
					sh.setCount(p, me.count+1)
					model.set(h, fifoModelEntry{me.expires, me.count + 1})
				case inModel: // expired, or a refreshed sighting
					sh.requeue(slot, p, h, now, now+ttl, 1)
					model.set(h, fifoModelEntry{now + ttl, 1})
				default:
					want := model.alive(now, ttl) < tc.capacity
					ok := sh.insert(h, now, now+ttl, 1)
					if ok != want {
						t.Fatalf("op %d: insert = %v, want %v (live %d, cap %d)", op, ok, want, sh.live, tc.capacity)
					}
					if ok {
						model.set(h, fifoModelEntry{now + ttl, 1})
					}
				}
				if sh.live > tc.capacity || sh.n > sh.ringLen {
					t.Fatalf("op %d: %d live, %d records; capacity %d, ring %d", op, sh.live, sh.n, tc.capacity, sh.ringLen)
				}
			}
		})
	}
}

func TestFIFOShard_ExpiredEntriesAreNeverReportedEvicted(t *testing.T) {
	var sh fifoShard
	sh.init(2)
	sh.insert(1, 0, 10, 1)
	sh.insert(2, 5, 15, 1)
	if sh.insert(3, 9, 19, 1) {
		t.Fatal("third key admitted while both held are alive")
	}
	if !sh.insert(3, 10, 20, 1) {
		t.Fatal("third key refused once the oldest expired")
	}
	if _, p := sh.find(1); p >= 0 {
		t.Error("expired key 1 still held")
	}
	if _, p := sh.find(2); p < 0 {
		t.Error("live key 2 evicted")
	}
}

func TestFIFOShard_IdleChunksAreFreed(t *testing.T) {
	var sh fifoShard
	sh.init(10 * fifoChunkLen)
	for i := range 10 * fifoChunkLen {
		sh.insert(uint64(i)*0x9e3779b97f4a7c15, 0, 100, 1)
	}
	allocated := func() int {
		n := 0
		for _, c := range sh.chunks {
			if c != nil {
				n++
			}
		}
		return n
	}
	if n := allocated(); n != 10 {
		t.Fatalf("%d chunks for %d records, want 10", n, 10*fifoChunkLen)
	}
	// Everything expires; one more key sweeps a few, the rest go as the
	// head is popped by later inserts.
	now := int64(100)
	for i := 0; sh.n > 1 && i < 20*fifoChunkLen; i++ {
		sh.evictExpired(now, evictPerInsert)
	}
	if n := allocated(); n > 1 {
		t.Errorf("%d chunks allocated after every record expired, want at most 1", n)
	}
}

func TestFIFOShard_RefreshesBehindALiveHeadCompact(t *testing.T) {
	var sh fifoShard
	sh.init(2)
	sh.insert(1, 0, 100, 1) // stays at the head, alive, until 100
	sh.insert(2, 0, 100, 1)
	for i := 0; i < 3*sh.ringLen; i++ {
		slot, p := sh.find(2)
		sh.requeue(slot, p, 2, 1, 101, 1)
	}
	if sh.n > sh.ringLen || sh.live != 2 {
		t.Fatalf("%d records, %d live; ring %d", sh.n, sh.live, sh.ringLen)
	}
	for _, h := range []uint64{1, 2} {
		if _, p := sh.find(h); p < 0 {
			t.Errorf("key %d lost", h)
		}
	}
	if sh.insert(3, 1, 101, 1) {
		t.Error("third key admitted at capacity")
	}
}
