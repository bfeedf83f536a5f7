package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Views-by-score index, for GET /api/bots/suspicious without a scan of
// every stored view:
//
//	tableScoreIndex(1) | score(1) | site | 0x00 | id(8)  →  visitor id
//
// Only views scoring 1–100 are indexed (a query for min_score <= 0 wants
// every view and scans them). The index is kept off the beacon path: the
// correlator's sweep calls IndexScores, which indexes the views stored
// since the last call and records the highest view id it indexed under
// metaScoreIndexed. Views above that mark are the unindexed tail that a
// query scans directly. Ids grow in the order the writer stores views, so
// the tail holds everything the index lacks.
//
// Retroactive raises (raise.go) move a view's entry to its new score.
// Entries whose view is gone (retention) are skipped by queries and
// deleted by them.
const tableScoreIndex byte = 0x09

var metaScoreIndexed = []byte("\x00bots/score-indexed")

func scoreKey(score int, site string, id uint64) []byte {
	k := make([]byte, 0, len(site)+11)
	k = append(k, tableScoreIndex, byte(score))
	k = append(k, site...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, id)
}

// scoreIndexed reads the highest indexed view id (0 if none).
func scoreIndexed(txn *badger.Txn) (uint64, error) {
	item, err := txn.Get(metaScoreIndexed)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var id uint64
	err = item.Value(func(v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("%q has %d bytes", metaScoreIndexed, len(v))
		}
		id = binary.BigEndian.Uint64(v)
		return nil
	})
	return id, err
}

// IndexScores indexes the views stored since its last call and returns how
// many it indexed. Entries are idempotent, so a crash between the entries
// and the mark only repeats work.
func (s *Store) IndexScores() (int, error) {
	var mark uint64
	if err := s.db.View(func(txn *badger.Txn) (err error) {
		mark, err = scoreIndexed(txn)
		return err
	}); err != nil {
		return 0, fmt.Errorf("score index: %w", err)
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	highest, n := mark, 0
	for _, site := range s.sites.all() {
		err := s.tailViews(site, mark, func(v *View) error {
			highest = max(highest, v.ID)
			if v.BotScore < 1 || v.BotScore > 100 {
				return nil
			}
			n++
			return wb.Set(scoreKey(v.BotScore, site, v.ID), []byte(v.VisitorID))
		})
		if err != nil {
			return 0, fmt.Errorf("score index: %w", err)
		}
	}
	if highest == mark {
		return 0, nil
	}
	if err := wb.Flush(); err != nil {
		return 0, fmt.Errorf("score index: %w", err)
	}
	err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(metaScoreIndexed, binary.BigEndian.AppendUint64(nil, highest))
	})
	if err != nil {
		return 0, fmt.Errorf("score index: %w", err)
	}
	return n, nil
}

// tailViews calls fn for the views of site with an id above mark.
func (s *Store) tailViews(site string, mark uint64, fn func(*View) error) error {
	var ferr error
	err := s.Views(site, idTime(mark), time.Unix(math.MaxInt32, 0), func(v *View) bool {
		if v.ID > mark {
			ferr = fn(v)
		}
		return ferr == nil
	})
	if err != nil {
		return err
	}
	return ferr
}

// errBudgetSpent stops a walk whose read budget is spent.
var errBudgetSpent = errors.New("read budget spent")

// txnWriter writes into a raise's transaction.
type txnWriter struct {
	set, del func(k, v []byte) error
}

// reindexRaise moves a raised view's index entry, inside the raise's
// transaction; views above mark (the indexed id when the raise began) are
// left to IndexScores.
func reindexRaise(w txnWriter, mark uint64, site string, id uint64, visitor string, oldScore, newScore int) error {
	if id > mark {
		return nil
	}
	if oldScore >= 1 {
		if err := w.del(scoreKey(oldScore, site, id), nil); err != nil {
			return err
		}
	}
	return w.set(scoreKey(newScore, site, id), []byte(visitor))
}

// suspiciousIndexed is SuspiciousVisitors for minScore >= 1: the index
// entries from 100 down to minScore, then the unindexed tail, each view
// read taken from budget; it stops when the budget is spent.
func (s *Store) suspiciousIndexed(site string, minScore int, add func(*View), budget *readBudget) error {
	var orphans [][]byte
	var mark uint64
	err := s.db.View(func(txn *badger.Txn) (err error) {
		if mark, err = scoreIndexed(txn); err != nil {
			return err
		}
		for score := 100; score >= minScore; score-- {
			prefix := []byte{tableScoreIndex, byte(score)}
			if site != "" {
				prefix = append(append(prefix, site...), 0)
			}
			if err := s.scanScore(txn, prefix, score, add, &orphans, budget); err != nil {
				return err
			}
			if budget.left == 0 {
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("suspicious: %w", err)
	}
	sites := s.sites.all()
	if site != "" {
		sites = []string{site}
	}
	for _, st := range sites {
		if budget.left == 0 {
			break
		}
		err := s.tailViews(st, mark, func(v *View) error {
			if !budget.take() {
				return errBudgetSpent
			}
			if v.BotScore >= minScore {
				add(v)
			}
			return nil
		})
		if err != nil && !errors.Is(err, errBudgetSpent) {
			return fmt.Errorf("suspicious: %w", err)
		}
	}
	if len(orphans) > 0 {
		wb := s.db.NewWriteBatch()
		defer wb.Cancel()
		for _, k := range orphans {
			if err := wb.Delete(k); err != nil {
				return nil // best effort: the next query tries again
			}
		}
		_ = wb.Flush()
	}
	return nil
}

// scanScore reads the views of one score's index entries (under prefix),
// collecting entries whose view is gone or no longer has that score.
func (s *Store) scanScore(txn *badger.Txn, prefix []byte, score int, add func(*View), orphans *[][]byte, budget *readBudget) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Rewind(); it.Valid() && budget.take(); it.Next() {
		key := it.Item().Key()
		if len(key) < 12 || key[len(key)-9] != 0 {
			return fmt.Errorf("%w: %x", errBadKey, key)
		}
		site := string(key[2 : len(key)-9])
		id := keyID(key)
		v := View{ID: id, CreatedAt: idTime(id), SiteID: site}
		found, err := findRow(txn, tableViews, site, id, func(val []byte, _ []byte) error { return DecodeView(val, &v) })
		if err != nil {
			return err
		}
		if !found {
			*orphans = append(*orphans, it.Item().KeyCopy(nil))
			continue
		}
		if v.BotScore != score {
			*orphans = append(*orphans, it.Item().KeyCopy(nil))
			continue
		}
		add(&v)
	}
	return nil
}
