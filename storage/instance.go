package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Instance settings (tableSettings):
//
//	table(1) | key (ASCII)  →  updated_at(8, Unix ms, big endian) | value (UTF-8)
//
// The only key the API writes is "telemetry_optin" ("true"/"false").
const tableSettings byte = 0x41

func settingKey(key string) []byte { return append([]byte{tableSettings}, key...) }

// Setting returns the value stored under key and when it was written; ok is
// false when the key was never set.
func (s *Store) Setting(key string) (value string, updated time.Time, ok bool, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(settingKey(key))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(b []byte) error {
			if len(b) < 8 {
				return fmt.Errorf("setting %q: %w", key, errTruncated)
			}
			value, updated, ok = string(b[8:]), msTime(int64(binary.BigEndian.Uint64(b))), true
			return nil
		})
	})
	return value, updated, ok, err
}

// SetSetting stores value under key, stamped with now.
func (s *Store) SetSetting(key, value string, now time.Time) error {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(value)), uint64(now.UnixMilli()))
	v = append(v, value...)
	return s.db.Update(func(txn *badger.Txn) error { return txn.Set(settingKey(key), v) })
}
