package handlers

import (
	"math"
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
