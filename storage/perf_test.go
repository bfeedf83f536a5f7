package storage

import (
	"testing"
	"time"
)

func perfItem(cat, metric string, v float64) PerfMetric {
	return PerfMetric{Category: cat, Metric: metric, Value: v, Unit: "ms"}
}

func TestPerf_IDsContinueAfterReopenAndPurge(t *testing.T) {
	dir := t.TempDir()
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddPerfMetrics([]PerfMetric{perfItem("a", "x", 1), perfItem("a", "y", 2)}, day); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Same millisecond after a restart: ids must not collide.
	if err := s.AddPerfMetrics([]PerfMetric{perfItem("a", "x", 3)}, day); err != nil {
		t.Fatal(err)
	}
	if err := s.AddPerfMetrics([]PerfMetric{perfItem("b", "x", 4)}, day.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	all, err := s.PerfMetrics(PerfQuery{})
	if err != nil || len(all) != 4 {
		t.Fatalf("%d metrics, %v", len(all), err)
	}
	if all[0].Value != 4 || all[1].Value != 3 || all[0].ID <= all[1].ID || all[1].ID <= all[2].ID {
		t.Fatalf("order %+v", all)
	}
	series, err := s.PerfMetrics(PerfQuery{Category: "a", Metric: "x"})
	if err != nil || len(series) != 2 || series[0].Value != 3 || series[1].Value != 1 {
		t.Fatalf("series %+v %v", series, err)
	}
	n, err := s.PurgePerf(day.Add(24 * time.Hour))
	if err != nil || n != 3 {
		t.Fatalf("purged %d, %v", n, err)
	}
	trends, err := s.PerfTrends(10, "")
	if err != nil || len(trends) != 1 || len(trends["b/x"]) != 1 {
		t.Fatalf("after purge: %+v %v", trends, err)
	}
}

func TestPerf_SeriesWithSeparatorBytesStayApart(t *testing.T) {
	s, err := Open(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	// "a"/"b\x00c" and "a\x00b"/"c" would share a key with a 0-separated layout.
	if err := s.AddPerfMetrics([]PerfMetric{perfItem("a", "b\x00c", 1), perfItem("a\x00b", "c", 2)}, now); err != nil {
		t.Fatal(err)
	}
	got, err := s.PerfMetrics(PerfQuery{Category: "a", Metric: "b\x00c"})
	if err != nil || len(got) != 1 || got[0].Value != 1 {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestSettings_RoundTrip(t *testing.T) {
	s, err := Open(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, ok, err := s.Setting("telemetry_optin"); ok || err != nil {
		t.Fatalf("unset setting: %v %v", ok, err)
	}
	at := time.Date(2026, 11, 25, 1, 2, 3, 4_000_000, time.UTC)
	if err := s.SetSetting("telemetry_optin", "true", at); err != nil {
		t.Fatal(err)
	}
	v, updated, ok, err := s.Setting("telemetry_optin")
	if !ok || err != nil || v != "true" || !updated.Equal(at) {
		t.Fatalf("%q %v %v %v", v, updated, ok, err)
	}
}
