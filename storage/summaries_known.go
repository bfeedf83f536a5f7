package storage

import (
	"fmt"
	"hash/maphash"

	"github.com/dgraph-io/badger/v4"
)

// A merge pass needs each visitor's stored summary, and a seek into the
// visitor index costs about as much as writing a key. Most visitors of a
// pass are new (an id lives one day) or were met by a recent pass, so the
// store keeps, under sum.mu:
//
//   - known, a Bloom filter of the (site, visitor) pairs that have a
//     summary: a pair it does not hold is new, without a seek. It is built
//     at Open from the by-views index (about 10 bits per visitor), grown
//     (built again, twice as large) when it fills, and built again after a
//     purge, which removes visitors a Bloom filter cannot forget;
//   - recent, the summaries the last passes wrote (at most recentCap,
//     emptied when full, and whenever a purge, raise or rebuild changes
//     summaries behind it).
//
// Both only spare seeks: a pair the filter holds by mistake, or that the
// cache lacks, is looked up as before.
const (
	minKnownCap = 1 << 16
	recentCap   = 1 << 16
)

// knownVisitors is a Bloom filter of site and visitor key token pairs.
type knownVisitors struct {
	seed     maphash.Seed
	bits     []uint64
	n, limit int // pairs added; the pairs it is sized for
}

const knownHashes = 7 // for about 10 bits per pair: ~1 % false positives

func newKnownVisitors(capacity int) *knownVisitors {
	capacity = max(capacity, minKnownCap)
	return &knownVisitors{seed: maphash.MakeSeed(), bits: make([]uint64, (capacity*10+63)/64), limit: capacity}
}

// hashes are the two base hashes of a pair (double hashing gives the rest).
func (k *knownVisitors) hashes(site string, token []byte) (uint64, uint64) {
	var h maphash.Hash
	h.SetSeed(k.seed)
	h.WriteString(site)
	h.WriteByte(0)
	h.Write(token)
	a := h.Sum64()
	return a, a>>32 | a<<32 | 1
}

func (k *knownVisitors) add(site string, token []byte) {
	a, b := k.hashes(site, token)
	m := uint64(len(k.bits) * 64)
	for i := range uint64(knownHashes) {
		bit := (a + i*b) % m
		k.bits[bit/64] |= 1 << (bit % 64)
	}
	k.n++
}

func (k *knownVisitors) mayHave(site string, token []byte) bool {
	a, b := k.hashes(site, token)
	m := uint64(len(k.bits) * 64)
	for i := range uint64(knownHashes) {
		bit := (a + i*b) % m
		if k.bits[bit/64]&(1<<(bit%64)) == 0 {
			return false
		}
	}
	return true
}

func (k *knownVisitors) full() bool { return k.n >= k.limit }

// recentSummary is a summary a pass wrote, and the first id of the chunk
// that carries it (the visitor's last chunk on the site).
type recentSummary struct {
	sum  visitorSummary
	last uint64
}

// buildKnown makes the filter of every (site, visitor) with a summary, for
// at least capacity pairs, from the by-views index (keys only), and
// empties the cache. The caller holds s.sum.mu (or is Open).
func (s *Store) buildKnown(capacity int) error {
	var pairs [][2][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tableVisitorsByViews}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			key := it.Item().Key()
			site, rest, ok := cutSite(key[1:])
			if !ok || len(rest) < 5 {
				return fmt.Errorf("%w: %x", errBadKey, key)
			}
			pairs = append(pairs, [2][]byte{site, append([]byte(nil), rest[4:]...)})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("visitor summaries: %w", err)
	}
	k := newKnownVisitors(max(capacity, 2*len(pairs)))
	for _, p := range pairs {
		k.add(string(p[0]), p[1])
	}
	s.sum.known = k
	s.sum.recent = make(map[string]recentSummary)
	return nil
}

// cutSite splits "site 0x00 rest".
func cutSite(b []byte) (site, rest []byte, ok bool) {
	for i, c := range b {
		if c == 0 {
			return b[:i], b[i+1:], true
		}
	}
	return nil, nil, false
}

// remember records a summary a pass wrote. The caller holds s.sum.mu.
func (s *Store) remember(key string, site string, token []byte, r recentSummary) {
	if len(s.sum.recent) >= recentCap {
		clear(s.sum.recent)
	}
	s.sum.recent[key] = r
	if s.sum.known != nil { // else Open builds it once the summaries are ready
		s.sum.known.add(site, token)
	}
}

// growKnown builds the filter again, twice as large, once it is full. It
// reads the by-views index, so it runs after a pass's writes are stored
// (a pair added but not stored yet would be lost to it). The caller holds
// s.sum.mu.
func (s *Store) growKnown() error {
	if s.sum.known == nil || !s.sum.known.full() {
		return nil
	}
	return s.buildKnown(2 * s.sum.known.limit)
}

// forgetRecent empties the cache, after summaries changed behind it. The
// caller holds s.sum.mu.
func (s *Store) forgetRecent() {
	if s.sum.recent != nil {
		clear(s.sum.recent)
	}
}
