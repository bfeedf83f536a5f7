package storage

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// The daily salt is kept outside Badger, in one small file of the data
// directory:
//
//	<Dir>/salt: "YYYY-MM-DD" (its UTC day) | 32 random bytes
//
// Badger never deletes a value in place: a deleted key's bytes stay in its
// write-ahead log and tables until a compaction happens to rewrite them,
// which may be never. A file can be overwritten in place instead. At the
// day change the next day's salt is written over the old one in place
// (same length, synced), and ExpireSalt, called when a day ends, writes
// zeros over a salt of a finished day, syncs and removes the file, so no
// file of the data directory holds a finished day's salt. What the
// filesystem or the disk keep below that (a journal of data blocks,
// copy-on-write filesystems and snapshots, an SSD's remapped blocks) is
// out of a program's reach; see docs/privacy.md.
const (
	saltFile    = "salt"
	saltFileLen = len(time.DateOnly) + secretLen
)

// DailySalt returns the 32 random bytes of now's UTC day, the key for
// visitor ids. The first call of a day creates the salt and writes it over
// the previous day's, so once a day is over its salt is gone and its
// visitor ids cannot be linked back to an IP. A restart during the day
// finds the stored salt.
//
// The result is shared: callers must not modify it. Calls within the cached
// day are one atomic load: no lock, no disk read, no allocation. Time
// never goes back: a now before the newest day seen (or before a day whose
// salt ExpireSalt removed) gets that day's salt.
func (s *Store) DailySalt(now time.Time) ([]byte, error) {
	day := unixDay(now)
	// A late caller still on yesterday gets today's salt: an earlier day's
	// salt is deleted and must not come back.
	if c := s.salt.Load(); c != nil && c.day >= day {
		return c.salt, nil
	}
	return s.newDailySalt(day)
}

// newDailySalt is DailySalt's slow path, once a day.
func (s *Store) newDailySalt(day int64) ([]byte, error) {
	s.idMu.Lock()
	defer s.idMu.Unlock()
	if c := s.salt.Load(); c != nil && c.day >= day { // another caller was first
		return c.salt, nil
	}
	day = max(day, s.saltFloor)
	date := time.Unix(day*86400, 0).UTC().Format(time.DateOnly)
	stored, err := s.readSaltFile()
	if err != nil {
		return nil, fmt.Errorf("daily salt %s: %w", date, err)
	}
	var salt []byte
	if len(stored) == saltFileLen && string(stored[:len(date)]) == date {
		salt = stored[len(date):]
	} else {
		salt = make([]byte, secretLen)
		rand.Read(salt)
		if err := s.writeSaltFile(append([]byte(date), salt...)); err != nil {
			return nil, fmt.Errorf("daily salt %s: %w", date, err)
		}
	}
	s.salt.Store(&daySalt{day: day, salt: salt})
	return salt, nil
}

// ExpireSalt removes the stored salt if its day ended before now: zeros
// are written over it in place and synced before the file is removed. The
// day's visitor ids can no longer be made; a later DailySalt makes a new
// salt for now's day (or a later one). Call it when a UTC day ends.
func (s *Store) ExpireSalt(now time.Time) error {
	day := unixDay(now)
	s.idMu.Lock()
	defer s.idMu.Unlock()
	if c := s.salt.Load(); c != nil && c.day < day {
		s.salt.Store(nil)
		s.saltFloor = max(s.saltFloor, c.day+1)
	}
	if s.dir == "" {
		return nil
	}
	stored, err := s.readSaltFile()
	if err != nil || stored == nil {
		return err
	}
	date := time.Unix(day*86400, 0).UTC().Format(time.DateOnly)
	if len(stored) >= len(date) && string(stored[:len(date)]) >= date {
		return nil // today's (or, with a clock gone back, a later day's)
	}
	if err := s.writeSaltFile(make([]byte, len(stored))); err != nil {
		return fmt.Errorf("expire salt: %w", err)
	}
	if err := os.Remove(filepath.Join(s.dir, saltFile)); err != nil {
		return fmt.Errorf("expire salt: %w", err)
	}
	return syncDir(s.dir)
}

// readSaltFile returns the salt file's content, nil if there is none. An
// in-memory store keeps its salt in memory only.
func (s *Store) readSaltFile() ([]byte, error) {
	if s.dir == "" {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(s.dir, saltFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// writeSaltFile writes b over the salt file in place, creating it if
// missing, and syncs it: the old bytes are overwritten, not left in a
// freed block as a rename would.
func (s *Store) writeSaltFile(b []byte) error {
	if s.dir == "" {
		return nil
	}
	name := filepath.Join(s.dir, saltFile)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil && fi.Size() > int64(len(b)) {
		// A longer file (not ours): cover all of it.
		b = append(b, make([]byte, fi.Size()-int64(len(b)))...)
	}
	if err == nil {
		_, err = f.WriteAt(b, 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return syncDir(s.dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// migrateSalts moves the salt of today (at now) out of Badger, where
// versions before the salt file kept them (tableSalts), and drops the
// table with Badger's DropPrefix, which rewrites every write-ahead log and
// table holding one of its keys, deleted ones included, so no earlier
// day's salt stays in Badger's files either.
func (s *Store) migrateSalts(now time.Time) error {
	date := now.UTC().Format(time.DateOnly)
	found, err := false, error(nil)
	var today []byte
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tableSalts}, AllVersions: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			found = true
			item := it.Item()
			if bytes.Equal(item.Key(), saltKey(date)) && !item.IsDeletedOrExpired() && today == nil {
				v, err := item.ValueCopy(nil)
				if err != nil {
					return err
				}
				if len(v) == secretLen {
					today = v
				}
			}
		}
		return nil
	})
	if err != nil || !found {
		return err
	}
	if stored, err := s.readSaltFile(); err != nil {
		return err
	} else if today != nil && stored == nil && s.dir != "" {
		if err := s.writeSaltFile(append([]byte(date), today...)); err != nil {
			return err
		}
	}
	// DropPrefix acts only on a prefix with a live key: one marks it.
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(saltKey("drop"), nil) }); err != nil {
		return err
	}
	return s.db.DropPrefix([]byte{tableSalts})
}
