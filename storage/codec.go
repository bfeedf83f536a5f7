package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

// Value layout, version 1, the same shape for views and events:
//
//	version(1) | mask(uvarint) | ints(varint…) | strings(token…)
//
// mask bits, low to high: the value of each bool, then one bit per int field
// that is non-zero, then one bit per string field that is non-empty (field
// order in record.go). Only the present ints and strings follow, in that
// order. Strings are tokens (token.go): common values take one byte, hex
// ids and UUIDs are packed to half size. Site, time and id live in the key
// and are never repeated here.
//
// A new field or order means a new version byte; decoders reject versions
// they do not know.
const (
	viewVersion  byte = 1
	eventVersion byte = 1
)

var (
	errTruncated     = errors.New("truncated")
	errTrailing      = errors.New("trailing bytes")
	errUnknownFields = errors.New("unknown field bits")
)

// EncodeView appends the value encoding of v to dst. ID, CreatedAt and
// SiteID are not part of it: they belong to the key.
func EncodeView(dst []byte, v *View) []byte {
	bools := [2]bool{v.IsReturning, v.IsPWA}
	ints := viewInts(v)
	strs := viewStrings(v)
	return appendRecord(dst, viewVersion, bools[:], ints[:], strs[:])
}

// DecodeView fills v from a value made by EncodeView. It leaves ID,
// CreatedAt and SiteID as they are (the store sets them from the key) and
// resets every other field. Malformed input returns an error, never panics.
func DecodeView(b []byte, v *View) error {
	*v = View{ID: v.ID, CreatedAt: v.CreatedAt, SiteID: v.SiteID}
	var bools [2]bool
	var ints [4]int64
	strs := viewStrings(v)
	if err := readRecord(b, viewVersion, bools[:], ints[:], strs[:]); err != nil {
		return fmt.Errorf("decode view: %w", err)
	}
	v.IsReturning, v.IsPWA = bools[0], bools[1]
	setViewInts(v, ints)
	return nil
}

// EncodeEvent appends the value encoding of e to dst. ID, CreatedAt and
// SiteID are not part of it: they belong to the key.
func EncodeEvent(dst []byte, e *Event) []byte {
	bools := [1]bool{e.IsReturning}
	ints := eventInts(e)
	strs := eventStrings(e)
	return appendRecord(dst, eventVersion, bools[:], ints[:], strs[:])
}

// DecodeEvent is DecodeView for events.
func DecodeEvent(b []byte, e *Event) error {
	*e = Event{ID: e.ID, CreatedAt: e.CreatedAt, SiteID: e.SiteID}
	var bools [1]bool
	var ints [4]int64
	strs := eventStrings(e)
	if err := readRecord(b, eventVersion, bools[:], ints[:], strs[:]); err != nil {
		return fmt.Errorf("decode event: %w", err)
	}
	e.IsReturning = bools[0]
	setEventInts(e, ints)
	return nil
}

func appendRecord(dst []byte, version byte, bools []bool, ints []int64, strs []*string) []byte {
	var mask uint64
	bit := 0
	for _, b := range bools {
		if b {
			mask |= 1 << bit
		}
		bit++
	}
	for _, n := range ints {
		if n != 0 {
			mask |= 1 << bit
		}
		bit++
	}
	for _, s := range strs {
		if *s != "" {
			mask |= 1 << bit
		}
		bit++
	}
	dst = append(dst, version)
	dst = binary.AppendUvarint(dst, mask)
	for _, n := range ints {
		if n != 0 {
			dst = binary.AppendVarint(dst, n)
		}
	}
	for _, s := range strs {
		if *s != "" {
			dst = appendToken(dst, *s)
		}
	}
	return dst
}

func readRecord(b []byte, version byte, bools []bool, ints []int64, strs []*string) error {
	if len(b) == 0 {
		return errTruncated
	}
	if b[0] != version {
		return fmt.Errorf("unknown version %d", b[0])
	}
	d := decoder{b: b[1:]}
	mask := d.uvarint()
	if d.err != nil {
		return d.err
	}
	if bits.Len64(mask) > len(bools)+len(ints)+len(strs) {
		return errUnknownFields
	}
	for i := range bools {
		bools[i] = mask&1 != 0
		mask >>= 1
	}
	for i := range ints {
		if mask&1 != 0 {
			ints[i] = d.varint()
		}
		mask >>= 1
	}
	for _, s := range strs {
		if mask&1 != 0 {
			*s = d.token()
		}
		mask >>= 1
	}
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return errTrailing
	}
	return nil
}

// decoder reads from b and remembers the first error; later reads return
// zero values, so callers check err once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errTruncated)
		return 0
	}
	d.b = d.b[n:]
	return x
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(errTruncated)
		return 0
	}
	d.b = d.b[n:]
	return x
}

func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail(errTruncated)
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}
