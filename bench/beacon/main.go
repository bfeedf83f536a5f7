// Command beacon measures the throughput of Echelon's beacon path (GET
// /b.gif through the echelon handler, stored to Badger) against a plain
// Caddy static_response route, in the same run, on the same Caddy.
//
//	go run ./bench/beacon [-rounds 5] [-duration 3s] [-workers 16] [-strict]
//
// The process runs Caddy in-process with two servers on loopback ports and
// starts itself as a separate load-generator process (`beacon load …`) for
// each round. Rounds alternate plain and beacon; the result is the median
// requests/s of each and their ratio. At the end Caddy is stopped, which
// flushes the echelon buffers, and the stored views are counted in Badger:
// they must equal the beacon 200s. See bench/README.md.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/echelon-analytics/caddy-echelon"
	"github.com/echelon-analytics/caddy-echelon/internal/testkit"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "load" {
		if err := runLoad(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	os.Exit(run())
}

// Exit codes of run.
const (
	exitOK       = 0
	exitBroken   = 1 // setup failed, non-200s, errors, or stored != 200s
	exitTooSlow  = 2 // ratio under -target with -strict
	exitBadUsage = 64
)

type options struct {
	rounds     int
	duration   time.Duration
	warmup     time.Duration
	workers    int
	ips        int
	rateLimit  int
	viewFlush  time.Duration
	settle     time.Duration
	target     float64
	strict     bool
	cpuprofile string
	profileFor time.Duration
	profRoute  string
	memprofile string
	keep       bool
	geoip      bool
	loadWait   string // poll or block: how the load processes wait for answers
	// serverProcs and clientProcs are the GOMAXPROCS of the Caddy process
	// and of the load processes.
	serverProcs, clientProcs int
}

func parseFlags() (options, bool) {
	var o options
	flag.IntVar(&o.rounds, "rounds", 5, "measured rounds per route")
	flag.DurationVar(&o.duration, "duration", 3*time.Second, "length of one round")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "length of the unmeasured warm-up round of each route")
	flag.IntVar(&o.workers, "workers", 16, "concurrent keep-alive connections of the load generator")
	flag.IntVar(&o.ips, "ips", 16384, "distinct client IPs (X-Forwarded-For) the beacons come from")
	flag.IntVar(&o.rateLimit, "rate-limit", 600, "echelon rate_limit_max per client IP per minute")
	flag.DurationVar(&o.viewFlush, "view-flush", time.Second, "echelon view_flush")
	flag.DurationVar(&o.settle, "settle", 0, "pause after each round, counted in its server CPU (default view-flush + 250ms)")
	flag.Float64Var(&o.target, "target", 0.70, "beacon/plain throughput ratio to reach")
	flag.BoolVar(&o.strict, "strict", false, "exit 2 when the ratio is under -target")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "after the measured rounds, profile the server process during one more beacon round and write the profile to `file`")
	flag.DurationVar(&o.profileFor, "profile-duration", 10*time.Second, "length of the -cpuprofile round")
	flag.StringVar(&o.profRoute, "profile-route", "beacon", "route of the -cpuprofile round: beacon or plain")
	flag.StringVar(&o.memprofile, "memprofile", "", "with -cpuprofile, write a heap profile (live objects and allocations) at the end of the profiled round to `file`")
	flag.BoolVar(&o.geoip, "geoip", false, "load a generated country database (geoip_db) that maps every client IP")
	flag.StringVar(&o.loadWait, "load-wait", "block", "how the load process waits for an answer: block (sleeps in the kernel, as clients do; on loopback the server pays the wake-up) or poll (non-blocking reads, never sleeps)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temp dir (Badger data) and print its path")
	// Half the cores each by default (1 and 1 on a 2-core machine), so the
	// server, not the shared CPU, is what limits throughput; see README.
	cores := runtime.GOMAXPROCS(0)
	flag.IntVar(&o.serverProcs, "server-procs", max(1, cores/2), "GOMAXPROCS of the Caddy process")
	flag.IntVar(&o.clientProcs, "client-procs", max(1, cores-cores/2), "GOMAXPROCS of the load processes")
	flag.Parse()
	if o.settle == 0 {
		o.settle = o.viewFlush + 250*time.Millisecond
	}
	ok := o.rounds >= 1 && o.duration > 0 && o.workers >= 1 && o.ips >= 1 && o.ips <= 1<<24 &&
		o.rateLimit >= 0 && o.viewFlush > 0 && o.profileFor > 0 && o.serverProcs >= 1 && o.clientProcs >= 1 && flag.NArg() == 0 &&
		(o.profRoute == "beacon" || o.profRoute == "plain") && (o.loadWait == "poll" || o.loadWait == "block")
	return o, ok
}

// round is one measured load run against one route.
type round struct {
	label    string // round number, "w" for warm-up, "prof" for the profiled round
	route    string // "plain" or "beacon"
	measured bool   // counts in the medians
	load     loadResult
	// Server-process figures over the round plus the settle pause, divided
	// by the responses: CPU time (user+sys) and heap allocations.
	cpuPerReq    time.Duration
	allocsPerReq float64
	serverCores  float64       // server CPU time / load time
	clientPerReq time.Duration // the load process's CPU time per response
	clientCores  float64       // load process CPU time / load time
}

func (r round) rps() float64 { return float64(r.load.Requests) / r.load.Elapsed }

// idlePerReq is the load process's empty polls per response (0 with
// -load-wait block).
func (r round) idlePerReq() float64 {
	if r.load.Requests == 0 {
		return 0
	}
	return float64(r.load.IdlePolls) / float64(r.load.Requests)
}

func run() int {
	o, ok := parseFlags()
	if !ok {
		flag.Usage()
		return exitBadUsage
	}
	runtime.GOMAXPROCS(o.serverProcs)
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "beacon:", err)
		return exitBroken
	}
	dir, err := os.MkdirTemp("", "echelon-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "beacon:", err)
		return exitBroken
	}
	if o.keep {
		fmt.Println("data dir:", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	addrs, err := testkit.FreeAddrs(3)
	if err != nil {
		fmt.Fprintln(os.Stderr, "beacon: free ports:", err)
		return exitBroken
	}
	so := serverOptions{dir: dir, viewFlush: o.viewFlush, rateLimit: o.rateLimit,
		plainAddr: addrs[0], beaconAddr: addrs[1], adminAddr: addrs[2]}
	if o.geoip {
		so.geoipDB, err = writeGeoDB(dir)
	}
	var cfg []byte
	if err == nil {
		cfg, err = caddyConfig(so)
	}
	if err == nil {
		err = caddy.Load(cfg, true)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "beacon: load caddy config:", err)
		return exitBroken
	}
	defer caddy.Stop() // a no-op once countStored has stopped it

	fmt.Printf("Caddy %s, %s; GOMAXPROCS server %d, load %d; plain %s, beacon %s\n",
		caddyVersion(), runtime.Version(), o.serverProcs, o.clientProcs, so.plainAddr, so.beaconAddr)
	fmt.Printf("%d workers (load-wait %s), %d client IPs, view_flush %s, rate_limit_max %d/min, rounds %d x %s\n",
		o.workers, o.loadWait, o.ips, o.viewFlush, o.rateLimit, o.rounds, o.duration)
	done, err := runRounds(o, so, self)
	if err != nil {
		fmt.Fprintln(os.Stderr, "beacon:", err)
		return exitBroken
	}
	metrics, merr := testkit.EchelonMetrics(so.adminAddr)
	stored, serr := countStored(dir)
	return report(o, done, metrics, merr, stored, serr)
}

// runRounds warms both routes up, then alternates them in ABBA order
// (plain beacon, beacon plain, …) so a slow drift of the machine hits both
// alike. With -cpuprofile, one more round of -profile-route (beacon unless
// told) runs under the profiler; it is not measured, so profiling costs the
// figures nothing and the profile holds that route's traffic only.
func runRounds(o options, so serverOptions, self string) ([]round, error) {
	plan := []round{{label: "w", route: "plain"}, {label: "w", route: "beacon"}}
	for i := range o.rounds {
		a, b := "plain", "beacon"
		if i%2 == 1 {
			a, b = b, a
		}
		n := strconv.Itoa(i + 1)
		plan = append(plan, round{label: n, route: a, measured: true}, round{label: n, route: b, measured: true})
	}
	if o.cpuprofile != "" {
		plan = append(plan, round{label: "prof", route: o.profRoute})
	}

	fmt.Println("per request: server CPU, server allocs, load-process CPU, load's empty polls (idle); cores: CPU time / round time")
	fmt.Printf("%-5s %-6s %8s %8s %10s %7s %9s %9s %9s %6s %6s %6s\n", "round", "route", "req/s", "requests",
		"srv CPU", "allocs", "srv cores", "load CPU", "ld cores", "idle", "non200", "errors")
	var done []round
	var seq uint64
	for _, r := range plan {
		addr, d := so.plainAddr, o.duration
		if r.route == "beacon" {
			addr = so.beaconAddr
		}
		switch r.label {
		case "w":
			d = o.warmup
		case "prof":
			d = o.profileFor
		}
		stop := func() {}
		if r.label == "prof" {
			var err error
			if stop, err = startProfile(o.cpuprofile); err != nil {
				return nil, err
			}
		}
		err := measure(&r, self, addr, d, o, seq)
		stop()
		if r.label == "prof" && o.memprofile != "" && err == nil {
			err = writeHeapProfile(o.memprofile)
		}
		if err != nil {
			return nil, err
		}
		seq += uint64(r.load.Requests + r.load.Errors)
		done = append(done, r)
		fmt.Printf("%-5s %-6s %8.0f %8d %10s %7.1f %9.2f %9s %9.2f %6.1f %6d %6d\n", r.label, r.route, r.rps(), r.load.Requests,
			r.cpuPerReq.Round(100*time.Nanosecond), r.allocsPerReq, r.serverCores,
			r.clientPerReq.Round(100*time.Nanosecond), r.clientCores, r.idlePerReq(), r.load.Non200+r.load.BadBody, r.load.Errors)
	}
	return done, nil
}

// startProfile starts the CPU profiler writing to path and returns its stop.
func startProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// writeHeapProfile writes a heap profile after a GC, so its in-use figures
// are the live heap.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// measure runs one load process against addr and fills r with its result
// and the server process's CPU and allocations over the round plus the
// settle pause, which lets the round's last buffered views reach Badger
// before the next round starts (their flush is charged to this round).
func measure(r *round, self, addr string, d time.Duration, o options, seq uint64) error {
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := testkit.ProcessCPU()

	cmd := exec.Command(self, "load", "-addr", addr, "-duration", d.String(),
		"-workers", strconv.Itoa(o.workers), "-ips", strconv.Itoa(o.ips), "-seq", strconv.FormatUint(seq, 10), "-wait", o.loadWait)
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(o.clientProcs))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("load process (%s round %s): %w", r.route, r.label, err)
	}
	if err := json.Unmarshal(out, &r.load); err != nil {
		return fmt.Errorf("load process output %q: %w", out, err)
	}
	time.Sleep(o.settle)

	cpu := testkit.ProcessCPU() - cpu0
	runtime.ReadMemStats(&m1)
	client := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if n := r.load.Requests; n > 0 {
		r.cpuPerReq = cpu / time.Duration(n)
		r.allocsPerReq = float64(m1.Mallocs-m0.Mallocs) / float64(n)
		r.clientPerReq = client / time.Duration(n)
	}
	if r.load.Elapsed > 0 {
		r.serverCores = cpu.Seconds() / r.load.Elapsed
		r.clientCores = client.Seconds() / r.load.Elapsed
	}
	if r.load.FirstError != "" {
		fmt.Fprintf(os.Stderr, "beacon: %s round %s: first error: %s\n", r.route, r.label, r.load.FirstError)
	}
	return nil
}

func caddyVersion() string {
	simple, _ := caddy.Version()
	return simple
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
