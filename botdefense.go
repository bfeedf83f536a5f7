package echelon

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/echelon-analytics/caddy-echelon/scoring"
)

// startBotDefense creates a data directory's bot-defense state and starts
// its correlator.
func (s *shared) startBotDefense(logger *zap.Logger) {
	// Load the excluded set now, so no beacon waits for Badger.
	if _, err := s.store.Excluded(); err != nil {
		logger.Error("excluded visitors not loaded; retried on first use", zap.Error(err))
	}
	s.burst = scoring.NewBurst(0)
	s.botIPs = scoring.NewBotIPs(0)
	s.prints = scoring.NewPrints(0)
	s.corr = &correlator{store: s.store, prints: s.prints, bots: s.botIPs, now: time.Now, logger: logger}
	s.ticker = time.NewTicker(correlatorEvery)
	s.corr.start(s.ticker.C)
}

// evictions is how many entries the directory's replay cache or burst map
// evicted (echelon_cache_evictions_total). The replay cache's count
// restarts when a reload replaces the verifier, as a counter may.
func (s *shared) evictions(cache string) uint64 {
	if cache == cacheBurst {
		return s.burst.Evictions()
	}
	s.mu.Lock()
	v := s.pow
	s.mu.Unlock()
	if v == nil {
		return 0
	}
	return uint64(v.Stats().ReplayEvicted)
}

// stopBotDefense stops the correlator and the feed refreshes; the
// returned channels are closed when the goroutines that use the store have
// returned (a running sweep ends after its current step).
func (s *shared) stopBotDefense() []<-chan struct{} {
	var users []<-chan struct{}
	if s.corr != nil {
		s.ticker.Stop()
		users = append(users, s.corr.shutdown())
	}
	s.mu.Lock()
	f := s.feeds
	s.feeds, s.feedOf = nil, ""
	s.mu.Unlock()
	f.Stop()
	return users
}

// threatFeeds returns the feeds for these sources, keeping the running ones
// (and their data) across reloads that do not change them. No sources: nil,
// so the feed signals never fire. The cache lives in db_path/feeds.
func (s *shared) threatFeeds(cfg resolvedConfig, logger *zap.Logger) (*scoring.Feeds, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "%d", cfg.feedRefresh)
	for _, src := range cfg.feedSources {
		fmt.Fprintf(&b, "|%d:%s", src.Kind, src.Location)
	}
	key := b.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.feedOf == key {
		return s.feeds, nil
	}
	s.feeds.Stop()
	s.feeds, s.feedOf = nil, key
	if len(cfg.feedSources) == 0 {
		return nil, nil
	}
	f, err := scoring.NewFeeds(scoring.FeedsConfig{
		Sources:  cfg.feedSources,
		CacheDir: filepath.Join(cfg.dbPath, "feeds"),
		Interval: cfg.feedRefresh,
		OnError: func(err error) {
			logger.Warn("threat feed not refreshed; keeping the last good copy", zap.Error(err))
		},
	})
	if err != nil {
		s.feedOf = ""
		return nil, fmt.Errorf("echelon: %w", err)
	}
	f.Start(context.Background())
	s.feeds = f
	return f, nil
}
