package echelon

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/echelon-analytics/caddy-echelon/handlers"
)

// TestMetrics_CountOutcomes reads Caddy's admin /metrics after a stored
// beacon, a known-bot beacon and an invalid one.
func TestMetrics_CountOutcomes(t *testing.T) {
	startCaddy(t, "")
	do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "m", nil), nil, nil)
	do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "m", nil), nil, http.Header{"User-Agent": {"curl/8.5.0"}})
	do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", "m", map[string]string{"_v": "1"}), nil, nil)
	do(t, "POST", baseURL+"/e", strings.NewReader(`{"siteId":"m","events":[{"type":"click"}]}`), nil)
	res, err := http.Get(fmt.Sprintf("http://localhost:%d/metrics", adminPort))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	body := string(b)
	for _, want := range []string{
		`echelon_beacons_total{outcome="stored"} 1`,
		`echelon_beacons_total{outcome="bot_dropped"} 1`,
		`echelon_beacons_total{outcome="invalid"} 1`,
		`echelon_events_total{outcome="stored"} 1`,
		`echelon_buffer_depth 2`,
		`echelon_buffer_dropped_total 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestCounters_OverflowLoggedAtMostOnceAMinute(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	c := newCounters(prometheus.NewRegistry(), zap.New(core))
	for i := 0; i < 5; i++ {
		c.Beacon(handlers.OutcomeOverflow)
		c.Events(handlers.OutcomeOverflow, 3)
	}
	if n := logs.FilterMessageSnippet("write buffer full").Len(); n != 1 {
		t.Fatalf("%d overflow warnings, want 1", n)
	}
	if got := testutil.ToFloat64(c.beacons.WithLabelValues(handlers.OutcomeOverflow)); got != 5 {
		t.Errorf("overflow counter %v, want 5", got)
	}
}
