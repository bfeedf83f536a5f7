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
// HMAC-SHA256(daily salt, ip|ua|site|YYYY-MM-DD) in hex (docs/privacy.md,
// The visitor id). Keyed HMAC states are pooled per salt, so a beacon does
// not pay for setting up the key each time.
type visitorHasher struct {
	cur atomic.Pointer[saltedPool]
}

type saltedPool struct {
	salt []byte
	pool sync.Pool // of *keyedMAC
}

// keyedMAC is a keyed HMAC state with room for its input and sum, so that
// hashing allocates nothing (a stack buffer passed to an interface method
// would escape).
type keyedMAC struct {
	mac hash.Hash
	msg []byte
	sum [sha256.Size]byte
}

func (vh *visitorHasher) pool(salt []byte) *saltedPool {
	if p := vh.cur.Load(); p != nil && bytes.Equal(p.salt, salt) {
		return p
	}
	key := bytes.Clone(salt)
	p := &saltedPool{salt: key}
	p.pool.New = func() any { return &keyedMAC{mac: hmac.New(sha256.New, key), msg: make([]byte, 0, 512)} }
	vh.cur.Store(p)
	return p
}

func (vh *visitorHasher) id(salt []byte, ip, ua, site string, now time.Time) string {
	p := vh.pool(salt)
	k := p.pool.Get().(*keyedMAC)
	k.mac.Reset()
	msg := append(k.msg[:0], ip...)
	msg = append(msg, '|')
	msg = append(msg, ua...)
	msg = append(msg, '|')
	msg = append(msg, site...)
	msg = append(msg, '|')
	msg = appendDate(msg, now.UTC())
	k.mac.Write(msg)
	id := hex.EncodeToString(k.mac.Sum(k.sum[:0])[:8])
	if cap(msg) <= 4096 { // keep the buffer unless a huge UA grew it
		k.msg = msg[:0]
	}
	p.pool.Put(k)
	return id
}

// appendDate appends t as YYYY-MM-DD, what t.AppendFormat(dst,
// time.DateOnly) appends, without the layout walk that showed in the
// beacon profile. Years outside 0–9999 take AppendFormat.
func appendDate(dst []byte, t time.Time) []byte {
	y, m, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(dst, time.DateOnly)
	}
	return append(dst,
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-',
		byte('0'+d/10), byte('0'+d%10))
}
