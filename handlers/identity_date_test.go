package handlers

import (
	"testing"
	"time"
)

func TestAppendDate_MatchesAppendFormatDateOnly(t *testing.T) {
	var days []time.Time
	for d := time.Date(1999, 12, 25, 0, 0, 0, 0, time.UTC); d.Year() < 2031; d = d.Add(61 * time.Hour) {
		days = append(days, d)
	}
	for _, y := range []int{-1, 0, 7, 999, 1000, 9999, 10000, 123456} {
		days = append(days, time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(y, 12, 31, 23, 59, 59, 0, time.UTC))
	}
	for _, d := range days {
		want := d.AppendFormat([]byte("x|"), time.DateOnly)
		if got := appendDate([]byte("x|"), d); string(got) != string(want) {
			t.Fatalf("appendDate(%v) = %q, want %q", d, got, want)
		}
	}
}

// BenchmarkVisitorHasherID is the cookieless visitor id of a beacon.
func BenchmarkVisitorHasherID(b *testing.B) {
	var vh visitorHasher
	salt := []byte("0123456789abcdef0123456789abcdef")
	now := time.Now()
	ua := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	b.ReportAllocs()
	for b.Loop() {
		vh.id(salt, "10.1.2.7", ua, "shop", now)
	}
}
