package storage

import (
	"encoding/binary"
	"errors"
	"time"
)

// Table prefixes: the first byte of every key. Values are fixed forever; a
// new table takes a new byte. 0x10–0x2f are reserved for aggregates and
// rollups.
const (
	tableMeta          byte = 0x00 // named singletons: sequences, instance secret
	tableViews         byte = 0x01 // pageviews by site and time
	tableEvents        byte = 0x02 // semantic events by site and time
	tableVisitorViews  byte = 0x03 // pageview index by visitor
	tableVisitorEvents byte = 0x04 // event index by visitor
	tableViewIDs       byte = 0x05 // pageview index by id
	tableEventIDs      byte = 0x06 // event index by id
	tableSalts         byte = 0x07 // daily visitor salts
)

// Meta keys: tableMeta followed by an ASCII name.
var (
	metaViewSeq        = []byte("\x00seq/views")
	metaEventSeq       = []byte("\x00seq/events")
	metaInstanceSecret = []byte("\x00instance-secret")
)

// maxVisitorIDLen bounds the visitor id so index keys stay far below Badger's
// key size limit.
const maxVisitorIDLen = 1024

var errBadKey = errors.New("malformed key")

// ValidSiteID reports whether s matches ^[A-Za-z0-9._-]{1,64}$, the site ids
// the store accepts. Keys rely on it: a site never contains the 0x00 that
// terminates it.
func ValidSiteID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// Primary rows (tableViews, tableEvents):
//
//	table(1) | site | 0x00 | time(8) | id(8)  →  EncodeView / EncodeEvent
//
// time is the Unix millisecond of CreatedAt with the sign bit flipped, big
// endian, so byte order is time order (also before 1970); id is big endian.
// All rows of one site share the prefix table|site|0x00, and a time range is
// a seek inside it. The value does not repeat site, time or id.
func rowKey(table byte, site string, ms int64, id uint64) []byte {
	k := make([]byte, 0, len(site)+18)
	k = append(k, table)
	k = append(k, site...)
	k = append(k, 0)
	return appendTimeID(k, ms, id)
}

// sitePrefix is table | site | 0x00: every row of one site.
func sitePrefix(table byte, site string) []byte {
	k := make([]byte, 0, len(site)+2)
	k = append(k, table)
	k = append(k, site...)
	return append(k, 0)
}

// Visitor index (tableVisitorViews, tableVisitorEvents):
//
//	table(1) | token(visitor id) | time(8) | id(8)  →  site
//
// token is the self-delimiting form of appendKeyToken (uvarint header, then
// the id, 16 hex chars packed to 8 bytes), so no visitor's prefix is another
// visitor's prefix, and one visitor's history is a prefix scan in time order.
// The value, the site, completes the primary key.
func visitorKey(table byte, visitor string, ms int64, id uint64) []byte {
	k := visitorPrefix(table, visitor)
	return appendTimeID(k, ms, id)
}

func visitorPrefix(table byte, visitor string) []byte {
	k := make([]byte, 0, len(visitor)+20)
	k = append(k, table)
	return appendKeyToken(k, visitor)
}

// ID index (tableViewIDs, tableEventIDs):
//
//	table(1) | id(8)  →  time(8) | site
//
// A point lookup gives what the primary key needs besides the id.
func idKey(table byte, id uint64) []byte {
	k := make([]byte, 9)
	k[0] = table
	binary.BigEndian.PutUint64(k[1:], id)
	return k
}

func idValue(site string, ms int64) []byte {
	v := make([]byte, 8, 8+len(site))
	binary.BigEndian.PutUint64(v, timeBits(ms))
	return append(v, site...)
}

func parseIDValue(v []byte) (site string, ms int64, err error) {
	if len(v) < 9 {
		return "", 0, errBadKey
	}
	return string(v[8:]), timeFromBits(binary.BigEndian.Uint64(v)), nil
}

// Daily salts (tableSalts):
//
//	table(1) | "YYYY-MM-DD" (UTC day)  →  32 random bytes, Badger TTL = end of that day
//
// The ASCII date sorts like the day, so "every earlier day" is a scan from
// the table start up to today's key.
func saltKey(day string) []byte {
	return append([]byte{tableSalts}, day...)
}

func appendTimeID(k []byte, ms int64, id uint64) []byte {
	k = binary.BigEndian.AppendUint64(k, timeBits(ms))
	return binary.BigEndian.AppendUint64(k, id)
}

// splitTimeID reads the time and id that end every row and index key.
func splitTimeID(k []byte) (ms int64, id uint64, err error) {
	if len(k) < 17 {
		return 0, 0, errBadKey
	}
	t := k[len(k)-16:]
	return timeFromBits(binary.BigEndian.Uint64(t)), binary.BigEndian.Uint64(t[8:]), nil
}

func timeBits(ms int64) uint64    { return uint64(ms) ^ (1 << 63) }
func timeFromBits(u uint64) int64 { return int64(u ^ (1 << 63)) }
func msTime(ms int64) time.Time   { return time.UnixMilli(ms).UTC() }

// ceilMilli is the first whole millisecond at or after t: stored times are
// whole milliseconds, so CreatedAt >= t exactly when its ms >= ceilMilli(t).
func ceilMilli(t time.Time) (ms int64) {
	ms = t.UnixMilli()
	if time.UnixMilli(ms).Before(t) {
		ms++
	}
	return ms
}
