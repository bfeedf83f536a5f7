package storage

import (
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
