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
	tableMeta          byte = 0x00 // named singletons, the site registry
	tableViews         byte = 0x01 // pageviews by site and id (= time)
	tableEvents        byte = 0x02 // semantic events by site and id (= time)
	tableVisitorViews  byte = 0x03 // pageview index by visitor
	tableVisitorEvents byte = 0x04 // event index by visitor
	// 0x05 and 0x06 held the id indexes of layout 1; never reuse them.
	tableSalts byte = 0x07 // daily visitor salts of earlier versions (salt.go)
	// 0x08 tableExclusions: excluded visitors (exclusions.go).
	// 0x09 tableScoreIndex: views by score (scoreindex.go).
	// 0x0a, 0x0b tableViewIndexLog, tableEventIndexLog: the visitor
	// index's log (visitorindex.go).
	// 0x0e, 0x0f tableImportedViews, tableImportedEvents: backdated rows
	// that may fall inside a live block's id range (blocks.go).

	// Experiments and settings (experiments.go, settings.go); perf metrics and
	// instance settings are 0x40–0x42 (perf.go, instance.go).
	tableExperiments  byte = 0x30 // experiment definitions by id
	tableVariants     byte = 0x31 // variants by experiment and position
	tableExposures    byte = 0x32 // exposed sessions by experiment and variant
	tableConversions  byte = 0x33 // metric names sent, by session
	tableSiteSettings byte = 0x34 // per-site settings (consent CSS)
)

// Tables of the stats work, each documented in its file: 0x0c
// maintenance_log (maintenance.go), 0x0d UTM campaigns (campaigns.go),
// 0x10 counters (agg_keys.go), 0x11 visitor states kept on disk
// (agg_visitors.go), 0x12 imported daily rollups (import_rollup.go), 0x2f
// ingest event ids (ingest.go).

// Meta keys: tableMeta followed by an ASCII name.
//
//	"\x00layout"           →  layoutVersion(1)
//	"\x00instance-secret"  →  32 bytes
//	"\x00last-id/views"    →  id(8), the highest view id a batch wrote
//	"\x00last-id/events"   →  id(8), the same for events
//	"\x00site/" + site     →  empty: site has (or had) rows
//
// Layout 1 also had "\x00seq/views" and "\x00seq/events".
var (
	metaLayout         = []byte("\x00layout")
	metaInstanceSecret = []byte("\x00instance-secret")
	metaLastViewID     = []byte("\x00last-id/views")
	metaLastEventID    = []byte("\x00last-id/events")
	metaSitePrefix     = []byte("\x00site/")
)

// layoutVersion is the key layout this file describes. Layout 1 had a time
// field before the id in row and visitor keys, id index tables and Badger
// sequences for ids; layout 2 had one key per row where layout 3 stores
// blocks of rows (blocks.go); layout 3 had one visitor index key per row
// where layout 4 has chunks and an index log (visitorindex.go); layout 5
// adds the visitor summaries (summaries.go), the view attributes in the
// views' index log and the row totals in the day counters. Open upgrades
// layouts 3 and 4 in place (layout 3's index keys are valid chunks; the
// summaries and row totals are derived from the rows) and refuses any
// other.
const layoutVersion byte = 5

func siteMetaKey(site string) []byte {
	k := make([]byte, 0, len(metaSitePrefix)+len(site))
	k = append(k, metaSitePrefix...)
	return append(k, site...)
}

// maxVisitorIDLen bounds the visitor id so index keys stay far below Badger's
// key size limit.
const maxVisitorIDLen = 1024

var errBadKey = errors.New("malformed key")

// storedSite reports whether rows may be stored and read under site: a
// valid site id, or OtherSite.
func storedSite(site string) bool { return site == OtherSite || ValidSiteID(site) }

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

// DefaultSite is the site id used when a request names none or an invalid
// one: invalid ids are replaced, not rejected (docs/tracker.md).
const DefaultSite = "default"

// SiteOrDefault returns s when it is a valid site id, else DefaultSite.
func SiteOrDefault(s string) string {
	if ValidSiteID(s) {
		return s
	}
	return DefaultSite
}

// Primary rows (tableViews, tableEvents), in blocks (blocks.go):
//
//	table(1) | site | 0x00 | firstID(8)  →  block of EncodeView / EncodeEvent records
//
// id is big endian, and an id encodes its row's time (ids.go), so byte
// order is time order. All rows of one site share the prefix
// table|site|0x00; a time range is a seek inside it. Records do not repeat
// site, time or id.
func rowKey(table byte, site string, id uint64) []byte {
	k := make([]byte, 0, len(site)+10)
	return appendRowKey(k, table, site, id)
}

func appendRowKey(k []byte, table byte, site string, id uint64) []byte {
	k = append(k, table)
	k = append(k, site...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, id)
}

// sitePrefix is table | site | 0x00: every row of one site.
func sitePrefix(table byte, site string) []byte {
	k := make([]byte, 0, len(site)+2)
	k = append(k, table)
	k = append(k, site...)
	return append(k, 0)
}

// Visitor index (tableVisitorViews, tableVisitorEvents): chunks of one
// visitor's row ids, see visitorindex.go:
//
//	table(1) | token(visitor) | firstID(8)  →  site [ 0x00 | id deltas… ]
//
// (A row is in the site's block found by findRow.) token is the
// self-delimiting form of appendKeyToken (uvarint header, then the id, 16
// hex chars packed to 8 bytes), so no visitor's prefix is another
// visitor's prefix, and one visitor's history is a prefix scan in id (=
// time) order of its chunks' first ids. A 16-hex visitor id makes an
// 18-byte key.
func appendVisitorKey(k []byte, table byte, visitor string, id uint64) []byte {
	k = append(k, table)
	k = appendKeyToken(k, visitor)
	return binary.BigEndian.AppendUint64(k, id)
}

func visitorPrefix(table byte, visitor string) []byte {
	k := make([]byte, 0, len(visitor)+4)
	k = append(k, table)
	return appendKeyToken(k, visitor)
}

// keyID reads the id that ends every row and visitor index key.
func keyID(k []byte) uint64 {
	return binary.BigEndian.Uint64(k[len(k)-8:])
}

// Daily salts of earlier versions (tableSalts):
//
//	table(1) | "YYYY-MM-DD" (UTC day)  →  32 random bytes, Badger TTL = end of that day
//
// The salt now lives in a file (salt.go); Open moves today's out and drops
// the table.
func saltKey(day string) []byte {
	return append([]byte{tableSalts}, day...)
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// ceilMilli is the first whole millisecond at or after t: stored times are
// whole milliseconds, so CreatedAt >= t exactly when its ms >= ceilMilli(t).
func ceilMilli(t time.Time) (ms int64) {
	ms = t.UnixMilli()
	if time.UnixMilli(ms).Before(t) {
		ms++
	}
	return ms
}
