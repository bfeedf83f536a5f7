package storage

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"
)

// Counters (tableCounters) are the aggregates the stats API reads instead
// of raw rows:
//
//	0x10 | site | 0x00 | day(2) | dim(1) | value  →  uvarint…
//
// day is the UTC day counted from the Unix epoch (big endian, so a site's
// days sort in time order), dim one of the dim* constants, value the
// dimension's value as bytes (campaign-scoped dims: uvarint(len(campaign))
// | campaign | sub-value). The stored value is a vector of uvarints whose
// meaning depends on dim (the *Fields constants); trailing zeros are
// trimmed. A day's counters of one dimension are one prefix scan, so a
// query costs O(days × distinct values), whatever the number of views.
const tableCounters byte = 0x10

// Dimensions. Values are stored: append only.
const (
	dimTotal   byte = 0 // value ""; totalFields
	dimHours   byte = 1 // value ""; 24 × hourFields
	dimPath    byte = 2
	dimDevice  byte = 3
	dimOS      byte = 4
	dimBrowse  byte = 5 // "name version", "name" or ""
	dimCountr  byte = 6
	dimRefTyp  byte = 7
	dimRefOrg  byte = 8
	dimResol   byte = 9 // "WxH", 0 for a missing side
	dimUTMSrc  byte = 10
	dimUTMMed  byte = 11
	dimUTMCmp  byte = 12 // "" = views without a campaign (organic)
	dimUTMCon  byte = 13
	dimUTMTrm  byte = 14
	dimEvType  byte = 15 // clean events by type
	dimCmpSrc  byte = 16 // campaign × utm_source
	dimCmpMed  byte = 17 // campaign × utm_medium
	dimCmpCon  byte = 18 // campaign × utm_content
	dimCmpTrm  byte = 19 // campaign × utm_term
	dimCmpPth  byte = 20 // campaign × path
	dimCmpEvT  byte = 21 // event campaign ("" = none) × event type
	dimCmpEvs  byte = 22 // event campaign ("" = none); all clean events
	dimMinute  byte = 23 // value: minute of the day, 2 bytes; minuteFields; deleted by the daily maintenance
	dimEvRows  byte = 24 // stored events by type, any score or visitor; rowFields
	dimQuality byte = 25 // value ""; stored rows kept out of the clean statistics, by reason (quality.go)
	dimDrops   byte = 26 // value ""; hits not stored, by reason (quality.go); rebuilds keep it

	dimCount = 27 // the number of dims
)

// Fields of dimEvRows: stored rows, counted whatever their visitor
// (exclusions do not apply), split by the retention that purges them.
const (
	rClean = iota // scoring 0–49
	rOther        // scoring ≥ 50 or < 0
	rowFields
)

// Fields of dimMinute, the live counters of the dashboard's last hour.
const (
	mViews     = iota // clean views
	mVisitors         // distinct visitors with a clean view in the minute
	mEvents           // clean events
	mBotViews         // views scoring ≥ 50
	mLastClean        // visitors whose latest clean view of the day is in the minute
	mLastBot          // the same for views scoring ≥ 50
	mVerified         // clean views that carried a valid proof of work
	minuteFields
)

// minuteValues are the dimMinute values, one per minute of the day.
var minuteValues = func() (m [1440]string) {
	for i := range m {
		m[i] = string([]byte{byte(i >> 8), byte(i)})
	}
	return m
}()

// hourlyDim marks the hourly copy of a value dimension (dimPath …
// dimEvType): key …| day | dim|hourlyDim | hour(1) | value, fields: the
// count only (distinct visitors are daily).
const hourlyDim byte = 0x80

// hasHourly reports whether a value dimension also has hourly counters.
func hasHourly(dim byte) bool { return dim >= dimPath && dim <= dimEvType }

// Fields of a value dimension: clean views (or events) and distinct
// visitors that day.
const (
	fCount = iota
	fVisitors
	valueFields
)

// Fields of dimTotal.
const (
	tViews       = iota // clean views
	tVisitors           // distinct visitors with a clean view
	tInterSum           // sum of positive interaction_ms of clean views
	tInterN             // clean views with positive interaction_ms
	tBotViews           // views scoring ≥ 50
	tAnyVisitors        // distinct visitors with any view
	tEvents             // clean events
	tEvVisitors         // distinct visitors with a clean event
	tBotEvents          // events scoring ≥ 50
	tOtherEvents        // events scoring < 0 (ingested)
	// Stored rows, whatever their visitor (exclusions do not apply), for
	// the list pages' totals: clean (0–49) and other scores, which
	// retention purges apart.
	tViewRows
	tViewRowsOther
	tEventRows
	tEventRowsOther
	tVerified // clean views that carried a valid proof of work
	totalFields
)

// Fields of each hour in dimHours: slot h*hourFields + field.
const (
	hViews    = iota // clean views
	hVisitors        // distinct visitors with a clean view in the hour
	hEvents          // clean events
	hBotViews        // views scoring ≥ 50
	hAnyLast         // visitors (any score) whose last view of the day is in the hour
	hourFields
)

const hoursFields = 24 * hourFields

// uniqueDims are the value dimensions that count distinct visitors; the
// others only count.
var uniqueDims = [256]bool{
	dimPath: true, dimCountr: true, dimUTMCmp: true, dimEvType: true,
	dimCmpSrc: true, dimCmpMed: true, dimCmpPth: true, dimCmpEvT: true, dimCmpEvs: true,
}

// Day is a UTC day counted from the Unix epoch.
type Day int32

// DayOf is t's UTC day.
func DayOf(t time.Time) Day { return Day(unixDay(t)) }

// Time is the day's midnight, UTC.
func (d Day) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// String is YYYY-MM-DD.
func (d Day) String() string { return d.Time().Format(time.DateOnly) }

// ckey identifies one counter while a batch is aggregated.
type ckey struct {
	site string
	day  Day
	dim  byte // | hourlyDim for an hourly counter
	hour uint8
	a, b string // value; b only for the two-part dims (campaign, browser)
}

func counterPrefix(site string, day Day, dim byte) []byte {
	k := make([]byte, 0, len(site)+5)
	k = append(k, tableCounters)
	k = append(k, site...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint16(k, uint16(day))
	return append(k, dim)
}

func siteCounterPrefix(site string) []byte {
	return append(append([]byte{tableCounters}, site...), 0)
}

// appendCounterKey appends the stored key of k.
func appendCounterKey(dst []byte, k *ckey) []byte {
	dst = append(dst, tableCounters)
	dst = append(dst, k.site...)
	dst = append(dst, 0)
	dst = binary.BigEndian.AppendUint16(dst, uint16(k.day))
	dst = append(dst, k.dim)
	if k.dim&hourlyDim != 0 {
		dst = append(dst, k.hour)
	}
	return appendDimValue(dst, k.dim&^hourlyDim, k.a, k.b)
}

func appendDimValue(dst []byte, dim byte, a, b string) []byte {
	switch {
	case twoPart(dim):
		dst = binary.AppendUvarint(dst, uint64(len(a)))
		dst = append(dst, a...)
		return append(dst, b...)
	case dim == dimBrowse && b != "":
		dst = append(dst, a...)
		dst = append(dst, ' ')
		return append(dst, b...)
	}
	return append(dst, a...)
}

func twoPart(dim byte) bool { return dim >= dimCmpSrc && dim <= dimCmpEvT }

// splitDimValue undoes appendDimValue for two-part dims (the browser is
// read back as its joined label).
func splitDimValue(dim byte, v []byte) (a, b string, err error) {
	if !twoPart(dim) {
		return string(v), "", nil
	}
	n, w := binary.Uvarint(v)
	if w <= 0 || n > uint64(len(v)-w) {
		return "", "", fmt.Errorf("%w: counter value %x", errBadKey, v)
	}
	return string(v[w : w+int(n)]), string(v[w+int(n):]), nil
}

// campaignPrefix is the value prefix of campaign-scoped dims for one campaign.
func campaignValuePrefix(campaign string) []byte {
	return append(binary.AppendUvarint(nil, uint64(len(campaign))), campaign...)
}

func appendCounts(dst []byte, c []uint64) []byte {
	n := len(c)
	for n > 0 && c[n-1] == 0 {
		n--
	}
	for _, x := range c[:n] {
		dst = binary.AppendUvarint(dst, x)
	}
	return dst
}

// readCounts decodes a counter value into dst (len = the dim's fields);
// extra fields are an error, missing ones zero.
func readCounts(v []byte, dst []uint64) error {
	clear(dst)
	for i := 0; len(v) > 0; i++ {
		x, n := binary.Uvarint(v)
		if n <= 0 || i >= len(dst) {
			return fmt.Errorf("malformed counter value")
		}
		dst[i] = x
		v = v[n:]
	}
	return nil
}

func fieldsOf(dim byte) int {
	switch dim {
	case dimTotal:
		return totalFields
	case dimHours:
		return hoursFields
	case dimMinute:
		return minuteFields
	case dimEvRows:
		return rowFields
	case dimQuality, dimDrops:
		return qualityFields
	}
	return valueFields
}

// resolution is the "WxH" label of a screen size, 0 for a missing side.
func resolution(w, h int) string {
	if w == 0 && h == 0 {
		return ""
	}
	var buf [24]byte
	b := strconv.AppendInt(buf[:0], int64(w), 10)
	b = append(b, 'x')
	b = strconv.AppendInt(b, int64(h), 10)
	if common, ok := commonResolutions[string(b)]; ok {
		return common // the map lookup does not allocate; the string would
	}
	return string(b)
}

// commonResolutions interns the screen sizes most views have.
var commonResolutions = func() map[string]string {
	m := map[string]string{}
	for _, r := range []string{
		"1920x1080", "1366x768", "1536x864", "1440x900", "1280x720", "1600x900", "2560x1440", "1280x800",
		"1680x1050", "1280x1024", "3840x2160", "2560x1600", "1920x1200", "1024x768", "360x800", "390x844",
		"393x873", "412x915", "414x896", "375x812", "428x926", "430x932", "393x852", "360x780", "375x667",
		"768x1024", "810x1080", "820x1180", "834x1194", "1024x1366", "800x1280", "412x892", "384x854",
	} {
		m[r] = r
	}
	return m
}()
