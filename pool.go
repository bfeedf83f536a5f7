package echelon

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/echelon-analytics/caddy-echelon/auth"
	"github.com/echelon-analytics/caddy-echelon/handlers"
	"github.com/echelon-analytics/caddy-echelon/pow"
	"github.com/echelon-analytics/caddy-echelon/scoring"
	"github.com/echelon-analytics/caddy-echelon/storage"
	"github.com/echelon-analytics/caddy-echelon/tracker"
)

// pool holds one shared entry per data directory, so a config reload with
// the same db_path reuses the open Badger, its buffers and in-memory state
// instead of failing on Badger's directory lock or dropping records.
var pool = caddy.NewUsagePool()

// rateLimiterCap bounds the rate limiter's memory (decision 6).
const rateLimiterCap = 1 << 20

// shared is what lives in the pool for one data directory.
type shared struct {
	store    *storage.Store
	writer   *storage.Writer
	sessions *auth.Sessions
	// logins counts failed dashboard logins per client.
	logins   *auth.LoginLimiter
	shutdown time.Duration
	// obs is the newest config's metrics; the writer reports flushes to it.
	obs atomic.Pointer[counters]

	// scripts caches assembled trackers for every handler of the directory.
	scripts *tracker.Assembler
	// stats times requests for /api/stats/vitals; debug is the runtime
	// switch of /api/debug.
	stats *handlers.RequestStats
	debug atomic.Bool
	// reads bounds concurrent API and dashboard reads.
	reads *handlers.ReadGate

	// maint runs the daily maintenance (maintain.go).
	maint *maintainer

	mu      sync.Mutex
	limit   *scoring.RateLimiter
	limitOf [2]int64 // max and window of limit
	pow     *pow.Verifier
	powOf   powKey

	// Bot defense state (botdefense.go), shared by every handler of the
	// directory and kept across reloads.
	burst  *scoring.Burst
	botIPs *scoring.BotIPs
	prints *scoring.Prints
	corr   *correlator
	ticker *time.Ticker
	feeds  *scoring.Feeds // guarded by mu, like feedsOf
	feedOf string
}

// powKey is what a Verifier is built from; a reload that changes none of it
// keeps the verifier and its replay and session caches.
type powKey struct {
	secret     string
	window     time.Duration
	difficulty int
}

// acquire returns the data directory's shared entry, opening it on first
// use. Every call must be paired with pool.Delete(cfg.dbPath).
func acquire(cfg settings, logger *zap.Logger, obs *counters) (*shared, error) {
	v, _, err := pool.LoadOrNew(cfg.dbPath, func() (caddy.Destructor, error) {
		st, err := storage.Open(storage.Options{Dir: cfg.dbPath})
		if err != nil {
			return nil, fmt.Errorf("echelon: db_path %s: %w", cfg.dbPath, err)
		}
		scripts, err := tracker.NewAssembler()
		if err != nil {
			_ = st.Close()
			return nil, fmt.Errorf("echelon: %w", err)
		}
		sh := &shared{store: st, sessions: auth.NewSessions(time.Now), logins: auth.NewLoginLimiter(time.Now), shutdown: cfg.shutdownTimeout, scripts: scripts, stats: handlers.NewRequestStats(time.Now), reads: handlers.NewReadGate(handlers.DefaultReadSlots())}
		sh.startBotDefense(logger)
		sh.writer = st.NewWriter(storage.WriterConfig{
			ViewFlush:  cfg.viewFlush,
			EventFlush: cfg.eventFlush,
			OnFlush: func(kind string, n int, took time.Duration, err error) {
				if c := sh.obs.Load(); c != nil {
					c.flushed(kind, took)
				}
				if err != nil {
					logger.Error("flush failed; kept for retry", zap.String("kind", kind), zap.Int("records", n), zap.Error(err))
				}
			},
		})
		sh.maint = startMaintainer(st, &storage.Maintenance{
			RetentionDays:    cfg.retentionDays,
			BotRetentionDays: cfg.botRetentionDays,
			Excluded:         st.Excluded,
			Now:              time.Now,
		}, logger)
		return sh, nil
	})
	if err != nil {
		return nil, err
	}
	sh := v.(*shared)
	sh.obs.Store(obs)
	return sh, nil
}

// limiter returns the rate limiter for these settings, keeping the current
// one (and its counts) across reloads that do not change them.
func (s *shared) limiter(max int, window time.Duration) *scoring.RateLimiter {
	if max <= 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limit == nil || s.limitOf != [2]int64{int64(max), int64(window)} {
		s.limit = scoring.NewRateLimiter(max, window, rateLimiterCap, time.Now)
		s.limitOf = [2]int64{int64(max), int64(window)}
	}
	return s.limit
}

// verifier returns the proof-of-work verifier for these settings. Without a
// configured secret the one generated once and kept in the store is used,
// so a restart changes nothing.
func (s *shared) verifier(cfg settings, logger *zap.Logger) (*pow.Verifier, error) {
	secret := cfg.secret
	if secret == "" {
		b, err := s.store.InstanceSecret()
		if err != nil {
			return nil, fmt.Errorf("echelon: instance secret: %w", err)
		}
		secret = string(b)
	}
	key := powKey{secret: secret, window: cfg.challengeWindow, difficulty: cfg.powDifficulty}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pow != nil && s.powOf == key {
		return s.pow, nil
	}
	v, err := pow.NewVerifier(pow.Config{
		Secret:     []byte(secret),
		Window:     int(cfg.challengeWindow / time.Minute),
		Difficulty: cfg.powDifficulty,
		OnError: func(err error) {
			logger.Error("proof-of-work module failed its self-check; serving the previous one", zap.Error(err))
		},
	})
	if err != nil {
		return nil, fmt.Errorf("echelon: proof of work: %w", err)
	}
	s.pow, s.powOf = v, key
	return v, nil
}

// Destruct flushes the buffers within the shutdown timeout and closes
// Badger; the pool calls it when the last config using the directory is
// unloaded.
func (s *shared) Destruct() error {
	s.stopBotDefense()
	ctx, cancel := context.WithTimeout(context.Background(), s.shutdown)
	defer cancel()
	s.maint.close()
	werr := s.writer.Close(ctx)
	if err := s.store.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	if werr != nil {
		return fmt.Errorf("final flush: %w", werr)
	}
	return nil
}
