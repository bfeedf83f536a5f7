package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// report prints the result block and returns the exit code: broken when
// any response was wrong or the store does not hold exactly one view per
// beacon 200; too slow when -strict and the ratio misses the target.
func report(o options, rounds []round, metrics map[string]float64, merr error, stored int64, serr error) int {
	var (
		rps, cpu        = map[string][]float64{}, map[string][]float64{}
		srvCores        = map[string][]float64{}
		loadCores       = map[string][]float64{}
		idle            = map[string][]float64{}
		pairs           = map[string]map[string]float64{} // label → route → req/s
		beaconOK        int64
		wrong, connErrs int64
	)
	for _, r := range rounds {
		if r.route == "beacon" {
			beaconOK += r.load.OK
		}
		wrong += r.load.Non200 + r.load.BadBody
		connErrs += r.load.Errors
		if !r.measured {
			continue
		}
		rps[r.route] = append(rps[r.route], r.rps())
		cpu[r.route] = append(cpu[r.route], float64(r.cpuPerReq))
		srvCores[r.route] = append(srvCores[r.route], r.serverCores)
		loadCores[r.route] = append(loadCores[r.route], r.clientCores)
		idle[r.route] = append(idle[r.route], r.idlePerReq())
		if pairs[r.label] == nil {
			pairs[r.label] = map[string]float64{}
		}
		pairs[r.label][r.route] = r.rps()
	}
	var perRound []float64
	for _, p := range pairs {
		perRound = append(perRound, p["beacon"]/p["plain"])
	}
	plain, beacon := median(rps["plain"]), median(rps["beacon"])
	ratio := beacon / plain
	verdict := "PASS"
	if ratio < o.target {
		verdict = "BELOW TARGET"
	}

	fmt.Printf("\n=== beacon vs plain: %d rounds x %s each, %d workers, medians ===\n", o.rounds, o.duration, o.workers)
	fmt.Printf("plain: %.0f req/s  beacon: %.0f req/s  ratio: %.2f (target >= %.2f)  %s\n", plain, beacon, ratio, o.target, verdict)
	fmt.Printf("  per-round ratio: median %.2f, range %s; req/s range: plain %s, beacon %s\n",
		median(perRound), spread(perRound, "%.2f"), spread(rps["plain"], "%.0f"), spread(rps["beacon"], "%.0f"))
	pc, bc := time.Duration(median(cpu["plain"])), time.Duration(median(cpu["beacon"]))
	if pc > 0 && bc > 0 {
		fmt.Printf("  server CPU per request: plain %s  beacon %s  (plain/beacon %.2f)\n",
			pc.Round(100*time.Nanosecond), bc.Round(100*time.Nanosecond), float64(pc)/float64(bc))
	}
	fmt.Printf("  cores used: plain server %.2f, load %.2f; beacon server %.2f, load %.2f (GOMAXPROCS %d and %d)\n",
		median(srvCores["plain"]), median(loadCores["plain"]), median(srvCores["beacon"]), median(loadCores["beacon"]),
		o.serverProcs, o.clientProcs)
	// A polling load process uses all of its cores by design; it set the
	// pace if it seldom had to wait for an answer.
	if o.loadWait == "poll" {
		fmt.Printf("  load's empty polls per answer: plain %.1f, beacon %.1f\n", median(idle["plain"]), median(idle["beacon"]))
		if median(idle["plain"]) < 1 {
			fmt.Println("  warning: the load generator seldom waited on the plain route, so it set the pace; the ratio is then too kind to beacon")
		}
	} else if median(loadCores["plain"]) > 0.9*float64(o.clientProcs) {
		fmt.Println("  warning: the load generator was near its CPU limit on the plain route; the ratio is then too kind to beacon")
	}
	if merr != nil {
		fmt.Printf("metrics: %v\n", merr)
	} else {
		flushes := metrics[`echelon_flush_duration_seconds_count{kind="views"}`]
		mean := ""
		if flushes > 0 {
			took := time.Duration(metrics[`echelon_flush_duration_seconds_sum{kind="views"}`] / flushes * float64(time.Second))
			mean = fmt.Sprintf(" (mean %s)", took.Round(10*time.Microsecond))
		}
		fmt.Printf("metrics: %.0f view flushes to Badger during the run%s, %.0f visitor index merges; beacons %s; buffer dropped %.0f\n",
			flushes, mean, metrics[`echelon_flush_duration_seconds_count{kind="index"}`], outcomes(metrics), metrics["echelon_buffer_dropped_total"])
	}

	code := exitOK
	if serr != nil {
		fmt.Printf("store: FAIL: %v\n", serr)
		code = exitBroken
	} else if stored != beaconOK {
		fmt.Printf("store: FAIL: %d views stored, %d beacon 200 responses\n", stored, beaconOK)
		code = exitBroken
	} else {
		fmt.Printf("store: %d views stored = %d beacon 200 responses  OK\n", stored, beaconOK)
	}
	if wrong > 0 || connErrs > 0 {
		fmt.Printf("responses: FAIL: %d non-200 or wrong body, %d connection errors\n", wrong, connErrs)
		code = exitBroken
	}
	if code == exitOK && o.strict && ratio < o.target {
		code = exitTooSlow
	}
	if o.cpuprofile != "" {
		focus := " -focus=caddy-echelon"
		if o.profRoute == "plain" {
			focus = ""
		}
		fmt.Fprintf(os.Stderr, "profile: go tool pprof -top -cum%s %s\n", focus, o.cpuprofile)
	}
	return code
}

// spread prints the range of xs.
func spread(xs []float64, format string) string {
	if len(xs) == 0 {
		return "-"
	}
	return fmt.Sprintf(format+"–"+format, slices.Min(xs), slices.Max(xs))
}

// outcomes lists the echelon_beacons_total series as "stored 123, …".
func outcomes(metrics map[string]float64) string {
	const prefix = `echelon_beacons_total{outcome="`
	var parts []string
	for k, v := range metrics {
		if name, ok := strings.CutPrefix(k, prefix); ok {
			parts = append(parts, fmt.Sprintf("%s %.0f", strings.TrimSuffix(name, `"}`), v))
		}
	}
	if len(parts) == 0 {
		return "none counted"
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}
