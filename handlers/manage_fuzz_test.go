package handlers

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParseExperiment(f *testing.F) {
	for _, s := range []string{
		`{"experiment_id":"a","name":"A","metric_event_type":"m","variants":[{"variant_id":"v","name":"V","weight":1,"is_control":1,"config":{"x":[1]}}]}`,
		`{"experiment_id":"a b","name":"A","metric_event_type":"m"}`,
		`{"experiment_id":"a","name":"A","metric_event_type":"m","allocation_percent":"7.9","variants":null}`,
		`{"experiment_id":"a","name":"A","metric_event_type":"m","variants":[{"variant_id":"v","name":"V","weight":-1}]}`,
		`{"experiment_id":"a","name":"A","metric_event_type":"m","variants":[1,2]}`,
		`[]`, `null`, `{`, `{"experiment_id":7}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := ParseExperiment(body)
		if err != nil {
			if e.ID != "" {
				t.Fatalf("an error with an experiment: %+v", e)
			}
			return
		}
		if !validExperimentID(e.ID) || utf8.RuneCountInString(e.ID) > 128 || e.Name == "" || e.MetricEventType == "" {
			t.Fatalf("accepted %+v", e)
		}
		if e.AllocationPercent < 1 || e.AllocationPercent > 100 || len(e.Variants) > 20 {
			t.Fatalf("allocation %d, %d variants", e.AllocationPercent, len(e.Variants))
		}
		for _, v := range e.Variants {
			if v.ID == "" || v.Name == "" || !(v.Weight > 0) || math.IsInf(v.Weight, 0) || utf8.RuneCountInString(v.Config) > 4096 {
				t.Fatalf("variant %+v", v)
			}
		}
	})
}

func FuzzParsePerf(f *testing.F) {
	for _, s := range []string{
		`[{"category":"api","metric":"p50","value":1.5,"unit":"ms","commit_hash":"abc","branch":"main","metadata":{"runs":3}}]`,
		`[{"category":"api","metric":"p50","value":"1","unit":"ms"}]`,
		`[{"category":"","metric":"p50","value":1,"unit":"ms"}]`,
		`[{"category":"a","metric":"b","value":1e400,"unit":"ms"}]`,
		`[]`, `{}`, `[1]`, `[{"category":"a","metric":"b","value":1,"unit":"u","metadata":"` + strings.Repeat("x", 2100) + `"}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ms, err := ParsePerf(body)
		if err != nil {
			if ms != nil {
				t.Fatalf("an error with metrics")
			}
			return
		}
		if len(ms) < 1 || len(ms) > 100 {
			t.Fatalf("%d metrics", len(ms))
		}
		for _, m := range ms {
			if m.Category == "" || m.Metric == "" || m.Unit == "" || math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
				t.Fatalf("accepted %+v", m)
			}
			if m.Metadata != "" && (!json.Valid([]byte(m.Metadata)) || utf8.RuneCountInString(m.Metadata) > 2048) {
				t.Fatalf("metadata %q", m.Metadata)
			}
		}
	})
}
