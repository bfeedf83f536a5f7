package handlers

import (
	"math"
	"net/http"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// RequestStats times every request the echelon handler sees (its own
// routes and those it passes on) for /api/stats/vitals (api.md §3): totals
// and errors (status ≥ 500) since it was made, and the samples of the last
// 5 minutes, at most 50,000 (a ring: the oldest go first). Memory is
// bounded: a sample keeps at most 128 bytes of path.
type RequestStats struct {
	now   Clock
	start time.Time

	total, errors atomic.Uint64

	mu   sync.Mutex
	ring []requestSample
	next int // where the next sample goes once the ring is full
}

type requestSample struct {
	at   int64 // Unix ms
	took time.Duration
	path string
	err  bool
}

const (
	maxRequestSamples = 50000
	requestWindow     = 5 * time.Minute
	maxSamplePath     = 128
)

// NewRequestStats starts the stats at now().
func NewRequestStats(now Clock) *RequestStats {
	return &RequestStats{now: now, start: now(), ring: make([]requestSample, 0, 1024)}
}

// Record adds one request that started at start, took took and answered
// status.
func (s *RequestStats) Record(start time.Time, path string, took time.Duration, status int) {
	s.total.Add(1)
	isErr := status >= 500
	if isErr {
		s.errors.Add(1)
	}
	if len(path) > maxSamplePath {
		path = truncateRunes(path, maxSamplePath)
	}
	smp := requestSample{at: start.UnixMilli(), took: took, path: path, err: isErr}
	s.mu.Lock()
	if len(s.ring) < maxRequestSamples {
		s.ring = append(s.ring, smp)
	} else {
		s.ring[s.next] = smp
		s.next = (s.next + 1) % maxRequestSamples
	}
	s.mu.Unlock()
}

// Vitals is the body of /api/stats/vitals.
type Vitals struct {
	TotalRequests  uint64     `json:"totalRequests"`
	TotalErrors    uint64     `json:"totalErrors"`
	RecentRequests int        `json:"recentRequests"`
	AvgResponseMS  float64    `json:"avgResponseMs"`
	P50MS          float64    `json:"p50Ms"`
	P95MS          float64    `json:"p95Ms"`
	P99MS          float64    `json:"p99Ms"`
	MaxMS          float64    `json:"maxMs"`
	RPS            float64    `json:"rps"`
	ErrorRate      float64    `json:"errorRate"` // % of all requests since start
	SlowPaths      []SlowPath `json:"slowPaths"`
	UptimeSeconds  int64      `json:"uptimeSeconds"`
}

// SlowPath is one of the five paths with the highest mean time in the
// window.
type SlowPath struct {
	Path  string  `json:"path"`
	AvgMS float64 `json:"avgMs"`
	Count int     `json:"count"`
}

// Vitals summarises the window ending now: nearest-rank percentiles, rps =
// window count ÷ min(uptime, 300 s), figures rounded to 2 decimals.
func (s *RequestStats) Vitals() Vitals {
	now := s.now()
	from := now.Add(-requestWindow).UnixMilli()
	s.mu.Lock()
	recent := make([]requestSample, 0, len(s.ring))
	for _, smp := range s.ring {
		if smp.at > from {
			recent = append(recent, smp)
		}
	}
	s.mu.Unlock()

	v := Vitals{TotalRequests: s.total.Load(), TotalErrors: s.errors.Load(), RecentRequests: len(recent), SlowPaths: []SlowPath{}}
	uptime := now.Sub(s.start)
	v.UptimeSeconds = int64(uptime / time.Second)
	if v.TotalRequests > 0 {
		v.ErrorRate = twoDecimals(float64(v.TotalErrors) / float64(v.TotalRequests) * 100)
	}
	if len(recent) == 0 {
		return v
	}
	ms := make([]float64, len(recent))
	type agg struct {
		sum   float64
		count int
	}
	byPath := map[string]*agg{}
	var sum float64
	for i, smp := range recent {
		ms[i] = float64(smp.took) / float64(time.Millisecond)
		sum += ms[i]
		a := byPath[smp.path]
		if a == nil {
			a = &agg{}
			byPath[smp.path] = a
		}
		a.sum += ms[i]
		a.count++
	}
	slices.Sort(ms)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p/100*float64(len(ms)))) - 1
		return twoDecimals(ms[max(0, i)])
	}
	v.AvgResponseMS = twoDecimals(sum / float64(len(ms)))
	v.P50MS, v.P95MS, v.P99MS, v.MaxMS = rank(50), rank(95), rank(99), twoDecimals(ms[len(ms)-1])
	window := min(uptime, requestWindow).Seconds()
	if window > 0 {
		v.RPS = twoDecimals(float64(len(recent)) / window)
	}
	for p, a := range byPath {
		v.SlowPaths = append(v.SlowPaths, SlowPath{Path: p, AvgMS: twoDecimals(a.sum / float64(a.count)), Count: a.count})
	}
	sort.Slice(v.SlowPaths, func(i, j int) bool {
		if v.SlowPaths[i].AvgMS != v.SlowPaths[j].AvgMS {
			return v.SlowPaths[i].AvgMS > v.SlowPaths[j].AvgMS
		}
		return v.SlowPaths[i].Path < v.SlowPaths[j].Path
	})
	if len(v.SlowPaths) > 5 {
		v.SlowPaths = v.SlowPaths[:5]
	}
	return v
}

func twoDecimals(f float64) float64 { return math.Round(f*100) / 100 }

// ServeVitals handles GET /api/stats/vitals; public mode gets 403
// redacted.
func (m *Manage) ServeVitals(w http.ResponseWriter, r *http.Request) {
	if m.PublicMode {
		replyError(w, http.StatusForbidden, "redacted", "Not available in public mode")
		return
	}
	replyJSON(w, http.StatusOK, m.Requests.Vitals())
}
