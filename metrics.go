package echelon

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/echelon-analytics/caddy-echelon/handlers"
)

// counters are the module's Prometheus metrics on Caddy's registry.
type counters struct {
	beacons *prometheus.CounterVec
	events  *prometheus.CounterVec
	flush   *prometheus.HistogramVec
	drops   *prometheus.CounterVec // bot drops by endpoint and reason (botdefense.go)
	// beaconBy and eventsBy hold the counter of each known outcome, so the
	// hot path skips the vector's label hashing.
	beaconBy, eventsBy map[string]prometheus.Counter

	logger *zap.Logger
	// lastOverflowLog (unix seconds) limits the overflow warning to one a
	// minute: a full buffer under load would otherwise log every request.
	lastOverflowLog atomic.Int64
}

var outcomes = []string{
	handlers.OutcomeStored, handlers.OutcomeBotDropped, handlers.OutcomeInvalid,
	handlers.OutcomeRateLimited, handlers.OutcomeIgnored, handlers.OutcomeOverflow,
	handlers.OutcomeExcluded,
}

// newCounters registers the metrics, reusing ones another echelon handler
// of the same config already registered.
func newCounters(reg *prometheus.Registry, logger *zap.Logger) *counters {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	c := &counters{
		logger: logger,
		beacons: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "echelon", Name: "beacons_total",
			Help: "Pageview beacons by outcome (stored, bot_dropped, invalid, rate_limited, ignored, overflow, excluded).",
		}, []string{"outcome"})),
		events: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "echelon", Name: "events_total",
			Help: "Events by outcome (stored, bot_dropped, invalid, rate_limited, ignored, overflow, excluded).",
		}, []string{"outcome"})),
		flush: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "echelon", Name: "flush_duration_seconds",
			Help:    "Time to write one buffer flush (kind views, events) or visitor index merge (kind index) to Badger.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8),
		}, []string{"kind"})),
	}
	c.drops = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "echelon", Name: "bot_drops_total",
		Help: "Hits dropped before storage by endpoint (b.gif, e) and reason (known_ua, score_threshold, excluded).",
	}, []string{"endpoint", "reason"}))
	c.beaconBy = make(map[string]prometheus.Counter, len(outcomes))
	c.eventsBy = make(map[string]prometheus.Counter, len(outcomes))
	for _, o := range outcomes {
		c.beaconBy[o] = c.beacons.WithLabelValues(o)
		c.eventsBy[o] = c.events.WithLabelValues(o)
	}
	register(reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "echelon", Name: "buffer_depth",
		Help: "Records buffered and not yet flushed, all data directories.",
	}, func() float64 { return float64(poolStats().pending) }))
	register(reg, prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "echelon", Name: "buffer_dropped_total",
		Help: "Records dropped because a buffer was full.",
	}, func() float64 { return float64(poolStats().dropped) }))
	register(reg, prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "echelon", Name: "bot_rows_over_budget_total",
		Help: "Bot rows (score 50 or more) not stored because their site had stored its daily budget of them, all data directories.",
	}, func() float64 {
		var n uint64
		pool.Range(func(_, v any) bool {
			n += v.(*shared).store.BotRowsDropped()
			return true
		})
		return float64(n)
	}))
	for _, cache := range []string{cacheReplay, cacheBurst} {
		register(reg, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "echelon", Name: "cache_evictions_total",
			Help:        "Entries a full bot-defense cache dropped early to admit new ones (replay: proof-of-work tokens, burst: burst counters), all data directories.",
			ConstLabels: prometheus.Labels{"cache": cache},
		}, func() float64 { return float64(poolEvictions(cache)) }))
	}
	return c
}

// Caches counted by echelon_cache_evictions_total.
const (
	cacheReplay = "replay"
	cacheBurst  = "burst"
)

// poolEvictions sums one cache's evictions over the data directories.
func poolEvictions(cache string) uint64 {
	var n uint64
	pool.Range(func(_, v any) bool {
		n += v.(*shared).evictions(cache)
		return true
	})
	return n
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

type bufferTotals struct{ pending, dropped uint64 }

func poolStats() bufferTotals {
	var t bufferTotals
	pool.Range(func(_, v any) bool {
		st := v.(*shared).writer.Stats()
		t.pending += uint64(st.PendingViews + st.PendingEvents)
		t.dropped += uint64(st.DroppedViews + st.DroppedEvents)
		return true
	})
	return t
}

func (c *counters) Beacon(outcome string) {
	counterFor(c.beaconBy, c.beacons, outcome).Inc()
	if outcome == handlers.OutcomeOverflow {
		c.overflowed()
	}
}

func (c *counters) Events(outcome string, n int) {
	if n > 0 {
		counterFor(c.eventsBy, c.events, outcome).Add(float64(n))
		if outcome == handlers.OutcomeOverflow {
			c.overflowed()
		}
	}
}

// overflowed logs that a full buffer dropped records, at most once a minute.
func (c *counters) overflowed() {
	now := time.Now().Unix()
	last := c.lastOverflowLog.Load()
	if now-last < 60 || !c.lastOverflowLog.CompareAndSwap(last, now) {
		return
	}
	st := poolStats()
	c.logger.Warn("write buffer full: records dropped (see echelon_buffer_dropped_total)",
		zap.Uint64("dropped_total", st.dropped), zap.Uint64("buffered", st.pending))
}

func counterFor(known map[string]prometheus.Counter, vec *prometheus.CounterVec, outcome string) prometheus.Counter {
	if c, ok := known[outcome]; ok {
		return c
	}
	return vec.WithLabelValues(outcome)
}

func (c *counters) flushed(kind string, took time.Duration) {
	c.flush.WithLabelValues(kind).Observe(took.Seconds())
}

// debugObserver logs every tracking outcome (never the client address) on
// top of counting it while debug is on: the `debug` option, or the runtime
// switch of /api/debug.
type debugObserver struct {
	*counters
	logger *zap.Logger
	locked bool         // the debug option: always on
	on     *atomic.Bool // the runtime switch
}

func (d debugObserver) enabled() bool { return d.locked || d.on.Load() }

func (d debugObserver) Beacon(outcome string) {
	d.counters.Beacon(outcome)
	if d.enabled() {
		d.logger.Info("beacon", zap.String("outcome", outcome))
	}
}

func (d debugObserver) Events(outcome string, n int) {
	d.counters.Events(outcome, n)
	if n > 0 && d.enabled() {
		d.logger.Info("events", zap.String("outcome", outcome), zap.Int("count", n))
	}
}

// Dropped counts hits dropped as bots (handlers.DropObserver).
func (c *counters) Dropped(endpoint, reason string, n int) {
	c.drops.WithLabelValues(endpoint, reason).Add(float64(n))
}
