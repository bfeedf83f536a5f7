package storage

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Experiments and their results (docs/api.md and docs/tracker.md,
// Experiments).
//
// Key layouts (tables 0x30–0x33, keys.go):
//
//	0x30 | experiment_id                              →  settingsVersion | JSON experimentRecord
//	0x31 | token(experiment_id) | position(2)         →  settingsVersion | JSON variantRecord
//	0x32 | token(exp) | token(variant) | token(sess)  →  day(2): the session was exposed
//	0x33 | token(sess) | name                         →  day(2): the session sent a metric event
//
// The experiment definitions are few and written rarely, so their values
// are JSON behind a version byte. 0x32 and 0x33 are written by the event
// flush (indexEvent): an event tagged with experiment_id and variant_id
// marks its session exposed to that variant, and an event whose type, or
// whose data.name for a custom event, is the metric of some experiment
// marks its session as having sent that name. Sessions are keys, so a
// variant's impressions (distinct sessions) are a prefix scan of 0x32 and
// its conversions one point read of 0x33 per exposed session. Session ids
// (UUIDs) are stored without dashes, packed as hex by appendKeyToken.
//
// A metric event is indexed only if an experiment with that metric existed
// when the event was flushed: create experiments before their traffic.

// Experiment statuses.
const (
	StatusDraft     = "draft"
	StatusActive    = "active"
	StatusPaused    = "paused"
	StatusCompleted = "completed"
	StatusArchived  = "archived"
)

// ExperimentStatuses returns the five statuses, in lifecycle order.
func ExperimentStatuses() []string {
	return []string{StatusDraft, StatusActive, StatusPaused, StatusCompleted, StatusArchived}
}

// transitions are the allowed status changes (docs/api.md, Experiments).
var transitions = map[[2]string]bool{
	{StatusDraft, StatusActive}:       true,
	{StatusActive, StatusPaused}:      true,
	{StatusActive, StatusCompleted}:   true,
	{StatusPaused, StatusActive}:      true,
	{StatusCompleted, StatusArchived}: true,
	{StatusPaused, StatusArchived}:    true,
}

// TransitionAllowed reports whether an experiment may go from one status
// to another.
func TransitionAllowed(from, to string) bool { return transitions[[2]string{from, to}] }

// Errors of the experiment and settings writes.
var (
	ErrNotFound = errors.New("storage: not found")
	ErrConflict = errors.New("storage: conflict")
)

// TransitionError is a status change the rules refuse.
type TransitionError struct{ From, To string }

func (e *TransitionError) Error() string {
	return fmt.Sprintf("Cannot transition from '%s' to '%s'", e.From, e.To)
}

// Experiment is one A/B test. Zero times and "" stand for null.
type Experiment struct {
	ID                string
	Name              string
	Description       string
	MetricEventType   string
	Status            string
	AllocationPercent int
	CreatedAt         time.Time
	StartedAt         time.Time
	EndedAt           time.Time
	// Variants in the order they were created; ListExperiments leaves it
	// empty.
	Variants []Variant
}

// Variant is one arm of an experiment.
type Variant struct {
	ID        string
	Name      string
	Weight    float64 // relative, > 0
	IsControl bool
	Config    string // JSON text, "" = null
}

// VariantResult is what the event index says about one variant.
type VariantResult struct {
	Impressions int // distinct exposed sessions
	Conversions int // of those, sessions that sent the metric
}

const settingsVersion byte = 1

type experimentRecord struct {
	Name        string `json:"n"`
	Description string `json:"d,omitempty"`
	Metric      string `json:"m"`
	Status      string `json:"s"`
	Allocation  int    `json:"a"`
	Created     int64  `json:"c"` // Unix ms
	Started     int64  `json:"st,omitempty"`
	Ended       int64  `json:"e,omitempty"`
}

type variantRecord struct {
	ID      string  `json:"id"`
	Name    string  `json:"n"`
	Weight  float64 `json:"w"`
	Control bool    `json:"c,omitempty"`
	Config  string  `json:"cf,omitempty"`
}

// experimentState is the in-memory side of the experiment tables.
type experimentState struct {
	mu sync.Mutex // serialises experiment and settings writes
	// metrics is the set of every experiment's metric, read by the flush.
	metrics atomic.Pointer[map[string]bool]
	// version changes whenever something a served ea.js embeds changes
	// (active experiments, consent CSS): the tracker cache keys on it.
	version atomic.Uint64
	// proven reports whether a visitor's session sent a pageview with a
	// valid proof of work (SetProvenSessions); nil proves every session.
	proven atomic.Pointer[func(site, session, visitor string) bool]
}

// SetProvenSessions sets how the experiment index learns whether a
// tracked event's session sent, from the same visitor, a pageview with a
// valid proof of work: only such sessions' clean events count as
// exposures and conversions. nil counts every clean event.
func (s *Store) SetProvenSessions(proven func(site, session, visitor string) bool) {
	if proven == nil {
		s.exp.proven.Store(nil)
		return
	}
	s.exp.proven.Store(&proven)
}

// provenEvent reports whether e may enter the experiment index: it scores
// 0–49 (what the statistics count) and, when it came from the tracker,
// its session is proven.
func (s *Store) provenEvent(e *Event) bool {
	if e.BotScore < 0 || e.BotScore >= 50 {
		return false
	}
	if !e.Tracked {
		return true
	}
	p := s.exp.proven.Load()
	return p == nil || (*p)(e.SiteID, e.SessionID, e.VisitorID)
}

// ScriptVersion changes whenever an experiment or a site's settings are
// written; assembled trackers that embed them are keyed by it.
func (s *Store) ScriptVersion() uint64 { return s.exp.version.Load() }

func experimentKey(id string) []byte { return append([]byte{tableExperiments}, id...) }

func variantPrefix(exp string) []byte { return appendKeyToken([]byte{tableVariants}, exp) }

func variantKey(exp string, pos int) []byte {
	return binary.BigEndian.AppendUint16(variantPrefix(exp), uint16(pos))
}

// sessionToken is the key form of a session id: dashes dropped, so a UUID
// packs to 16 bytes.
func appendSessionToken(dst []byte, session string) []byte {
	return appendKeyToken(dst, strings.ReplaceAll(session, "-", ""))
}

func exposurePrefix(exp, variant string) []byte {
	k := appendKeyToken([]byte{tableExposures}, exp)
	return appendKeyToken(k, variant)
}

func encodeSetting(v any) []byte {
	b, _ := json.Marshal(v) // plain structs of strings and numbers
	return append([]byte{settingsVersion}, b...)
}

func decodeSetting(val []byte, v any) error {
	if len(val) == 0 || val[0] != settingsVersion {
		return fmt.Errorf("setting value version %x, want %d", val[:min(1, len(val))], settingsVersion)
	}
	return json.Unmarshal(val[1:], v)
}

func msOrZero(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return msTime(ms)
}

func zeroOrMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func (r *experimentRecord) experiment(id string) Experiment {
	return Experiment{
		ID: id, Name: r.Name, Description: r.Description, MetricEventType: r.Metric,
		Status: r.Status, AllocationPercent: r.Allocation, CreatedAt: msTime(r.Created),
		StartedAt: msOrZero(r.Started), EndedAt: msOrZero(r.Ended),
	}
}

func recordOf(e *Experiment) experimentRecord {
	return experimentRecord{
		Name: e.Name, Description: e.Description, Metric: e.MetricEventType, Status: e.Status,
		Allocation: e.AllocationPercent, Created: e.CreatedAt.UnixMilli(),
		Started: zeroOrMS(e.StartedAt), Ended: zeroOrMS(e.EndedAt),
	}
}

// CreateExperiment stores e and its variants in one transaction, with
// status draft unless e.Status is set. An existing id, or two variants
// with one id, is ErrConflict.
func (s *Store) CreateExperiment(e Experiment) error {
	if e.ID == "" {
		return errors.New("create experiment: empty id")
	}
	if e.Status == "" {
		e.Status = StatusDraft
	}
	seen := map[string]bool{}
	for _, v := range e.Variants {
		if seen[v.ID] {
			return fmt.Errorf("create experiment %s: variant %q twice: %w", e.ID, v.ID, ErrConflict)
		}
		seen[v.ID] = true
	}
	s.exp.mu.Lock()
	defer s.exp.mu.Unlock()
	if _, err := s.loadMetrics(); err != nil {
		return fmt.Errorf("create experiment %s: %w", e.ID, err)
	}
	err := s.db.Update(func(txn *badger.Txn) error {
		if _, err := txn.Get(experimentKey(e.ID)); err == nil {
			return ErrConflict
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		rec := recordOf(&e)
		if err := txn.Set(experimentKey(e.ID), encodeSetting(rec)); err != nil {
			return err
		}
		for i, v := range e.Variants {
			vr := variantRecord{ID: v.ID, Name: v.Name, Weight: v.Weight, Control: v.IsControl, Config: v.Config}
			if err := txn.Set(variantKey(e.ID, i), encodeSetting(vr)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create experiment %s: %w", e.ID, err)
	}
	s.addMetric(e.MetricEventType)
	s.exp.version.Add(1)
	return nil
}

// TransitionExperiment moves experiment id to status to, if the rules
// allow it from its current status: →active sets StartedAt and
// →completed/archived EndedAt when unset. Errors: ErrNotFound, a
// *TransitionError, or ErrConflict when the status changed meanwhile.
func (s *Store) TransitionExperiment(id, to string, now time.Time) error {
	s.exp.mu.Lock()
	defer s.exp.mu.Unlock()
	var rec experimentRecord
	err := s.db.View(func(txn *badger.Txn) error { return getSetting(txn, experimentKey(id), &rec) })
	if err != nil {
		return fmt.Errorf("experiment %s: %w", id, err)
	}
	from := rec.Status
	if !TransitionAllowed(from, to) {
		return &TransitionError{From: from, To: to}
	}
	err = s.db.Update(func(txn *badger.Txn) error {
		// Conditional on the status read above.
		var cur experimentRecord
		if err := getSetting(txn, experimentKey(id), &cur); err != nil {
			return err
		}
		if cur.Status != from {
			return ErrConflict
		}
		cur.Status = to
		ms := now.UnixMilli()
		if to == StatusActive && cur.Started == 0 {
			cur.Started = ms
		}
		if (to == StatusCompleted || to == StatusArchived) && cur.Ended == 0 {
			cur.Ended = ms
		}
		return txn.Set(experimentKey(id), encodeSetting(cur))
	})
	if err != nil {
		return fmt.Errorf("experiment %s: %w", id, err)
	}
	s.exp.version.Add(1)
	return nil
}

// getSetting reads and decodes one JSON setting; ErrNotFound if absent.
func getSetting(txn *badger.Txn, key []byte, v any) error {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	return item.Value(func(val []byte) error { return decodeSetting(val, v) })
}

// ListExperiments returns up to limit experiments, newest first, without
// variants.
func (s *Store) ListExperiments(limit int) ([]Experiment, error) {
	var out []Experiment
	err := s.db.View(func(txn *badger.Txn) error {
		return scanExperiments(txn, func(e Experiment) { out = append(out, e) })
	})
	if err != nil {
		return nil, fmt.Errorf("list experiments: %w", err)
	}
	sortNewestFirst(out)
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// ExperimentByID returns one experiment with its variants, or ErrNotFound.
func (s *Store) ExperimentByID(id string) (Experiment, error) {
	var e Experiment
	err := s.db.View(func(txn *badger.Txn) error {
		var rec experimentRecord
		if err := getSetting(txn, experimentKey(id), &rec); err != nil {
			return err
		}
		e = rec.experiment(id)
		var err error
		e.Variants, err = readVariants(txn, id)
		return err
	})
	if err != nil {
		return Experiment{}, fmt.Errorf("experiment %s: %w", id, err)
	}
	return e, nil
}

// ExperimentsWithStatus returns the experiments in any of statuses, with
// their variants, newest first.
func (s *Store) ExperimentsWithStatus(statuses ...string) ([]Experiment, error) {
	var out []Experiment
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		scanErr := scanExperiments(txn, func(e Experiment) {
			if err != nil || !slices.Contains(statuses, e.Status) {
				return
			}
			e.Variants, err = readVariants(txn, e.ID)
			out = append(out, e)
		})
		return errors.Join(scanErr, err)
	})
	if err != nil {
		return nil, fmt.Errorf("experiments: %w", err)
	}
	sortNewestFirst(out)
	return out, nil
}

func sortNewestFirst(list []Experiment) {
	sort.SliceStable(list, func(i, j int) bool {
		if !list[i].CreatedAt.Equal(list[j].CreatedAt) {
			return list[i].CreatedAt.After(list[j].CreatedAt)
		}
		return list[i].ID > list[j].ID
	})
}

func scanExperiments(txn *badger.Txn, fn func(Experiment)) error {
	prefix := []byte{tableExperiments}
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Prefix: prefix})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		id := string(item.Key()[1:])
		var rec experimentRecord
		if err := item.Value(func(val []byte) error { return decodeSetting(val, &rec) }); err != nil {
			return fmt.Errorf("experiment %s: %w", id, err)
		}
		fn(rec.experiment(id))
	}
	return nil
}

func readVariants(txn *badger.Txn, exp string) ([]Variant, error) {
	prefix := variantPrefix(exp)
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Prefix: prefix})
	defer it.Close()
	var out []Variant
	for it.Rewind(); it.Valid(); it.Next() {
		if len(it.Item().Key()) != len(prefix)+2 {
			return nil, fmt.Errorf("%w: %x", errBadKey, it.Item().Key())
		}
		var vr variantRecord
		if err := it.Item().Value(func(val []byte) error { return decodeSetting(val, &vr) }); err != nil {
			return nil, fmt.Errorf("variant of %s: %w", exp, err)
		}
		out = append(out, Variant{ID: vr.ID, Name: vr.Name, Weight: vr.Weight, IsControl: vr.Control, Config: vr.Config})
	}
	return out, nil
}
