package echelon

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// maintainEvery is how often the daily maintenance checks whether it is
// due (it runs once per UTC date from 03:00, storage.Maintenance.Tick).
const maintainEvery = 10 * time.Minute

// maintainer runs the background upkeep of one data directory until stop:
// the daily maintenance, a purge when a reload shortened the retention,
// and the removal of the daily salt when its UTC day ends.
type maintainer struct {
	st     *storage.Store
	m      *storage.Maintenance
	logger *zap.Logger
	ctx    context.Context
	cancel context.CancelFunc
	purge  chan struct{} // a purge is wanted; capacity 1
	done   chan struct{}
}

// startMaintainer checks at once and then every maintainEvery.
func startMaintainer(st *storage.Store, m *storage.Maintenance, logger *zap.Logger) *maintainer {
	ctx, cancel := context.WithCancel(context.Background())
	mt := &maintainer{st: st, m: m, logger: logger, ctx: ctx, cancel: cancel, purge: make(chan struct{}, 1), done: make(chan struct{})}
	go mt.run()
	return mt
}

func (mt *maintainer) run() {
	defer close(mt.done)
	tick := time.NewTicker(maintainEvery)
	defer tick.Stop()
	dayEnd := time.NewTimer(untilDayEnd(time.Now()))
	defer dayEnd.Stop()
	// A salt file left from a day that ended while Caddy was down goes now.
	if err := mt.st.ExpireSalt(time.Now()); err != nil {
		mt.logger.Error("the finished day's visitor salt was not removed", zap.Error(err))
	}
	for {
		ran, err := mt.m.Tick(mt.ctx, mt.st)
		switch {
		case err != nil && mt.ctx.Err() == nil:
			mt.logger.Error("daily maintenance failed; the day is retried on the next run", zap.Error(err))
		case ran && err == nil:
			mt.logger.Info("daily maintenance complete")
		}
		select {
		case <-tick.C:
		case <-mt.purge:
			views, events, err := mt.m.Purge(mt.ctx, mt.st)
			if err != nil && mt.ctx.Err() == nil {
				mt.logger.Error("purge after a retention change failed; the daily run retries it", zap.Error(err))
			} else if err == nil {
				mt.logger.Info("purged rows past the new retention", zap.Int("views", views), zap.Int("events", events))
			}
		case <-dayEnd.C:
			if err := mt.st.ExpireSalt(time.Now()); err != nil {
				mt.logger.Error("the finished day's visitor salt was not removed", zap.Error(err))
			}
			dayEnd.Reset(untilDayEnd(time.Now()))
		case <-mt.ctx.Done():
			return
		}
	}
}

// untilDayEnd is the time from now to just after the end of its UTC day.
func untilDayEnd(now time.Time) time.Duration {
	u := now.UTC()
	end := time.Date(u.Year(), u.Month(), u.Day()+1, 0, 0, 1, 0, time.UTC)
	return end.Sub(now)
}

// setRetention changes the retention for the next purge; with purge, that
// purge runs now.
func (mt *maintainer) setRetention(clean, bot int, purge bool) {
	mt.m.SetRetention(clean, bot)
	if purge {
		select {
		case mt.purge <- struct{}{}:
		default:
		}
	}
}

// stop cancels a running maintenance and ends the goroutine; the returned
// channel is closed when it has ended.
func (mt *maintainer) stop() <-chan struct{} {
	mt.cancel()
	return mt.done
}
