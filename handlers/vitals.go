package handlers

import (
	"cmp"
	"hash/maphash"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// RequestStats times every request the server handles, for /api/stats/vitals
// (docs/api.md, Vitals): totals since start, and a window of the last 5
// minutes holding at most 50,000 samples (a ring: the oldest goes first).
// Recording is a few field writes under a mutex.
//
// A sample's path is cut to vitalsMaxPath bytes and is a copy, never the
// request's own string (which shares the memory of the whole request
// line), so the ring holds at most 50,000 × 128 bytes of paths whatever
// the requests carry. Copies come from a small direct-mapped table of
// recent paths, so the usual few paths of a site cost no allocation.
type RequestStats struct {
	now   Clock
	start time.Time

	mu      sync.Mutex
	total   uint64
	errors  uint64
	samples []requestSample // ring of capacity vitalsMaxSamples
	next    int             // ring position of the next sample
	seed    maphash.Seed
	paths   [vitalsPathSlots]string // interned copies, by hash
}

type requestSample struct {
	at   int64 // Unix nanoseconds at the end of the request
	dur  time.Duration
	path string
}

const (
	vitalsWindow     = 5 * time.Minute
	vitalsMaxSamples = 50000
	vitalsSlowPaths  = 5
	vitalsMaxPath    = 128
	vitalsPathSlots  = 1024
)

// NewRequestStats starts counting at now().
func NewRequestStats(now Clock) *RequestStats {
	return &RequestStats{now: now, start: now(), samples: make([]requestSample, 0, vitalsMaxSamples), seed: maphash.MakeSeed()}
}

// Record counts one finished request; status ≥ 500 is an error.
func (s *RequestStats) Record(path string, status int, dur time.Duration, end time.Time) {
	if len(path) > vitalsMaxPath {
		n := vitalsMaxPath
		for n > 0 && !utf8.RuneStart(path[n]) {
			n--
		}
		path = path[:n]
	}
	sample := requestSample{at: end.UnixNano(), dur: dur}
	slot := maphash.String(s.seed, path) % vitalsPathSlots
	s.mu.Lock()
	if s.paths[slot] != path {
		s.paths[slot] = strings.Clone(path)
	}
	sample.path = s.paths[slot]
	s.total++
	if status >= 500 {
		s.errors++
	}
	if len(s.samples) < vitalsMaxSamples {
		s.samples = append(s.samples, sample)
	} else {
		s.samples[s.next] = sample
	}
	s.next = (s.next + 1) % vitalsMaxSamples
	s.mu.Unlock()
}

// Vitals is the body of /api/stats/vitals. Milliseconds and rates are
// rounded to 2 decimals; percentiles are nearest-rank over the window.
type Vitals struct {
	TotalRequests  uint64     `json:"totalRequests"`
	TotalErrors    uint64     `json:"totalErrors"`
	RecentRequests int        `json:"recentRequests"`
	AvgResponseMs  float64    `json:"avgResponseMs"`
	P50Ms          float64    `json:"p50Ms"`
	P95Ms          float64    `json:"p95Ms"`
	P99Ms          float64    `json:"p99Ms"`
	MaxMs          float64    `json:"maxMs"`
	RPS            float64    `json:"rps"`
	ErrorRate      float64    `json:"errorRate"`
	SlowPaths      []SlowPath `json:"slowPaths"`
	UptimeSeconds  int64      `json:"uptimeSeconds"`
}

// SlowPath is one of the paths with the highest mean time in the window.
type SlowPath struct {
	Path  string  `json:"path"`
	AvgMs float64 `json:"avgMs"`
	Count int     `json:"count"`
}

// Snapshot computes the vitals at the current time.
func (s *RequestStats) Snapshot() Vitals {
	now := s.now()
	since := now.Add(-vitalsWindow).UnixNano()
	s.mu.Lock()
	v := Vitals{TotalRequests: s.total, TotalErrors: s.errors}
	recent := make([]requestSample, 0, len(s.samples))
	for _, x := range s.samples {
		if x.at > since {
			recent = append(recent, x)
		}
	}
	s.mu.Unlock()

	uptime := now.Sub(s.start)
	v.UptimeSeconds = int64(uptime / time.Second)
	if v.TotalRequests > 0 {
		v.ErrorRate = round2(float64(v.TotalErrors) / float64(v.TotalRequests) * 100)
	}
	v.RecentRequests = len(recent)
	v.SlowPaths = []SlowPath{}
	if len(recent) == 0 {
		return v
	}
	durs := make([]time.Duration, len(recent))
	var sum time.Duration
	type pathSum struct {
		sum   time.Duration
		count int
	}
	byPath := map[string]*pathSum{}
	for i, x := range recent {
		durs[i] = x.dur
		sum += x.dur
		p := byPath[x.path]
		if p == nil {
			p = &pathSum{}
			byPath[x.path] = p
		}
		p.sum += x.dur
		p.count++
	}
	slices.Sort(durs)
	v.AvgResponseMs = ms2(sum / time.Duration(len(durs)))
	v.P50Ms, v.P95Ms, v.P99Ms = ms2(nearestRank(durs, 50)), ms2(nearestRank(durs, 95)), ms2(nearestRank(durs, 99))
	v.MaxMs = ms2(durs[len(durs)-1])
	v.RPS = round2(float64(len(recent)) / min(uptime, vitalsWindow).Seconds())
	for path, p := range byPath {
		v.SlowPaths = append(v.SlowPaths, SlowPath{Path: path, AvgMs: ms2(p.sum / time.Duration(p.count)), Count: p.count})
	}
	slices.SortFunc(v.SlowPaths, func(a, b SlowPath) int {
		return cmp.Or(cmp.Compare(b.AvgMs, a.AvgMs), cmp.Compare(a.Path, b.Path))
	})
	v.SlowPaths = v.SlowPaths[:min(len(v.SlowPaths), vitalsSlowPaths)]
	return v
}

// nearestRank is the p-th percentile of sorted: the value at rank
// ceil(p/100 × n).
func nearestRank(sorted []time.Duration, p int) time.Duration {
	rank := int(math.Ceil(float64(p) / 100 * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

func ms2(d time.Duration) float64 { return round2(float64(d) / float64(time.Millisecond)) }

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// ServeVitals answers GET /api/stats/vitals; public mode hides it.
func (s *RequestStats) ServeVitals(public bool) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if public {
			writeError(w, http.StatusForbidden, "redacted", "Not available in public mode")
			return
		}
		writeJSON(w, http.StatusOK, s.Snapshot())
	}
}
