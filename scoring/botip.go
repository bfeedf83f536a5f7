package scoring

import (
	"crypto/sha256"
	"hash/maphash"
	"net/netip"
	"time"
)

// IPTier is how strongly an IP is tied to bot traffic (the bot_ip signal
// of docs/bot-defense.md).
type IPTier uint8

const (
	IPTierNone IPTier = iota
	// IPTierSuspected: the IP sent a known-bot User-Agent on some route in
	// the last SuspectedTTL.
	IPTierSuspected
	// IPTierConfirmed: the correlator put the IP in a flagged cluster in
	// the last ConfirmedTTL.
	IPTierConfirmed
)

const (
	SuspectedTTL = 30 * time.Minute // after the last sighting
	ConfirmedTTL = time.Hour        // after the last confirmation
	// DefaultBotIPCapacity is the number of keys each tier holds when
	// NewBotIPs is given no capacity.
	DefaultBotIPCapacity = 100_000
)

// Points returns the tier's bot_ip points: 50 confirmed, 20 suspected,
// halved (25, 10) when the hit carried a valid proof of work. A valid PoW
// softens rather than clears the tier: it shows a real browser ran
// the page, which a NATed office colleague of a curl user does, but so can
// a headless bot, so the tier still counts.
func (t IPTier) Points(powValid bool) int {
	p := 0
	switch t {
	case IPTierConfirmed:
		p = 50
	case IPTierSuspected:
		p = 20
	}
	if powValid {
		p /= 2
	}
	return p
}

func (t IPTier) String() string {
	switch t {
	case IPTierConfirmed:
		return "confirmed"
	case IPTierSuspected:
		return "suspected"
	}
	return "none"
}

// BotIP adds the IP tier to a score under "bot_ip", after the proof of
// work was checked (Rules.PoW): nothing for IPTierNone.
func (r *Rules) BotIP(res *Result, tier IPTier, powValid bool) {
	if p := tier.Points(powValid); p != 0 {
		res.Add("bot_ip", p)
	}
}

// BotIPs is the two-tier bot-IP map: IP keys (IPKey) seen with a known-bot
// User-Agent (suspected) or in a flagged correlator cluster (confirmed),
// each remembered for its TTL after the last mark.
//
// Each tier holds at most capacity keys, about 28 bytes each, and drops
// expired ones in O(1) (see fifoMap); marking a key again moves its expiry.
// A tier that is full of unexpired keys refuses new ones (Suspect and
// Confirm report false) and then fails closed: Tier answers
// IPTierSuspected for every key it does not hold until room frees up, so
// a flood of bot IPs large enough to fill it is scored rather than
// forgotten. The fallback is suspected even when the confirmed tier is
// the full one: +50 on every unknown IP would discard real visitors,
// while +20 (10 with a valid PoW) flags them.
//
// Safe for concurrent use; nil holds nothing.
type BotIPs struct {
	base                 time.Time
	seed                 maphash.Seed
	suspected, confirmed fifoMap
}

// NewBotIPs returns a map holding up to capacity keys per tier
// (DefaultBotIPCapacity if capacity <= 0).
func NewBotIPs(capacity int) *BotIPs {
	if capacity <= 0 {
		capacity = DefaultBotIPCapacity
	}
	return &BotIPs{
		base:      time.Now(),
		seed:      maphash.MakeSeed(),
		suspected: newFIFOMap(capacity),
		confirmed: newFIFOMap(capacity),
	}
}

// Suspect records a known-bot User-Agent from key at now. It reports false
// if the suspected tier is full (see BotIPs).
func (b *BotIPs) Suspect(key [16]byte, now time.Time) bool {
	return b != nil && b.mark(&b.suspected, key, now, SuspectedTTL)
}

// Confirm records key as part of a flagged correlator cluster at now. It
// reports false if the confirmed tier is full (see BotIPs).
func (b *BotIPs) Confirm(key [16]byte, now time.Time) bool {
	return b != nil && b.mark(&b.confirmed, key, now, ConfirmedTTL)
}

func (b *BotIPs) mark(m *fifoMap, key [16]byte, now time.Time, ttl time.Duration) bool {
	t := int64(now.Sub(b.base))
	h := maphash.Comparable(b.seed, key)
	sh := m.shard(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if slot, p := sh.find(h); p >= 0 {
		sh.requeue(slot, p, h, t, t+int64(ttl), 1)
		return true
	}
	return sh.insert(h, t, t+int64(ttl), 1)
}

// Tier returns key's tier at now, confirmed first.
func (b *BotIPs) Tier(key [16]byte, now time.Time) IPTier {
	if b == nil {
		return IPTierNone
	}
	t := int64(now.Sub(b.base))
	h := maphash.Comparable(b.seed, key)
	held, full := lookup(&b.confirmed, h, t)
	if held {
		return IPTierConfirmed
	}
	held, fullS := lookup(&b.suspected, h, t)
	if held || full || fullS {
		return IPTierSuspected
	}
	return IPTierNone
}

// lookup reports whether h is held unexpired at t, and whether its shard
// is full.
func lookup(m *fifoMap, h uint64, t int64) (held, full bool) {
	sh := m.shard(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, p := sh.find(h); p >= 0 {
		expires, _ := sh.at(p)
		return t < expires, false
	}
	return false, sh.full(t)
}

// Len returns the number of keys held per tier, including expired ones not
// yet dropped.
func (b *BotIPs) Len() (suspected, confirmed int) {
	if b == nil {
		return 0, 0
	}
	return b.suspected.len(), b.confirmed.len()
}

// IPKey is the key under which an IP is counted by Burst (through
// BurstKeyOf) and BotIPs, and recorded by the correlator:
// HMAC-SHA256(salt, ip) cut to 16 bytes, with the handler's daily visitor
// salt, so the raw IP is never held and the keys change every day.
//
// An IPv6 address counts as its /64: one subscriber or host usually has a
// whole /64 and can rotate through it at will. An IPv4-mapped address
// counts as the IPv4 address. The invalid Addr (the IP could not be
// resolved) gives one shared key.
//
// It does not allocate.
func IPKey(ip netip.Addr, salt []byte) [16]byte {
	var msg [17]byte
	n := ipKeyMessage(&msg, ip)
	sum := hmacSHA256(salt, msg[:n])
	var k [16]byte
	copy(k[:], sum[:])
	return k
}

// ipKeyMessage writes what IPKey hashes: a family byte, then the IPv4
// address or the IPv6 /64; it returns the length.
func ipKeyMessage(msg *[17]byte, ip netip.Addr) int {
	ip = ip.Unmap()
	n := 1
	msg[0] = 0 // the invalid Addr: one shared key
	switch {
	case ip.Is4():
		msg[0] = 4
		a := ip.As4()
		n += copy(msg[1:], a[:])
	case ip.Is6():
		msg[0] = 6
		a := ip.As16()
		n += copy(msg[1:], a[:8]) // the /64
	}
	return n
}

// hmacSHA256 is RFC 2104 HMAC over SHA-256 for messages up to 32 bytes,
// on the stack (crypto/hmac allocates two hash states per call).
func hmacSHA256(key, msg []byte) [32]byte {
	const blockSize = 64
	var k [blockSize]byte
	if len(key) > blockSize {
		s := sha256.Sum256(key)
		copy(k[:], s[:])
	} else {
		copy(k[:], key)
	}
	var inner [blockSize + 32]byte
	for i, c := range k {
		inner[i] = c ^ 0x36
	}
	n := blockSize + copy(inner[blockSize:], msg)
	innerSum := sha256.Sum256(inner[:n])
	var outer [blockSize + 32]byte
	for i, c := range k {
		outer[i] = c ^ 0x5c
	}
	copy(outer[blockSize:], innerSum[:])
	return sha256.Sum256(outer[:])
}
