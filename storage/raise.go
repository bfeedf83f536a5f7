package storage

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Retroactive score raises (docs/bot-defense.md, Correlator): the
// correlator and the no-event bounce check raise the scores of rows already
// stored.
//
// A raise applies to rows scoring 0–49 (what the statistics count) and
// records itself in the row's detail under its marker key; a row that has
// the marker is never raised by that marker again, so each raise happens at
// most once per row, however often a sweep finds it.

// Raise is one retroactive raise.
type Raise struct {
	// Site and VisitorIDs select the rows: every view (and, with Events,
	// every event) of these visitors on Site.
	Site       string
	VisitorIDs []string
	Events     bool
	// Penalty is added to the score, which stays at most 100.
	Penalty int
	// Marker is the detail key recorded, Value its JSON value.
	Marker, Value string
}

// RaiseResult counts the rows a raise changed.
type RaiseResult struct{ Views, Events int }

// RaiseScores applies r in one Badger transaction, so a sweep's raise of a
// cluster is stored whole or not at all. Only a cluster too large for one
// transaction (Badger's ErrTxnTooBig, tens of thousands of rows) is split
// into several, committed in order; the markers keep a retry from raising
// a row twice.
func (s *Store) RaiseScores(r Raise) (RaiseResult, error) {
	var res RaiseResult
	if !storedSite(r.Site) || r.Marker == "" || r.Penalty <= 0 {
		return res, fmt.Errorf("raise scores: bad raise (site %q, marker %q, penalty %d)", r.Site, r.Marker, r.Penalty)
	}
	if !s.sites.has(r.Site) {
		// The rows of a site that is not registered are OtherSite's
		// (sites.go); visitor ids are per site, so only this site's
		// visitors match there.
		r.Site = OtherSite
	}
	if err := s.syncIndexes(); err != nil {
		return res, fmt.Errorf("raise scores: %w", err)
	}
	s.rewriteMu.Lock()
	defer s.rewriteMu.Unlock()
	// The visitors' summaries are updated in the raise's transaction.
	s.sum.mu.Lock()
	defer s.sum.mu.Unlock()
	raised := map[string]int{}
	txn := s.db.NewTransaction(true)
	defer func() { txn.Discard() }()
	mark, err := scoreIndexed(txn)
	if err != nil {
		return res, fmt.Errorf("raise scores: %w", err)
	}
	// write applies one change, committing and starting a new transaction
	// when the current one is full.
	write := func(apply func(*badger.Txn) error) error {
		err := apply(txn)
		if errors.Is(err, badger.ErrTxnTooBig) {
			if err = txn.Commit(); err != nil {
				return err
			}
			txn = s.db.NewTransaction(true)
			err = apply(txn)
		}
		return err
	}
	set := func(key, val []byte) error {
		return write(func(t *badger.Txn) error { return t.Set(key, val) })
	}
	w := txnWriter{set: set, del: func(key, _ []byte) error {
		return write(func(t *badger.Txn) error { return t.Delete(key) })
	}}
	for _, vid := range r.VisitorIDs {
		ids, err := visitorRowIDs(txn, tableVisitorViews, vid, r.Site)
		if err != nil {
			return res, fmt.Errorf("raise scores: %w", err)
		}
		for _, id := range ids {
			changed, err := raiseRow(txn, tableViews, r.Site, id, r, set, viewCodec, raisedTo(raised, vid, viewReindexer(w, mark, r.Site, vid, id)))
			if err != nil {
				return res, fmt.Errorf("raise scores: view: %w", err)
			}
			if changed {
				res.Views++
			}
		}
		if !r.Events {
			continue
		}
		ids, err = visitorRowIDs(txn, tableVisitorEvents, vid, r.Site)
		if err != nil {
			return res, fmt.Errorf("raise scores: %w", err)
		}
		for _, id := range ids {
			changed, err := raiseRow(txn, tableEvents, r.Site, id, r, set, eventCodec, nil)
			if err != nil {
				return res, fmt.Errorf("raise scores: event: %w", err)
			}
			if changed {
				res.Events++
			}
		}
	}
	if err := s.raiseSummaries(txn, set, r.Site, raised); err != nil {
		return res, fmt.Errorf("raise scores: %w", err)
	}
	if err := txn.Commit(); err != nil {
		return res, fmt.Errorf("raise scores: commit: %w", err)
	}
	return res, nil
}

// raisedTo wraps a raise's after function so that it also records the
// visitor's highest new score in raised.
func raisedTo(raised map[string]int, visitor string, after func(old, new int) error) func(old, new int) error {
	return func(old, new int) error {
		raised[visitor] = max(raised[visitor], new)
		return after(old, new)
	}
}

// rowCodec reads a stored record's score and detail and gives back a way
// to encode it with new ones.
type rowCodec func(val []byte) (score int, detail string, encode func(score int, detail string) []byte, err error)

func viewCodec(val []byte) (int, string, func(int, string) []byte, error) {
	var v View
	if err := DecodeView(val, &v); err != nil {
		return 0, "", nil, err
	}
	return v.BotScore, v.BotScoreDetail, func(sc int, d string) []byte {
		v.BotScore, v.BotScoreDetail = sc, d
		return EncodeView(nil, &v)
	}, nil
}

func eventCodec(val []byte) (int, string, func(int, string) []byte, error) {
	var e Event
	if err := DecodeEvent(val, &e); err != nil {
		return 0, "", nil, err
	}
	return e.BotScore, e.BotScoreDetail, func(sc int, d string) []byte {
		e.BotScore, e.BotScoreDetail = sc, d
		return EncodeEvent(nil, &e)
	}, nil
}

// raiseRow raises one row if it is still 0–49 and unmarked; after, if not
// nil, runs in the same transaction with the old and new score.
func raiseRow(txn *badger.Txn, table byte, site string, id uint64, r Raise, set func(k, v []byte) error, codec rowCodec, after func(old, new int) error) (bool, error) {
	var score, raised int
	_, changed, err := rewriteRow(txn, table, site, id, func(val []byte) ([]byte, bool, error) {
		var detail string
		var encode func(int, string) []byte
		var err error
		if score, detail, encode, err = codec(val); err != nil {
			return nil, false, err
		}
		if score < 0 || score > 49 || HasDetailKey(detail, r.Marker) {
			return nil, false, nil
		}
		raised = min(score+r.Penalty, 100)
		return encode(raised, AddDetailKey(detail, r.Marker, r.Value)), true, nil
	}, set, nil) // a raise never deletes the row
	if err != nil || !changed {
		return false, err
	}
	if after != nil {
		return true, after(score, raised)
	}
	return true, nil
}

// viewReindexer moves the score index entry of view id.
func viewReindexer(w txnWriter, mark uint64, site, visitor string, id uint64) func(old, new int) error {
	return func(old, new int) error {
		return reindexRaise(w, mark, site, id, visitor, old, new)
	}
}

// visitorRowIDs returns the ids of visitor's rows on site.
func visitorRowIDs(txn *badger.Txn, index byte, visitor, site string) ([]uint64, error) {
	entries, err := visitorEntries(txn, index, visitor, site, 0, 1<<64-1)
	if err != nil {
		return nil, err
	}
	ids := make([]uint64, len(entries))
	for i, e := range entries {
		ids[i] = e.id
	}
	return ids, nil
}

// HasDetailKey reports whether a score detail object has key at its top
// level (details are flat objects built by scoring.Result.DetailJSON, plus
// the markers this file adds, whose values contain no quoted keys of the
// same names).
func HasDetailKey(detail, key string) bool {
	return strings.Contains(detail, `"`+key+`":`)
}

// AddDetailKey adds "key": value (value is JSON text) to a detail object.
func AddDetailKey(detail, key, value string) string {
	body := strings.TrimSpace(detail)
	if len(body) < 2 || body[0] != '{' || body[len(body)-1] != '}' {
		return `{"` + key + `":` + value + `}`
	}
	inner := strings.TrimSpace(body[1 : len(body)-1])
	if inner == "" {
		return `{"` + key + `":` + value + `}`
	}
	return "{" + inner + `,"` + key + `":` + value + "}"
}

// No-event bounce check (docs/bot-defense.md, Correlator).
const (
	BounceMinAge  = 5 * time.Minute
	BounceMaxAge  = 30 * time.Minute
	BouncePenalty = 15
	BounceMarker  = "no_events"
)

// MarkBounces gives every view 5–30 minutes old at now, scoring 0–49, not
// yet marked, whose visitor has no event on the view's site, +15 and
// "no_events": true. It returns the number of views raised. The views of
// one site are raised in one transaction.
func (s *Store) MarkBounces(now time.Time) (int, error) {
	total := 0
	for _, site := range s.sites.all() {
		var visitors []string
		seen := map[string]bool{}
		err := s.Views(site, now.Add(-BounceMaxAge), now.Add(-BounceMinAge), func(v *View) bool {
			if v.VisitorID != "" && v.BotScore >= 0 && v.BotScore <= 49 && !HasDetailKey(v.BotScoreDetail, BounceMarker) && !seen[v.VisitorID] {
				seen[v.VisitorID] = true
				visitors = append(visitors, v.VisitorID)
			}
			return true
		})
		if err != nil {
			return total, fmt.Errorf("bounces: %w", err)
		}
		if len(visitors) == 0 {
			continue
		}
		n, err := s.markBounces(site, visitors, now)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (s *Store) markBounces(site string, visitors []string, now time.Time) (int, error) {
	from, to := idFloor(ceilMilli(now.Add(-BounceMaxAge))), idFloor(ceilMilli(now.Add(-BounceMinAge)))
	if err := s.syncIndexes(); err != nil {
		return 0, fmt.Errorf("bounces of %s: %w", site, err)
	}
	n := 0
	s.rewriteMu.Lock()
	defer s.rewriteMu.Unlock()
	s.sum.mu.Lock()
	defer s.sum.mu.Unlock()
	raised := map[string]int{}
	err := s.db.Update(func(txn *badger.Txn) error {
		mark, err := scoreIndexed(txn)
		if err != nil {
			return err
		}
		w := txnWriter{set: txn.Set, del: func(k, _ []byte) error { return txn.Delete(k) }}
		for _, vid := range visitors {
			events, err := visitorRowIDs(txn, tableVisitorEvents, vid, site)
			if err != nil {
				return err
			}
			if len(events) > 0 {
				continue
			}
			ids, err := visitorRowIDs(txn, tableVisitorViews, vid, site)
			if err != nil {
				return err
			}
			r := Raise{Penalty: BouncePenalty, Marker: BounceMarker, Value: "true"}
			for _, id := range ids {
				if id < from || id >= to {
					continue
				}
				changed, err := raiseRow(txn, tableViews, site, id, r, txn.Set, viewCodec, raisedTo(raised, vid, viewReindexer(w, mark, site, vid, id)))
				if err != nil {
					return err
				}
				if changed {
					n++
				}
			}
		}
		return s.raiseSummaries(txn, txn.Set, site, raised)
	})
	if err != nil {
		return 0, fmt.Errorf("bounces of %s: %w", site, err)
	}
	return n, nil
}
