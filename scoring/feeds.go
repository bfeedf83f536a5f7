package scoring

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FeedKind says how a threat feed is parsed and which signal it feeds
// (docs/bot-defense.md, Threat feeds).
type FeedKind uint8

const (
	// FeedCrawlerUA is a JSON array of objects with a "pattern" regex, like
	// monperrus/crawler-user-agents; a match scores crawler_feed (30).
	FeedCrawlerUA FeedKind = iota + 1
	// FeedAIBots is a JSON object whose keys are bot names (ai-robots-txt's
	// robots.json) or a JSON array of names, matched as case-insensitive
	// substrings of the UA; a match scores ai_crawler_feed (40).
	FeedAIBots
	// FeedDatacenter is AWS ip-ranges.json, GCP cloud.json or text with one
	// CIDR per line; a client IP inside scores datacenter_ip (15).
	FeedDatacenter
)

func (k FeedKind) String() string {
	switch k {
	case FeedCrawlerUA:
		return "crawler_ua"
	case FeedAIBots:
		return "ai_bots"
	case FeedDatacenter:
		return "datacenter"
	}
	return fmt.Sprintf("FeedKind(%d)", k)
}

// FeedSource is one configured feed.
type FeedSource struct {
	Kind FeedKind
	// Location is an http:// or https:// URL, or a local file path.
	Location string
}

// Defaults of FeedsConfig.
const (
	DefaultFeedInterval = 6 * time.Hour
	DefaultFeedTimeout  = 30 * time.Second
	// maxFeedBytes bounds one download; AWS's list, the largest, is a few MB.
	maxFeedBytes = 64 << 20
)

// FeedsConfig configures Feeds.
type FeedsConfig struct {
	// Sources are the feeds to load; none (the default) means the feed
	// signals never fire. Several sources of one kind are merged.
	Sources []FeedSource
	// CacheDir keeps the last accepted copy of each feed, so a restart, or
	// a source that is down, starts from it. Empty disables the cache.
	CacheDir string
	// Client fetches URL sources; nil uses a plain http.Client.
	Client *http.Client
	// Interval between refreshes (DefaultFeedInterval if <= 0) and the
	// timeout of one fetch (DefaultFeedTimeout if <= 0).
	Interval, Timeout time.Duration
	// OnError receives each failed or rejected refresh and cache load
	// (may be nil). The previous data stays in use.
	OnError func(error)
}

// Feeds holds the threat-intelligence feeds (docs/bot-defense.md): it
// loads each source, keeps the last good copy on disk, refreshes on an
// interval and answers the three feed signals without locks.
//
// A refresh replaces a feed only if it parses to at least one entry and to
// at least 10% of the entries it replaces (per source, so AWS and GCP are
// judged apart); anything else keeps the old data and is reported to
// OnError. Until a feed is loaded it matches nothing.
//
// Methods are safe for concurrent use; a nil *Feeds matches nothing.
type Feeds struct {
	cfg   FeedsConfig
	feeds []*feed
	snap  atomic.Pointer[feedSnapshot]

	refreshMu sync.Mutex // one refresh at a time

	mu     sync.Mutex // guards the feeds' data, cancel and done
	cancel context.CancelFunc
	done   chan struct{}
}

type feed struct {
	src       FeedSource
	cacheFile string // "" without a cache dir

	// Guarded by Feeds.mu.
	entries  []string       // crawler patterns or AI names
	prefixes []netip.Prefix // datacenter
	updated  time.Time
	err      error
}

func (fd *feed) count() int { return len(fd.entries) + len(fd.prefixes) }

// feedSnapshot is what the matchers read; it is replaced whole.
type feedSnapshot struct {
	crawler *uaPatterns
	ai      *UAMatcher
	dc      ipSet
}

// FeedStatus describes one source for logs and metrics.
type FeedStatus struct {
	Kind     FeedKind
	Location string
	Entries  int       // entries in use, 0 if never loaded
	Updated  time.Time // when they were fetched (or cached), zero if never
	Err      error     // the last refresh's error, nil if it succeeded
}

// NewFeeds checks the configuration and returns Feeds that match nothing
// until Start loads them.
func NewFeeds(cfg FeedsConfig) (*Feeds, error) {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultFeedInterval
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultFeedTimeout
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	f := &Feeds{cfg: cfg}
	seen := map[FeedSource]bool{}
	for _, src := range cfg.Sources {
		if src.Kind < FeedCrawlerUA || src.Kind > FeedDatacenter {
			return nil, fmt.Errorf("threat feed %q: unknown kind %d", src.Location, src.Kind)
		}
		if strings.TrimSpace(src.Location) == "" {
			return nil, fmt.Errorf("threat feed of kind %s: empty location", src.Kind)
		}
		if seen[src] {
			return nil, fmt.Errorf("threat feed %s %q listed twice", src.Kind, src.Location)
		}
		seen[src] = true
		fd := &feed{src: src}
		if cfg.CacheDir != "" {
			// The file name is derived from the source, so a cache dir can
			// be shared by configs and survives reordering.
			sum := sha256.Sum256([]byte(src.Location))
			fd.cacheFile = filepath.Join(cfg.CacheDir, fmt.Sprintf("%s-%x.feed", src.Kind, sum[:8]))
		}
		f.feeds = append(f.feeds, fd)
	}
	return f, nil
}

// Start loads the cached copies, then refreshes every source now and every
// Interval after, in a goroutine that runs until ctx ends or Stop. Calling
// it again while running does nothing.
func (f *Feeds) Start(ctx context.Context) {
	if f == nil || len(f.feeds) == 0 {
		return
	}
	f.mu.Lock()
	if f.done != nil {
		f.mu.Unlock()
		return
	}
	err := f.loadCachedLocked()
	ctx, f.cancel = context.WithCancel(ctx)
	f.done = make(chan struct{})
	go f.run(ctx, f.done)
	f.mu.Unlock()
	if err != nil {
		f.report(err) // outside the lock: OnError may call Status
	}
}

// Stop ends the refresh goroutine and waits for it.
func (f *Feeds) Stop() {
	if f == nil {
		return
	}
	f.mu.Lock()
	cancel, done := f.cancel, f.done
	f.cancel, f.done = nil, nil
	f.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (f *Feeds) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(f.cfg.Interval)
	defer t.Stop()
	for {
		if err := f.Refresh(ctx); err != nil && ctx.Err() == nil {
			f.report(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (f *Feeds) report(err error) {
	if f.cfg.OnError != nil {
		f.cfg.OnError(err)
	}
}

// loadCached loads every source's cached copy, if there is one; Start
// does this first. A missing cache file is not an error.
func (f *Feeds) loadCached() error {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.loadCachedLocked()
}

func (f *Feeds) loadCachedLocked() error {
	var errs []error
	loaded := false
	for _, fd := range f.feeds {
		if fd.cacheFile == "" {
			continue
		}
		b, err := readLimited(fd.cacheFile)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil {
			err = fd.set(b, time.Time{})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("threat feed %s %q: cache: %w", fd.src.Kind, fd.src.Location, err))
			continue
		}
		if st, err := os.Stat(fd.cacheFile); err == nil {
			fd.updated = st.ModTime()
		}
		loaded = true
	}
	if loaded {
		f.rebuild()
	}
	return errors.Join(errs...)
}

// Refresh fetches every source once, replacing the feeds that pass the
// checks (see Feeds) and caching them. It returns the sources' errors,
// joined.
func (f *Feeds) Refresh(ctx context.Context) error {
	if f == nil {
		return nil
	}
	f.refreshMu.Lock()
	defer f.refreshMu.Unlock()
	var errs []error
	changed := false
	for _, fd := range f.feeds {
		loaded, err := f.refreshOne(ctx, fd)
		changed = changed || loaded
		if err != nil {
			err = fmt.Errorf("threat feed %s %q: %w", fd.src.Kind, fd.src.Location, err)
			errs = append(errs, err)
		}
		f.mu.Lock()
		fd.err = err
		f.mu.Unlock()
	}
	if changed {
		f.mu.Lock()
		f.rebuild()
		f.mu.Unlock()
	}
	return errors.Join(errs...)
}

// refreshOne fetches one source and reports whether its data was replaced.
func (f *Feeds) refreshOne(ctx context.Context, fd *feed) (loaded bool, err error) {
	b, err := f.fetch(ctx, fd.src.Location)
	if err != nil {
		return false, err
	}
	f.mu.Lock()
	err = fd.set(b, time.Now())
	f.mu.Unlock()
	if err != nil {
		return false, err
	}
	if fd.cacheFile != "" {
		if err := writeAtomic(fd.cacheFile, b); err != nil {
			return true, fmt.Errorf("loaded, but not cached: %w", err)
		}
	}
	return true, nil
}

// set parses b and, if it passes the size checks, replaces fd's data.
func (fd *feed) set(b []byte, now time.Time) error {
	var (
		entries  []string
		prefixes []netip.Prefix
		err      error
	)
	switch fd.src.Kind {
	case FeedCrawlerUA:
		entries, err = parseCrawlerFeed(b)
	case FeedAIBots:
		entries, err = parseAIFeed(b)
	case FeedDatacenter:
		prefixes, err = parseDatacenterFeed(b)
	}
	if err != nil {
		return fmt.Errorf("parse: %w", err)
	}
	n, prev := len(entries)+len(prefixes), fd.count()
	switch {
	case n == 0:
		return errors.New("no entries; keeping the previous list")
	case n*10 < prev:
		return fmt.Errorf("%d entries, under 10%% of the %d in use; keeping the previous list", n, prev)
	}
	fd.entries, fd.prefixes, fd.updated = entries, prefixes, now
	return nil
}

// rebuild compiles the matchers from every feed's data; f.mu is held.
func (f *Feeds) rebuild() {
	var crawler, ai []string
	var prefixes []netip.Prefix
	for _, fd := range f.feeds {
		switch fd.src.Kind {
		case FeedCrawlerUA:
			crawler = append(crawler, fd.entries...)
		case FeedAIBots:
			ai = append(ai, fd.entries...)
		case FeedDatacenter:
			prefixes = append(prefixes, fd.prefixes...)
		}
	}
	s := &feedSnapshot{dc: newIPSet(prefixes)}
	if len(crawler) > 0 {
		s.crawler = newUAPatterns(crawler)
	}
	if len(ai) > 0 {
		s.ai = newNameMatcher(ai)
	}
	f.snap.Store(s)
}

func (f *Feeds) fetch(ctx context.Context, loc string) ([]byte, error) {
	if !strings.HasPrefix(loc, "http://") && !strings.HasPrefix(loc, "https://") {
		return readLimited(loc)
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc, nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.cfg.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	return readAllLimited(resp.Body)
}

func readLimited(name string) ([]byte, error) {
	fh, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return readAllLimited(fh)
}

func readAllLimited(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxFeedBytes+1))
	if err == nil && len(b) > maxFeedBytes {
		err = fmt.Errorf("larger than %d bytes", maxFeedBytes)
	}
	return b, err
}

// writeAtomic replaces name with b, so a crash never leaves half a cache.
func writeAtomic(name string, b []byte) error {
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// Status reports every source's state, in configuration order.
func (f *Feeds) Status() []FeedStatus {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]FeedStatus, len(f.feeds))
	for i, fd := range f.feeds {
		out[i] = FeedStatus{Kind: fd.src.Kind, Location: fd.src.Location, Entries: fd.count(), Updated: fd.updated, Err: fd.err}
	}
	return out
}

// CrawlerUA reports whether ua matches the crawler feed.
func (f *Feeds) CrawlerUA(ua string) bool {
	s := f.snapshot()
	return s != nil && s.crawler.match(ua)
}

// AICrawler reports whether ua contains a name from the AI bot feed.
func (f *Feeds) AICrawler(ua string) bool {
	s := f.snapshot()
	if s == nil {
		return false
	}
	_, ok := s.ai.Match(ua)
	return ok
}

// Datacenter reports whether ip is in a datacenter range. IPv4-mapped
// (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses count as
// their IPv4 address.
func (f *Feeds) Datacenter(ip netip.Addr) bool {
	s := f.snapshot()
	return s != nil && s.dc.contains(ip)
}

// Fill sets the three feed inputs for a request from ua and the client ip.
func (f *Feeds) Fill(in *Input, ua string, ip netip.Addr) {
	in.CrawlerFeed = f.CrawlerUA(ua)
	in.AICrawlerFeed = f.AICrawler(ua)
	in.DatacenterIP = f.Datacenter(ip)
}

func (f *Feeds) snapshot() *feedSnapshot {
	if f == nil {
		return nil
	}
	return f.snap.Load()
}
