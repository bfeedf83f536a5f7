package echelon

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/echelon-analytics/caddy-echelon/anonymize"
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

// closing holds, per data directory, a channel closed when the store of
// an unloaded configuration has closed Badger. A store that was still
// closing when its shutdown timeout ended finishes in the background,
// holding Badger's directory lock meanwhile; the next open of that
// directory waits for it (at most reopenWait).
var closing sync.Map // db path → <-chan struct{}

// reopenWait bounds how long opening a data directory waits for the
// previous configuration's store to finish closing.
const reopenWait = 30 * time.Second

// rateLimiterCap bounds the rate limiter's memory (docs/bot-defense.md, Under hostile traffic).
const rateLimiterCap = 1 << 20

// shared is what lives in the pool for one data directory.
type shared struct {
	dir      string // db_path
	store    *storage.Store
	writer   *storage.Writer
	sessions *auth.Sessions
	// logins counts failed dashboard logins per client.
	logins *auth.LoginLimiter
	// opts are the store-wide settings of every handler using the
	// directory; applied are those in force (storeOptions.combine).
	optsMu  sync.Mutex
	opts    map[*Handler]storeOptions
	applied storeOptions
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
func acquire(cfg resolvedConfig, logger *zap.Logger, obs *counters) (*shared, error) {
	v, _, err := pool.LoadOrNew(cfg.dbPath, func() (caddy.Destructor, error) {
		if ch, ok := closing.Load(cfg.dbPath); ok {
			select {
			case <-ch.(<-chan struct{}):
				closing.Delete(cfg.dbPath)
			case <-time.After(reopenWait):
				return nil, fmt.Errorf("echelon: db_path %s: the previous configuration's store is still closing", cfg.dbPath)
			}
		}
		opts := optionsOf(cfg)
		st, err := storage.Open(storage.Options{Dir: cfg.dbPath, MaxSites: opts.maxSites, MaxValues: opts.maxValues})
		if err != nil {
			return nil, fmt.Errorf("echelon: db_path %s: %w", cfg.dbPath, err)
		}
		scripts, err := tracker.NewAssembler()
		if err != nil {
			_ = st.Close()
			return nil, fmt.Errorf("echelon: %w", err)
		}
		sh := &shared{dir: cfg.dbPath, store: st, sessions: auth.NewSessions(time.Now), logins: auth.NewLoginLimiter(time.Now),
			opts: map[*Handler]storeOptions{}, applied: opts,
			scripts: scripts, stats: handlers.NewRequestStats(time.Now), reads: handlers.NewReadGate(handlers.DefaultReadSlots())}
		sh.startBotDefense(logger)
		sh.writer = st.NewWriter(storage.WriterConfig{
			ViewFlush:  opts.viewFlush,
			EventFlush: opts.eventFlush,
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
			RetentionDays:    opts.retentionDays,
			BotRetentionDays: opts.botRetentionDays,
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

// storeOptions are the settings that act on the whole data directory
// rather than on one handler: retention, flush intervals, the shutdown
// bound and the cardinality caps.
type storeOptions struct {
	retentionDays, botRetentionDays int
	viewFlush, eventFlush           time.Duration
	shutdown                        time.Duration
	maxSites, maxValues, maxBotRows int
}

func optionsOf(cfg resolvedConfig) storeOptions {
	return storeOptions{
		retentionDays: cfg.retentionDays, botRetentionDays: cfg.botRetentionDays,
		viewFlush: cfg.viewFlush, eventFlush: cfg.eventFlush, shutdown: cfg.shutdownTimeout,
		maxSites: cfg.maxSites, maxValues: cfg.maxValues, maxBotRows: cfg.maxBotRows,
	}
}

// combine merges the options of two handlers of one directory: the
// shorter retention and flush intervals (the stricter privacy setting,
// the fresher statistics), the longer shutdown bound and the larger caps.
func (o storeOptions) combine(p storeOptions) storeOptions {
	return storeOptions{
		retentionDays: min(o.retentionDays, p.retentionDays), botRetentionDays: min(o.botRetentionDays, p.botRetentionDays),
		viewFlush: min(o.viewFlush, p.viewFlush), eventFlush: min(o.eventFlush, p.eventFlush),
		shutdown: max(o.shutdown, p.shutdown), maxSites: max(o.maxSites, p.maxSites), maxValues: max(o.maxValues, p.maxValues),
		maxBotRows: max(o.maxBotRows, p.maxBotRows),
	}
}

// join records h's settings and applies the options of every handler
// using the directory, so a `caddy reload` changes them without reopening
// the store: Caddy provisions the new configuration's handlers before it
// cleans up the old ones, and leave then drops the old settings.
func (s *shared) join(h *Handler, cfg resolvedConfig) {
	s.optsMu.Lock()
	defer s.optsMu.Unlock()
	s.opts[h] = optionsOf(cfg)
	s.applyLocked()
}

// leave drops h's settings; the last handler's stay in force for the
// unload.
func (s *shared) leave(h *Handler) {
	s.optsMu.Lock()
	defer s.optsMu.Unlock()
	delete(s.opts, h)
	s.applyLocked()
}

func (s *shared) applyLocked() {
	if len(s.opts) == 0 {
		return
	}
	var next storeOptions
	first := true
	for _, o := range s.opts {
		if first {
			next, first = o, false
			continue
		}
		next = next.combine(o)
	}
	prev := s.applied
	s.applied = next
	s.store.SetMaxSites(next.maxSites)
	s.store.SetMaxValues(next.maxValues)
	s.store.SetBotRowBudget(next.maxBotRows)
	if next.viewFlush != prev.viewFlush || next.eventFlush != prev.eventFlush {
		s.writer.SetIntervals(next.viewFlush, next.eventFlush)
	}
	if next.retentionDays != prev.retentionDays || next.botRetentionDays != prev.botRetentionDays {
		// A shorter retention purges now, not at the next daily run.
		s.maint.setRetention(next.retentionDays, next.botRetentionDays,
			next.retentionDays < prev.retentionDays || next.botRetentionDays < prev.botRetentionDays)
	}
}

// shutdownTimeout is the bound on the unload in force.
func (s *shared) shutdownTimeout() time.Duration {
	s.optsMu.Lock()
	defer s.optsMu.Unlock()
	return s.applied.shutdown
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

// anonymizer maps the stored fields of anonymized sites, keyed by the
// configured secret or, without one, the generated one kept in the store
// (the same key after a restart, so a day's stand-ins stay stable).
func (s *shared) anonymizer(cfg resolvedConfig) (*anonymize.Anonymizer, error) {
	secret := cfg.secret
	if secret == "" {
		b, err := s.store.InstanceSecret()
		if err != nil {
			return nil, fmt.Errorf("echelon: instance secret: %w", err)
		}
		secret = string(b)
	}
	return anonymize.New([]byte(secret)), nil
}

// verifier returns the proof-of-work verifier for these settings. Without a
// configured secret the one generated once and kept in the store is used,
// so a restart changes nothing.
func (s *shared) verifier(cfg resolvedConfig, logger *zap.Logger) (*pow.Verifier, error) {
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
	// Experiments count a session's events only once it sent a pageview
	// with a valid proof.
	s.store.SetProvenSessions(func(site, session, visitor string) bool {
		return session != "" && v.SessionProvedBy(site, session, visitor, time.Now())
	})
	return v, nil
}

// Destruct stops the directory's goroutines, flushes the buffers and
// closes Badger, all within the shutdown timeout: the pool calls it when
// the last config using the directory is unloaded. A running maintenance
// and correlator sweep are cancelled; buffered records not stored when
// the timeout ends are dropped and counted (records flushed before are
// safe in Badger's log); a Badger close still running then finishes in
// the background, and the next open of the directory waits for it.
func (s *shared) Destruct() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.shutdownTimeout())
	defer cancel()
	users := s.stopBotDefense()
	users = append(users, s.maint.stop())
	closing.Store(s.dir, s.store.Closed())
	if err := s.store.Shutdown(ctx, users...); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}
