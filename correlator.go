package echelon

import (
	"encoding/json"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/echelon-analytics/caddy-echelon/scoring"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// correlatorEvery is the correlator's sweep interval (docs/bot-defense.md,
// Correlator).
const correlatorEvery = 2 * time.Minute

// correlator runs the correlator and no-event sweeps for one data
// directory: it clusters the beacons' prints, raises the stored rows of
// flagged clusters retroactively, confirms their IPs, marks no-event
// bounces and brings the views-by-score index up to date. The pool entry owns it; Destruct stops it.
type correlator struct {
	store  *storage.Store
	prints *scoring.Prints
	bots   *scoring.BotIPs
	now    func() time.Time
	logger *zap.Logger

	stop     chan struct{} // closed by shutdown; nil until start
	done     chan struct{}
	stopOnce sync.Once
}

// start runs a sweep on every tick until stop is called.
func (c *correlator) start(tick <-chan time.Time) {
	c.stop, c.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(c.done)
		for {
			select {
			case <-c.stop:
				return
			case <-tick:
				c.sweep(c.now())
			}
		}
	}()
}

// shutdown stops the goroutine: a running sweep ends after its current
// step. The returned channel is closed when the goroutine has returned.
func (c *correlator) shutdown() <-chan struct{} {
	c.stopOnce.Do(func() { close(c.stop) })
	return c.done
}

// stopped reports whether shutdown was called, for a sweep between steps.
func (c *correlator) stopped() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// correlated is the detail recorded under "correlated" in a raised row.
type correlated struct {
	Reason      string `json:"reason"`
	Penalty     int    `json:"penalty"`
	ClusterSize int    `json:"cluster_size"`
	Tainted     bool   `json:"tainted"`
	Fingerprint string `json:"fingerprint"`
}

// sweepResult counts what one sweep did, for tests and the debug log.
type sweepResult struct {
	clusters, views, events, bounces int
}

// sweep runs once at now. Each flagged cluster's rows are raised in one
// transaction; only after it commits do the cluster's IPs enter (or
// refresh) the confirmed tier, so a failed raise is retried on the next
// sweep with nothing half done. The bounce check runs every sweep, with or
// without prints.
func (c *correlator) sweep(now time.Time) sweepResult {
	var res sweepResult
	for _, cl := range c.prints.Clusters(now) {
		if c.stopped() {
			return res
		}
		value, _ := json.Marshal(correlated{
			Reason: "correlated", Penalty: cl.Penalty, ClusterSize: cl.Size, Tainted: cl.Tainted, Fingerprint: cl.Fingerprint,
		})
		r, err := c.store.RaiseScores(storage.Raise{
			Site: cl.Site, VisitorIDs: cl.Visitors, Events: true,
			Penalty: cl.Penalty, Marker: "correlated", Value: string(value),
		})
		if err != nil {
			c.logger.Error("correlator: raise failed; retried next sweep", zap.String("site", cl.Site), zap.Error(err))
			continue
		}
		for _, ip := range cl.IPs {
			c.bots.Confirm(ip, now)
		}
		res.clusters++
		res.views += r.Views
		res.events += r.Events
	}
	if c.stopped() {
		return res
	}
	n, err := c.store.MarkBounces(now)
	if err != nil {
		c.logger.Error("correlator: bounce check failed", zap.Error(err))
	}
	res.bounces = n
	// Index after the raises, so the entries of this sweep's new views
	// already have their raised scores.
	if c.stopped() {
		return res
	}
	if _, err := c.store.IndexScores(); err != nil {
		c.logger.Error("correlator: score index not updated", zap.Error(err))
	}
	if res.clusters > 0 || res.bounces > 0 {
		c.logger.Debug("correlator sweep", zap.Int("clusters", res.clusters), zap.Int("views", res.views),
			zap.Int("events", res.events), zap.Int("bounces", res.bounces))
	}
	return res
}
