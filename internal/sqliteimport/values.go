package sqliteimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Row values of the original's SQLite file. SQLite columns are dynamically
// typed, so a value is read as whatever the driver returns (nil, int64,
// float64, string or []byte) and converted here.

// errBadTime is a time value that is none of the forms the original wrote.
var errBadTime = errors.New("not a UTC timestamp")

// parseTime reads a timestamp column: the original's
// YYYY-MM-DDTHH:MM:SS.sssZ, SQLite's own YYYY-MM-DD HH:MM:SS[.fff] (UTC),
// an ISO-8601 time with a zone, or a number of Unix seconds (milliseconds
// when above 1e11). The result is UTC, in whole milliseconds, and not
// before 1970.
func parseTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case int64:
		return unixTime(float64(x))
	case float64:
		return unixTime(x)
	case []byte:
		return parseTimeText(string(x))
	case string:
		return parseTimeText(x)
	}
	return time.Time{}, errBadTime
}

func unixTime(f float64) (time.Time, error) {
	if math.IsNaN(f) || f < 0 || f > 1e14 {
		return time.Time{}, errBadTime
	}
	ms := f * 1000
	if f > 1e11 {
		ms = f
	}
	return time.UnixMilli(int64(ms)).UTC(), nil
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	time.DateOnly,
}

func parseTimeText(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return time.Time{}, errBadTime
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		return unixTime(n)
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			if t.Before(time.Unix(0, 0)) || t.Year() > 5000 {
				return time.Time{}, errBadTime
			}
			return t.UTC().Truncate(time.Millisecond), nil
		}
	}
	return time.Time{}, errBadTime
}

// text is a column as text: "" for NULL, numbers formatted, invalid UTF-8
// replaced, cut to max bytes on a character boundary.
func text(v any, max int) string {
	var s string
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		s = x
	case []byte:
		s = string(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		s = strconv.FormatBool(x)
	default:
		return ""
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > max {
		s = s[:max]
		for len(s) > 0 && !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}

// integer is a column as an integer: NULL, text that is not a number and
// non-finite values are 0; fractions are cut.
func integer(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0
		}
		return int64(max(min(x, 1<<62), -1<<62))
	case bool:
		if x {
			return 1
		}
	case string, []byte:
		s := strings.TrimSpace(text(x, 64))
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return integer(f)
		}
	}
	return 0
}

// number is a column as a float, ok false for NULL, text that is not a
// number, and non-finite values.
func number(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case int64:
		f = float64(x)
	case float64:
		f = x
	case string, []byte:
		n, err := strconv.ParseFloat(strings.TrimSpace(text(x, 64)), 64)
		if err != nil {
			return 0, false
		}
		f = n
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// jsonText is a JSON column as compact JSON text, "" for NULL or text that
// is not JSON (or longer than max once compacted). The original wrote some
// JSON twice encoded (a JSON string holding JSON); that is unwrapped.
func jsonText(v any, max int) string {
	s := text(v, 1<<20)
	if s == "" {
		return ""
	}
	var buf bytes.Buffer
	if json.Compact(&buf, []byte(s)) != nil {
		return ""
	}
	if b := buf.Bytes(); b[0] == '"' {
		var inner string
		if json.Unmarshal(b, &inner) == nil {
			var ib bytes.Buffer
			if t := strings.TrimSpace(inner); t != "" && (t[0] == '{' || t[0] == '[') && json.Compact(&ib, []byte(t)) == nil {
				buf = ib
			}
		}
	}
	if buf.Len() > max {
		return ""
	}
	return buf.String()
}

// jsonObject is jsonText for a column that must hold a JSON object.
func jsonObject(v any, max int) string {
	s := jsonText(v, max)
	if s == "" || s[0] != '{' {
		return ""
	}
	return s
}
