package storage

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/dgraph-io/badger/v4"
)

// Backup file format, version 1 (docs/operations.md, Backups):
//
//	"ECHELON-BACKUP\n" version(1) layout(1)
//	entries: uvarint len(key) key uvarint len(value) value uvarint expiresAt
//	end:     uvarint 0 (no key is empty), uvarint entry count,
//	         sha256 of every byte before it (32 bytes)
//
// Entries are the store's keys in key order, each at its newest version,
// read in one Badger transaction: the file is one point in time.
const (
	backupMagic   = "ECHELON-BACKUP\n"
	backupVersion = BackupFormat
	// maxBackupKey and maxBackupValue bound what a restore reads into
	// memory per entry; Badger's own key limit is 65,000 bytes and the
	// store's largest values (row blocks) are far below the value bound.
	maxBackupKey   = 1 << 16
	maxBackupValue = 64 << 20
)

// BackupFormat is the version of the backup files this package writes.
const BackupFormat = 1

// LayoutVersion is the key layout of the stores this package writes
// (keys.go); Open upgrades older layouts it can read in place.
const LayoutVersion = layoutVersion

// BackupInfo describes a written or restored backup.
type BackupInfo struct {
	Entries int   // keys in the backup
	Bytes   int64 // size of the backup file
	Layout  byte  // the store's key layout
}

// Backup writes a consistent copy of the store to w while it keeps taking
// writes. The dirty counters are written first, under the aggregator's
// lock, and the snapshot is taken before the lock is released, so the
// backup's counters agree with its rows. Records still in a writer's
// buffer are not in it: flush the writers first for a backup "as of now".
// The daily salt (a file beside Badger's) is never copied.
func (s *Store) Backup(w io.Writer) (BackupInfo, error) {
	txn, err := s.snapshot()
	if err != nil {
		return BackupInfo{}, err
	}
	defer txn.Discard()

	bw := &backupWriter{w: bufio.NewWriterSize(w, 1<<20), sum: sha256.New()}
	bw.write([]byte(backupMagic))
	bw.write([]byte{backupVersion, layoutVersion})
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 64})
	defer it.Close()
	n := 0
	for it.Rewind(); it.Valid() && bw.err == nil; it.Next() {
		item := it.Item()
		bw.uvarint(uint64(len(item.Key())))
		bw.write(item.Key())
		err := item.Value(func(v []byte) error {
			bw.uvarint(uint64(len(v)))
			bw.write(v)
			return nil
		})
		if err != nil {
			return BackupInfo{}, fmt.Errorf("backup: read %x: %w", item.Key(), err)
		}
		bw.uvarint(item.ExpiresAt())
		n++
	}
	bw.uvarint(0)
	bw.uvarint(uint64(n))
	if bw.err == nil {
		bw.w.Write(bw.sum.Sum(nil))
		bw.n += sha256.Size
		bw.err = bw.w.Flush()
	}
	if bw.err != nil {
		return BackupInfo{}, fmt.Errorf("backup: write: %w", bw.err)
	}
	return BackupInfo{Entries: n, Bytes: bw.n, Layout: layoutVersion}, nil
}

// snapshot is a read transaction that sees every committed batch with its
// counters: no batch can commit between the counters' write and the
// transaction's start, because batches hold the aggregator's lock from
// aggregation to commit.
func (s *Store) snapshot() (*badger.Txn, error) {
	s.agg.mu.Lock()
	defer s.agg.mu.Unlock()
	if err := s.agg.flushLocked(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return s.db.NewTransaction(false), nil
}

type backupWriter struct {
	w   *bufio.Writer
	sum hash.Hash
	n   int64
	err error
	buf [binary.MaxVarintLen64]byte
}

func (b *backupWriter) write(p []byte) {
	if b.err != nil {
		return
	}
	b.sum.Write(p)
	_, b.err = b.w.Write(p)
	b.n += int64(len(p))
}

func (b *backupWriter) uvarint(v uint64) {
	b.write(b.buf[:binary.PutUvarint(b.buf[:], v)])
}

// Restore writes the backup read from r into dir, which must not exist or
// be empty, and checks that the result opens as a store. A backup that is
// truncated, altered or of an unknown version is refused and dir is left
// empty again.
func Restore(dir string, r io.Reader) (BackupInfo, error) {
	if err := emptyDir(dir); err != nil {
		return BackupInfo{}, err
	}
	info, err := restore(dir, r)
	if err == nil {
		var s *Store
		if s, err = Open(Options{Dir: dir}); err == nil {
			err = s.Close()
		}
	}
	if err != nil {
		clearDir(dir)
		return BackupInfo{}, fmt.Errorf("restore: %w", err)
	}
	return info, nil
}

func restore(dir string, r io.Reader) (BackupInfo, error) {
	br := &backupReader{r: bufio.NewReaderSize(r, 1<<20), sum: sha256.New()}
	head := br.read(len(backupMagic) + 2)
	if br.err != nil || string(head[:len(backupMagic)]) != backupMagic {
		return BackupInfo{}, errors.New("not an Echelon backup")
	}
	if v := head[len(backupMagic)]; v != backupVersion {
		return BackupInfo{}, fmt.Errorf("backup format version %d, this version reads %d", v, backupVersion)
	}
	info := BackupInfo{Layout: head[len(backupMagic)+1]}
	if info.Layout != layoutVersion {
		return BackupInfo{}, fmt.Errorf("backup of key layout %d, this version restores layout %d (open the store with the version that wrote it, back it up again from there)", info.Layout, layoutVersion)
	}

	db, err := badger.Open(badgerOptions(Options{Dir: dir}))
	if err != nil {
		return BackupInfo{}, err
	}
	wb := db.NewWriteBatch()
	for {
		// chunk's bytes are valid until the next read: copy them.
		k := bytes.Clone(br.chunk(maxBackupKey, "key"))
		if br.err != nil || len(k) == 0 {
			break
		}
		v := bytes.Clone(br.chunk(maxBackupValue, "value"))
		exp := br.uvarint()
		if br.err != nil {
			break
		}
		e := badger.NewEntry(k, v)
		e.ExpiresAt = exp
		if err = wb.SetEntry(e); err != nil {
			break
		}
		info.Entries++
	}
	count := br.uvarint()
	want := br.sum.Sum(nil)
	got := br.read(sha256.Size)
	switch {
	case err != nil:
	case br.err != nil:
		err = fmt.Errorf("backup is truncated or damaged: %w", br.err)
	case count != uint64(info.Entries) || !bytes.Equal(got, want):
		err = errors.New("backup checksum does not match: the file is damaged")
	}
	if err != nil {
		wb.Cancel()
		db.Close()
		return BackupInfo{}, err
	}
	if err = wb.Flush(); err == nil {
		err = db.Close()
	} else {
		db.Close()
	}
	info.Bytes = br.n
	return info, err
}

type backupReader struct {
	r   *bufio.Reader
	sum hash.Hash
	n   int64
	err error
	buf []byte
}

// read returns the next n bytes (valid until the next call), adding them
// to the checksum.
func (b *backupReader) read(n int) []byte {
	if b.err != nil {
		return nil
	}
	if cap(b.buf) < n {
		b.buf = make([]byte, n)
	}
	p := b.buf[:n]
	if _, b.err = io.ReadFull(b.r, p); b.err != nil {
		return nil
	}
	b.sum.Write(p)
	b.n += int64(n)
	return p
}

func (b *backupReader) uvarint() uint64 {
	if b.err != nil {
		return 0
	}
	var v uint64
	for shift := 0; ; shift += 7 {
		c := b.read(1)
		if b.err != nil {
			return 0
		}
		if shift > 63 || (shift == 63 && c[0] > 1) {
			b.err = errors.New("varint overflows")
			return 0
		}
		v |= uint64(c[0]&0x7f) << shift
		if c[0] < 0x80 {
			return v
		}
	}
}

// chunk reads a length-prefixed byte string of at most max bytes.
func (b *backupReader) chunk(max int, what string) []byte {
	n := b.uvarint()
	if b.err == nil && n > uint64(max) {
		b.err = fmt.Errorf("%s of %d bytes, more than %d", what, n, max)
	}
	if b.err != nil {
		return nil
	}
	return b.read(int(n))
}

// emptyDir creates dir, or checks that it is empty.
func emptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("restore: %s is not empty: restore into a new directory", dir)
	}
	return nil
}

// clearDir removes what a failed restore wrote into dir, keeping dir.
func clearDir(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.RemoveAll(dir + string(os.PathSeparator) + e.Name())
	}
}
