// Package geoip answers a visitor's country from a local MaxMind-format
// database (GeoLite2-Country, DB-IP Lite Country, IPinfo Lite, ...), read
// through a memory map and reloaded when the file changes (docs/geoip.md).
//
// A lookup touches only memory: the address is never kept, logged or
// written anywhere.
package geoip

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
)

// maxCachedRecords bounds the per-database cache of decoded country codes.
// A country database holds a few hundred distinct records; a larger one
// (a city database given by mistake) decodes the rest on every lookup
// rather than growing the cache.
const maxCachedRecords = 4096

// DB is a country database that can be swapped for a newer file while
// lookups run. The zero value is not usable; call Open.
type DB struct {
	path string
	cur  atomic.Pointer[snapshot]

	mu   sync.Mutex // guards stop and reload
	stop chan struct{}
	done chan struct{}
}

// snapshot is one loaded version of the file.
type snapshot struct {
	r       *maxminddb.Reader
	modTime time.Time
	size    int64

	// codes caches the country code of each data record by its offset in
	// the data section: the tree walk is the only per-lookup work left.
	// The map is never changed once stored; a new record copies it (a few
	// hundred times in a database's life), so a lookup reads it unlocked.
	codes   atomic.Pointer[map[uintptr]string]
	codesMu sync.Mutex
}

// Open maps the database at path and checks that it answers lookups. The
// error names the file and what is wrong with it.
func Open(path string) (*DB, error) {
	s, err := load(path)
	if err != nil {
		return nil, err
	}
	d := &DB{path: path}
	d.cur.Store(s)
	return d, nil
}

func load(path string) (*snapshot, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%s is a directory, not a .mmdb file", path)
	}
	r, err := maxminddb.Open(path)
	if err == nil && r.Metadata.NodeCount == 0 {
		err = errors.New("no networks")
	}
	if err != nil {
		return nil, fmt.Errorf("%s is not a MaxMind-format database: %w", path, err)
	}
	return &snapshot{r: r, modTime: fi.ModTime(), size: fi.Size()}, nil
}

// Country returns the ISO 3166-1 alpha-2 code (upper case) of the
// network holding a, or "" when the database has none for it.
func (d *DB) Country(a netip.Addr) string {
	if d == nil {
		return ""
	}
	return d.cur.Load().country(a)
}

func (s *snapshot) country(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	res := s.r.Lookup(a.Unmap().WithZone(""))
	if res.Err() != nil || !res.Found() {
		return ""
	}
	off := res.Offset()
	if m := s.codes.Load(); m != nil {
		if c, ok := (*m)[off]; ok {
			return c
		}
	}
	code := decode(res)
	s.remember(off, code)
	return code
}

func (s *snapshot) remember(off uintptr, code string) {
	if m := s.codes.Load(); m != nil && len(*m) >= maxCachedRecords {
		return // full: no lock taken on every lookup of a large database
	}
	s.codesMu.Lock()
	defer s.codesMu.Unlock()
	old := s.codes.Load()
	if old != nil && len(*old) >= maxCachedRecords {
		return
	}
	m := make(map[uintptr]string, 1+len(deref(old)))
	for k, v := range deref(old) {
		m[k] = v
	}
	m[off] = code
	s.codes.Store(&m)
}

func deref(m *map[uintptr]string) map[uintptr]string {
	if m == nil {
		return nil
	}
	return *m
}

// countryPaths are where the known database shapes keep the code:
// GeoLite2 and DB-IP Lite under country.iso_code (registered_country for
// networks without a located country), IPinfo Lite under country_code.
var countryPaths = [][]any{
	{"country", "iso_code"},
	{"country_code"},
	{"registered_country", "iso_code"},
}

func decode(res maxminddb.Result) string {
	for _, p := range countryPaths {
		var v string
		if err := res.DecodePath(&v, p...); err != nil {
			continue
		}
		if c, ok := code(v); ok {
			return c
		}
	}
	return ""
}

// code accepts two ASCII letters other than the unknown marker XX, so a
// database cannot put arbitrary text into stored rows.
func code(v string) (string, bool) {
	if len(v) != 2 {
		return "", false
	}
	b := [2]byte{v[0], v[1]}
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		case 'A' <= c && c <= 'Z':
		default:
			return "", false
		}
	}
	if b == [2]byte{'X', 'X'} {
		return "", false
	}
	return string(b[:]), true
}

// Refresh reloads the file when its size or modification time changed
// since the last load. A file that fails to load keeps the database in
// use and returns the error; the next Refresh tries again.
//
// The replaced reader is not closed: a lookup may still be walking it,
// and its memory map is released when the last such lookup has let go of
// it (the reader's runtime cleanup).
func (d *DB) Refresh() (reloaded bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cur := d.cur.Load()
	fi, err := os.Stat(d.path)
	if err != nil {
		return false, err
	}
	if fi.Size() == cur.size && fi.ModTime().Equal(cur.modTime) {
		return false, nil
	}
	s, err := load(d.path)
	if err != nil {
		return false, err
	}
	d.cur.Store(s)
	return true, nil
}

// Watch calls Refresh every interval on a goroutine of its own until
// Close, reporting each reload and each failed one.
func (d *DB) Watch(every time.Duration, reloaded func(), failed func(error)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stop != nil {
		return
	}
	d.stop, d.done = make(chan struct{}), make(chan struct{})
	go func(stop <-chan struct{}, done chan<- struct{}) {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		var lastErr string
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			ok, err := d.Refresh()
			switch {
			case err != nil:
				// One report per distinct failure, not one a minute.
				if err.Error() != lastErr && failed != nil {
					failed(err)
				}
				lastErr = err.Error()
			case ok:
				lastErr = ""
				if reloaded != nil {
					reloaded()
				}
			default:
				lastErr = ""
			}
		}
	}(d.stop, d.done)
}

// Close stops the Watch goroutine and waits for it.
func (d *DB) Close() error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	stop, done := d.stop, d.done
	d.stop, d.done = nil, nil
	d.mu.Unlock()
	if stop == nil {
		return nil
	}
	close(stop)
	<-done
	return nil
}
