package handlers

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"sync"
	"sync/atomic"
	"time"
)

// visitorHasher computes cookieless visitor ids: the first 8 bytes of
// HMAC-SHA256(daily salt, ip|ua|site|YYYY-MM-DD) in hex
// (tracker-protocol.md §6). Keyed HMAC states are pooled per salt, so a
// beacon does not pay for setting up the key each time.
type visitorHasher struct {
	cur atomic.Pointer[saltedPool]
}

type saltedPool struct {
	salt []byte
	pool sync.Pool
}

func (vh *visitorHasher) pool(salt []byte) *saltedPool {
	if p := vh.cur.Load(); p != nil && bytes.Equal(p.salt, salt) {
		return p
	}
	key := bytes.Clone(salt)
	p := &saltedPool{salt: key}
	p.pool.New = func() any { return hmac.New(sha256.New, key) }
	vh.cur.Store(p)
	return p
}

func (vh *visitorHasher) id(salt []byte, ip, ua, site string, now time.Time) string {
	p := vh.pool(salt)
	mac := p.pool.Get().(hash.Hash)
	mac.Reset()
	var buf [512]byte
	msg := append(buf[:0], ip...)
	msg = append(msg, '|')
	msg = append(msg, ua...)
	msg = append(msg, '|')
	msg = append(msg, site...)
	msg = append(msg, '|')
	msg = now.UTC().AppendFormat(msg, time.DateOnly)
	mac.Write(msg)
	var sum [sha256.Size]byte
	mac.Sum(sum[:0])
	p.pool.Put(mac)
	return hex.EncodeToString(sum[:8])
}
