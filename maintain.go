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

// maintainer runs the daily maintenance of one data directory in the
// background until stop is closed.
type maintainer struct {
	stop, done chan struct{}
}

// startMaintainer checks at once and then every maintainEvery.
func startMaintainer(st *storage.Store, m *storage.Maintenance, logger *zap.Logger) *maintainer {
	mt := &maintainer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(mt.done)
		tick := time.NewTicker(maintainEvery)
		defer tick.Stop()
		for {
			ran, err := m.Tick(context.Background(), st)
			if err != nil {
				logger.Error("daily maintenance failed; the day is retried on the next run", zap.Error(err))
			} else if ran {
				logger.Info("daily maintenance complete")
			}
			select {
			case <-tick.C:
			case <-mt.stop:
				return
			}
		}
	}()
	return mt
}

func (mt *maintainer) close() {
	close(mt.stop)
	<-mt.done
}
