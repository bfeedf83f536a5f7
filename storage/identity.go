package storage

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

const secretLen = 32

// daySalt is the salt of one UTC day, day counted from the Unix epoch.
type daySalt struct {
	day  int64
	salt []byte
}

func unixDay(t time.Time) int64 {
	sec := t.Unix()
	day := sec / 86400
	if sec%86400 < 0 {
		day--
	}
	return day
}

// DailySalt returns the 32 random bytes of now's UTC day, the key for
// visitor ids. The first call of a day creates and stores the salt with a
// Badger TTL that ends with the day, and deletes the salts of earlier days,
// so once a day is over its salt is gone and its visitor ids cannot be
// linked back to an IP. A restart during the day finds the stored salt.
//
// The result is shared: callers must not modify it. Calls within the cached
// day are one atomic load: no lock, no Badger read, no allocation. Time
// never goes back: a now before the newest day seen gets that day's salt.
//
// Badger expires keys by the wall clock; a now far from it gives a salt
// that is cached for the day but may not survive a restart.
func (s *Store) DailySalt(now time.Time) ([]byte, error) {
	day := unixDay(now)
	// A late caller still on yesterday gets today's salt: an earlier day's
	// salt is deleted and must not come back.
	if c := s.salt.Load(); c != nil && c.day >= day {
		return c.salt, nil
	}
	return s.newDailySalt(now.UTC(), day)
}

// newDailySalt is DailySalt's slow path, once a day.
func (s *Store) newDailySalt(now time.Time, day int64) ([]byte, error) {
	s.idMu.Lock()
	defer s.idMu.Unlock()
	if c := s.salt.Load(); c != nil && c.day >= day { // another caller was first
		return c.salt, nil
	}
	date := now.Format(time.DateOnly)
	end := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
	var salt []byte
	err := s.db.Update(func(txn *badger.Txn) error {
		if err := deleteSaltsBefore(txn, date); err != nil {
			return err
		}
		key := saltKey(date)
		item, err := txn.Get(key)
		switch {
		case err == nil:
			salt, err = item.ValueCopy(nil)
			if err == nil && len(salt) != secretLen {
				err = fmt.Errorf("stored salt has %d bytes", len(salt))
			}
			return err
		case !errors.Is(err, badger.ErrKeyNotFound):
			return err
		}
		salt = make([]byte, secretLen)
		rand.Read(salt)
		e := badger.NewEntry(key, salt)
		e.ExpiresAt = uint64(end.Unix())
		return txn.SetEntry(e)
	})
	if err != nil {
		return nil, fmt.Errorf("daily salt %s: %w", date, err)
	}
	s.salt.Store(&daySalt{day: day, salt: salt})
	return salt, nil
}

// deleteSaltsBefore deletes every stored salt of a day before day.
func deleteSaltsBefore(txn *badger.Txn, day string) error {
	limit := saltKey(day)
	var old [][]byte
	func() {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tableSalts}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().KeyCopy(nil)
			if bytes.Compare(k, limit) >= 0 {
				break
			}
			old = append(old, k)
		}
	}()
	for _, k := range old {
		if err := txn.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// InstanceSecret returns 32 random bytes made on first use and stored; every
// later call, also after a restart, returns the same bytes. The result is
// shared: callers must not modify it.
func (s *Store) InstanceSecret() ([]byte, error) {
	s.idMu.Lock()
	defer s.idMu.Unlock()
	if s.instance != nil {
		return s.instance, nil
	}
	var secret []byte
	err := s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(metaInstanceSecret)
		switch {
		case err == nil:
			secret, err = item.ValueCopy(nil)
			if err == nil && len(secret) != secretLen {
				err = fmt.Errorf("stored secret has %d bytes", len(secret))
			}
			return err
		case !errors.Is(err, badger.ErrKeyNotFound):
			return err
		}
		secret = make([]byte, secretLen)
		rand.Read(secret)
		return txn.Set(metaInstanceSecret, secret)
	})
	if err != nil {
		return nil, fmt.Errorf("instance secret: %w", err)
	}
	s.instance = secret
	return secret, nil
}
