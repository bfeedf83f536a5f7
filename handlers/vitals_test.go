package handlers

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/echelon-analytics/caddy-echelon/internal/testkit"
)

func TestRequestStats_PercentilesAreNearestRank(t *testing.T) {
	clk := testkit.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	s := NewRequestStats(clk.Now)
	clk.Advance(time.Minute)
	// 1..100 ms on /a, plus one 5xx.
	for i := 1; i <= 100; i++ {
		status := 200
		if i == 100 {
			status = 502
		}
		s.Record("/a", status, time.Duration(i)*time.Millisecond, clk.Now())
	}
	v := s.Snapshot()
	if v.TotalRequests != 100 || v.TotalErrors != 1 || v.RecentRequests != 100 || v.ErrorRate != 1 {
		t.Fatalf("counts %+v", v)
	}
	if v.P50Ms != 50 || v.P95Ms != 95 || v.P99Ms != 99 || v.MaxMs != 100 || v.AvgResponseMs != 50.5 {
		t.Fatalf("percentiles %+v", v)
	}
	// rps = window count ÷ min(uptime, 300 s): uptime is 60 s here.
	if v.RPS != round2(100.0/60) || v.UptimeSeconds != 60 {
		t.Fatalf("rps %v uptime %v", v.RPS, v.UptimeSeconds)
	}
}

func TestRequestStats_WindowAndSlowPaths(t *testing.T) {
	clk := testkit.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	s := NewRequestStats(clk.Now)
	s.Record("/old", 200, time.Second, clk.Now())
	clk.Advance(10 * time.Minute)
	for i := range 7 {
		for range i + 1 {
			s.Record(fmt.Sprintf("/p%d", i), 200, time.Duration(i+1)*time.Millisecond, clk.Now())
		}
	}
	v := s.Snapshot()
	if v.TotalRequests != 29 || v.RecentRequests != 28 {
		t.Fatalf("the request older than 5 minutes must leave the window: %+v", v)
	}
	if v.RPS != round2(28.0/300) {
		t.Fatalf("rps over the full 300 s window: %v", v.RPS)
	}
	if len(v.SlowPaths) != 5 || v.SlowPaths[0] != (SlowPath{"/p6", 7, 7}) || v.SlowPaths[4] != (SlowPath{"/p2", 3, 3}) {
		t.Fatalf("slow paths %+v", v.SlowPaths)
	}
}

func TestRequestStats_RingHoldsAtMost50000(t *testing.T) {
	clk := testkit.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	s := NewRequestStats(clk.Now)
	for i := range vitalsMaxSamples + 10 {
		d := time.Millisecond
		if i < 10 {
			d = time.Hour // the oldest ten are overwritten
		}
		s.Record("/", 200, d, clk.Now())
	}
	v := s.Snapshot()
	if v.TotalRequests != vitalsMaxSamples+10 || v.RecentRequests != vitalsMaxSamples || v.MaxMs != 1 {
		t.Fatalf("%+v", v)
	}
}

func TestRequestStats_EmptyWindow(t *testing.T) {
	s := NewRequestStats(time.Now)
	v := s.Snapshot()
	if v.RecentRequests != 0 || v.SlowPaths == nil || len(v.SlowPaths) != 0 || v.RPS != 0 {
		t.Fatalf("%+v", v)
	}
}

// TestRequestStats_PathsAreShortCopies: a sample keeps at most 128 bytes of
// its path, cut on a character boundary, as a copy that does not hold the
// request's memory; repeated paths share one copy.
func TestRequestStats_PathsAreShortCopies(t *testing.T) {
	s := NewRequestStats(time.Now)
	long := "/" + strings.Repeat("é", 200)
	s.Record(long, 200, time.Millisecond, time.Now())
	got := s.samples[0].path
	if len(got) > vitalsMaxPath || !utf8.ValidString(got) || !strings.HasPrefix(long, got) || len(got) < vitalsMaxPath-1 {
		t.Fatalf("kept %d bytes %q, want a valid prefix of at most %d", len(got), got, vitalsMaxPath)
	}
	if unsafe.StringData(got) == unsafe.StringData(long) {
		t.Error("the sample shares the request's string")
	}
	req := "/b.gif?" + strings.Repeat("x", 8<<10)
	s.Record(req[:6], 200, time.Millisecond, time.Now())
	if unsafe.StringData(s.samples[1].path) == unsafe.StringData(req) {
		t.Error("a short path still points into the request line")
	}
	if n := testing.AllocsPerRun(100, func() { s.Record(req[:6], 200, time.Millisecond, time.Now()) }); n != 0 {
		t.Errorf("%v allocations per repeated path", n)
	}
}
