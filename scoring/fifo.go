package scoring

import (
	"math/bits"
	"sync"
)

// fifoMap is the bounded store behind RateLimiter, Burst and BotIPs: a map
// from a 64-bit key hash to an expiry time and a counter, where every entry
// of one map lives for the same length of time after it was last
// (re)opened. That makes insertion order expiry order, so each shard keeps
// its records in a ring, oldest at the head, and expiry is popping the head:
// O(1) per entry, no sweep.
//
// Keys are hashes, never the caller's strings, so an entry costs 20 bytes
// in the ring plus 4-8 in the index whatever the key. Two keys with equal
// 64-bit hashes share an entry; the hashes are seeded per process, so with
// a million keys the chance that any two collide is about 3·10⁻⁸ and an
// outsider cannot aim for one.
//
// Re-opening a key (a new window, or a refreshed bot-IP sighting) appends a
// new record and marks the old one stale; stale records are skipped and
// dropped when they reach the head. The ring has room for twice the
// capacity, so stale records never block a new key, and when they fill it
// one O(n) compaction frees at least half of it.
//
// Memory: the ring is allocated in chunks of 1024 records as records
// arrive, and a chunk is freed when the head leaves it, so memory follows
// the records held, not the capacity; the index doubles with the live
// count. Nothing grows past the capacity: at capacity a new key is either
// refused (insert; the caller then fails closed) or admitted in place of an
// evicted one (insertEvict). Expired records are popped a few per insert,
// so a map that stops receiving new keys keeps its last ones until traffic
// resumes.
type fifoMap struct {
	shards []fifoShard
}

// maxFIFOShards: enough to keep lock contention low on a busy server; each
// shard holds capacity/shards entries.
const maxFIFOShards = 16

// maxShardCapacity keeps ring positions within the index's 32-bit slots
// with some tag bits to spare.
const maxShardCapacity = 1 << 24

const (
	fifoChunkShift = 10
	fifoChunkLen   = 1 << fifoChunkShift // records per chunk
	minIndexLen    = 16
)

// fifoChunk is fifoChunkLen consecutive ring positions, stored as columns
// so a record costs 20 bytes without padding.
type fifoChunk struct {
	key     [fifoChunkLen]uint64
	expires [fifoChunkLen]int64
	count   [fifoChunkLen]int32 // 0 marks a stale record
}

type fifoShard struct {
	mu       sync.Mutex
	capacity int          // most live records
	chunks   []*fifoChunk // the ring; nil chunks hold no record
	ringLen  int          // len(chunks) * fifoChunkLen
	head     int          // ring position of the oldest record
	n        int          // records in the ring, stale ones included
	live     int          // records that are not stale (expired ones included)
	evicted  uint64       // live records insertEvict dropped before their expiry

	// index is an open-addressing table (linear probing, load <= 1/2) from
	// key to ring position. A slot is 0 when empty, else
	// tag<<posBits | position+1, where tag is tagBits bits of the key so
	// most probes need not read the ring.
	index   []uint32
	posBits uint
	posMask uint32
	tagMask uint32

	_ [64]byte // keep shards on separate cache lines
}

// newFIFOMap splits capacity over up to maxFIFOShards shards.
func newFIFOMap(capacity int) fifoMap {
	capacity = max(capacity, 1)
	n := min(maxFIFOShards, capacity)
	m := fifoMap{shards: make([]fifoShard, n)}
	for i := range m.shards {
		c := capacity / n
		if i < capacity%n {
			c++
		}
		m.shards[i].init(min(c, maxShardCapacity))
	}
	return m
}

func (sh *fifoShard) init(capacity int) {
	sh.capacity = capacity
	// Room for twice the capacity (see fifoMap), in whole chunks, at least
	// two so the chunk the head leaves is never the one the tail is in.
	chunks := max((2*capacity+fifoChunkLen-1)/fifoChunkLen, 2)
	sh.chunks = make([]*fifoChunk, chunks)
	sh.ringLen = chunks * fifoChunkLen
	sh.posBits = uint(bits.Len(uint(sh.ringLen)))
	sh.posMask = 1<<sh.posBits - 1
	sh.tagMask = uint32(1<<(32-sh.posBits) - 1)
	sh.index = make([]uint32, minIndexLen)
}

// shard picks a shard from the high bits of h; the index uses the low
// bits and the tag the middle ones, so the three do not correlate.
func (m *fifoMap) shard(h uint64) *fifoShard {
	return &m.shards[(h>>32)*uint64(len(m.shards))>>32]
}

// len returns the number of live records, expired ones not yet popped
// included.
func (m *fifoMap) len() int {
	n := 0
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		n += sh.live
		sh.mu.Unlock()
	}
	return n
}

func (sh *fifoShard) tag(h uint64) uint32 { return uint32(h>>24) & sh.tagMask }

func (sh *fifoShard) rec(p int) (*fifoChunk, int) {
	return sh.chunks[p>>fifoChunkShift], p & (fifoChunkLen - 1)
}

func (sh *fifoShard) at(p int) (expires int64, count int32) {
	c, i := sh.rec(p)
	return c.expires[i], c.count[i]
}

func (sh *fifoShard) setCount(p int, count int32) {
	c, i := sh.rec(p)
	c.count[i] = count
}

func (sh *fifoShard) keyAt(p int) uint64 {
	c, i := sh.rec(p)
	return c.key[i]
}

// find returns the ring position of h's live record, or -1, and the index
// slot where it was found (or where the probe ended).
func (sh *fifoShard) find(h uint64) (slot, pos int) {
	mask := len(sh.index) - 1
	t := sh.tag(h)
	for i := int(h) & mask; ; i = (i + 1) & mask {
		v := sh.index[i]
		if v == 0 {
			return i, -1
		}
		if v>>sh.posBits == t {
			if p := int(v&sh.posMask) - 1; sh.keyAt(p) == h {
				return i, p
			}
		}
	}
}

// slotOf returns the index slot holding ring position p (which is live).
func (sh *fifoShard) slotOf(h uint64, p int) int {
	mask := len(sh.index) - 1
	want := uint32(p + 1)
	for i := int(h) & mask; ; i = (i + 1) & mask {
		if sh.index[i]&sh.posMask == want {
			return i
		}
	}
}

func (sh *fifoShard) indexInsert(h uint64, p int) {
	mask := len(sh.index) - 1
	i := int(h) & mask
	for sh.index[i] != 0 {
		i = (i + 1) & mask
	}
	sh.index[i] = sh.tag(h)<<sh.posBits | uint32(p+1)
}

// indexDelete empties slot i by backward shifting (no tombstones): a later
// entry of the probe run moves into the hole unless its home slot lies
// cyclically in (hole, its slot].
func (sh *fifoShard) indexDelete(i int) {
	mask := len(sh.index) - 1
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		v := sh.index[j]
		if v == 0 {
			break
		}
		home := int(sh.keyAt(int(v&sh.posMask)-1)) & mask
		if i <= j && (home <= i || home > j) || i > j && home <= i && home > j {
			sh.index[i] = v
			i = j
		}
	}
	sh.index[i] = 0
}

// push appends a record at the tail; the caller ensured n < ringLen.
func (sh *fifoShard) push(h uint64, expires int64, count int32) int {
	p := sh.head + sh.n
	if p >= sh.ringLen {
		p -= sh.ringLen
	}
	c := sh.chunks[p>>fifoChunkShift]
	if c == nil {
		c = new(fifoChunk)
		sh.chunks[p>>fifoChunkShift] = c
	}
	i := p & (fifoChunkLen - 1)
	c.key[i], c.expires[i], c.count[i] = h, expires, count
	sh.n++
	sh.live++
	return p
}

// popHead drops the oldest record, removing it from the index if live.
func (sh *fifoShard) popHead() {
	p := sh.head
	c, i := sh.rec(p)
	if c.count[i] != 0 {
		sh.indexDelete(sh.slotOf(c.key[i], p))
		sh.live--
		c.count[i] = 0
	}
	sh.n--
	sh.head++
	if sh.head == sh.ringLen {
		sh.head = 0
	}
	// Free the chunk the head just left unless the records wrap into it.
	if sh.head&(fifoChunkLen-1) == 0 && sh.n <= sh.ringLen-fifoChunkLen {
		sh.chunks[p>>fifoChunkShift] = nil
	}
}

// headDead reports whether the oldest record is stale or expired at now.
func (sh *fifoShard) headDead(now int64) bool {
	c, i := sh.rec(sh.head)
	return c.count[i] == 0 || c.expires[i] <= now
}

// evictExpired pops up to limit dead records from the head, so memory
// follows the traffic without one request paying for a long quiet period.
func (sh *fifoShard) evictExpired(now int64, limit int) {
	for ; limit > 0 && sh.n > 0 && sh.headDead(now); limit-- {
		sh.popHead()
	}
}

// full reports whether a new key would be refused at now: the shard holds
// its capacity and the oldest record is still alive.
func (sh *fifoShard) full(now int64) bool {
	return sh.live >= sh.capacity && !(sh.n > 0 && sh.headDead(now))
}

// headExpires is the expiry of the oldest record; meaningful when full.
func (sh *fifoShard) headExpires() int64 {
	exp, _ := sh.at(sh.head)
	return exp
}

// makeRoom ensures a record can be pushed for a new live key, popping dead
// records from the head as needed. It fails only when the shard holds its
// capacity of live, unexpired records.
func (sh *fifoShard) makeRoom(now int64) bool {
	for {
		if sh.n < sh.ringLen && sh.live < sh.capacity {
			return true
		}
		if sh.n > 0 && sh.headDead(now) {
			sh.popHead()
			continue
		}
		if sh.live >= sh.capacity {
			return false
		}
		// The ring is full of records, more than half of them stale.
		sh.compact()
	}
}

// insert adds a record for h, which must not be live in the shard. It
// reports false, changing nothing but dead records, when the shard is full.
func (sh *fifoShard) insert(h uint64, now, expires int64, count int32) bool {
	sh.evictExpired(now, evictPerInsert)
	if !sh.makeRoom(now) {
		return false
	}
	if 2*(sh.live+1) > len(sh.index) {
		sh.rebuildIndex(2 * len(sh.index))
	}
	sh.indexInsert(h, sh.push(h, expires, count))
	return true
}

// requeue moves h's live record at ring position p, found at index slot
// slot, to the tail with a new expiry and count. It cannot fail: the old
// record frees a live place, and a ring full of records then has stale or
// dead ones to drop.
func (sh *fifoShard) requeue(slot, p int, h uint64, now, expires int64, count int32) {
	sh.indexDelete(slot)
	sh.setCount(p, 0)
	sh.live--
	sh.insert(h, now, expires, count)
}

// rebuildIndex re-creates the index with size slots from the live records.
func (sh *fifoShard) rebuildIndex(size int) {
	sh.index = make([]uint32, size)
	p := sh.head
	for k := 0; k < sh.n; k++ {
		if c, i := sh.rec(p); c.count[i] != 0 {
			sh.indexInsert(c.key[i], p)
		}
		if p++; p == sh.ringLen {
			p = 0
		}
	}
}

// compact copies the live records, in order, to the start of fresh chunks.
func (sh *fifoShard) compact() {
	old := sh.chunks
	sh.chunks = make([]*fifoChunk, len(old))
	p, n := sh.head, sh.n
	sh.head, sh.n, sh.live = 0, 0, 0
	for k := 0; k < n; k++ {
		c, i := old[p>>fifoChunkShift], p&(fifoChunkLen-1)
		if c.count[i] != 0 {
			sh.push(c.key[i], c.expires[i], c.count[i])
		}
		if p++; p == sh.ringLen {
			p = 0
		}
	}
	sh.rebuildIndex(len(sh.index))
}

// evictPerInsert bounds how many dead records one insert pops beyond what
// it needs, so no single request pays for a long quiet period.
const evictPerInsert = 4

// evictScanLive bounds insertEvict's search for a record to evict: the
// oldest evictScanLive live records.
const evictScanLive = 16

// insertEvict is insert for a map that evicts rather than refuses: when the
// shard is full of live, unexpired records, it first drops the oldest
// record whose count protect does not shield, looking at the
// evictScanLive oldest, or the oldest of all if it shields every one. It
// reports whether it evicted a live record.
func (sh *fifoShard) insertEvict(h uint64, now, expires int64, count int32, protect func(int32) bool) (evicted bool) {
	sh.evictExpired(now, evictPerInsert)
	if sh.full(now) {
		evicted = sh.evictOne(now, protect)
	}
	sh.insert(h, now, expires, count) // cannot fail: there is room now
	return evicted
}

// evictOne makes room by dropping the head once it is a record protect
// does not shield: shielded records at the head move to the tail (their
// expiry and count kept), up to evictScanLive of them, and then the head
// goes whatever it is. Stale and dead records met at the head are popped
// on the way (each is popped once, so this is O(1) amortized). It reports
// whether it dropped a live, unexpired record.
func (sh *fifoShard) evictOne(now int64, protect func(int32) bool) bool {
	for moved := 0; sh.n > 0; {
		c, i := sh.rec(sh.head)
		if sh.headDead(now) {
			live := c.count[i] != 0
			sh.popHead()
			if live {
				return false // an expired record made the room
			}
			continue
		}
		if moved < evictScanLive && protect(c.count[i]) {
			h, exp, cnt := c.key[i], c.expires[i], c.count[i]
			sh.popHead()
			sh.indexInsert(h, sh.push(h, exp, cnt))
			moved++
			continue
		}
		sh.popHead()
		sh.evicted++
		return true
	}
	return false
}

// evictions returns how many live records insertEvict dropped.
func (m *fifoMap) evictions() uint64 {
	var n uint64
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		n += sh.evicted
		sh.mu.Unlock()
	}
	return n
}
