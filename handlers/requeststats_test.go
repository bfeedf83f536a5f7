package handlers

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

func TestRequestStats_WindowPercentilesAndSlowPaths(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s := NewRequestStats(func() time.Time { return now })
	// Outside the window by the time of the query: counted in the totals
	// only.
	s.Record(now, "/old", 900*time.Millisecond, 503)
	now = now.Add(10 * time.Minute)
	// 100 requests of 1..100 ms on /a, a slow /b, errors on /c.
	for i := 1; i <= 100; i++ {
		s.Record(now, "/a", time.Duration(i)*time.Millisecond, 200)
	}
	s.Record(now, "/b", 250*time.Millisecond, 200)
	s.Record(now, "/c", 2*time.Millisecond, 500)
	s.Record(now, "/c", 4*time.Millisecond, 502)
	for i := range 5 {
		s.Record(now, fmt.Sprintf("/d%d", i), time.Millisecond, 404)
	}
	got := s.Vitals()
	want := Vitals{
		TotalRequests: 109, TotalErrors: 3, RecentRequests: 108,
		AvgResponseMS: twoDecimals((5050.0 + 250 + 6 + 5) / 108),
		// Sorted, the n ms of /a (n > 4) is value n+7 of 108 (six 1s, two
		// 2s, a 3 and two 4s come first); nearest rank: the 54th, 103rd
		// and 107th.
		P50MS: 47, P95MS: 96, P99MS: 100, MaxMS: 250,
		RPS:           twoDecimals(108.0 / 300),
		ErrorRate:     twoDecimals(3.0 / 109 * 100),
		SlowPaths:     []SlowPath{{"/b", 250, 1}, {"/a", 50.5, 100}, {"/c", 3, 2}, {"/d0", 1, 1}, {"/d1", 1, 1}},
		UptimeSeconds: 600,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("vitals\n got %+v\nwant %+v", got, want)
	}
}

func TestRequestStats_RPSOverUptimeAndRingBound(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s := NewRequestStats(func() time.Time { return now })
	now = now.Add(10 * time.Second)
	for range maxRequestSamples + 1000 {
		s.Record(now, "/x", time.Millisecond, 200)
	}
	v := s.Vitals()
	if v.RecentRequests != maxRequestSamples || v.TotalRequests != maxRequestSamples+1000 || len(s.ring) != maxRequestSamples {
		t.Errorf("recent %d, total %d, ring %d; want the ring capped at %d", v.RecentRequests, v.TotalRequests, len(s.ring), maxRequestSamples)
	}
	if v.RPS != twoDecimals(float64(maxRequestSamples)/10) {
		t.Errorf("rps %v over 10 s of uptime", v.RPS)
	}
	long := string(make([]byte, 1000))
	s.Record(now, long, time.Millisecond, 200)
	if p := s.ring[(s.next+maxRequestSamples-1)%maxRequestSamples].path; len(p) != maxSamplePath {
		t.Errorf("stored path of %d bytes, want %d", len(p), maxSamplePath)
	}
	empty := NewRequestStats(time.Now).Vitals()
	if empty.RecentRequests != 0 || empty.SlowPaths == nil || empty.P50MS != 0 {
		t.Errorf("no requests: %+v", empty)
	}
}

func BenchmarkRequestStats_Record(b *testing.B) {
	s := NewRequestStats(time.Now)
	now := time.Now()
	for b.Loop() {
		s.Record(now, "/b.gif", time.Millisecond, 200)
	}
}
