package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Chunks of the visitor index (visitorindex.go): how a merge pass gathers
// them, and their values.

// chunkGroup is one chunk being gathered: a visitor's ids on one site and
// day.
type chunkGroup struct {
	token []byte // the visitor's key token
	site  string
	ids   []uint64
	sum   *summaryGroup // the visitor's summary of the pass, when kept
	// trailer, when set, is written after the ids: the visitor's summary
	// on the site, on its last chunk (summaries.go).
	trailer []byte
}

// chunkGroups gathers log entries into chunks without allocating per
// entry: groups are found by a key built in a scratch buffer.
type chunkGroups struct {
	byKey   map[string]*chunkGroup // day(4) | site | 0x00 | token
	sites   map[string]string      // interned site ids
	scratch []byte
	// sums, when set, gathers the views' summaries too (summaries.go):
	// a chunk group finds its visitor's summary group once.
	sums *summaryGroups
}

// add adds one log entry; attrs are its view attributes (or nil).
func (c *chunkGroups) add(site, token []byte, id uint64, attrs []byte) {
	day := unixDay(idTime(id))
	k := binary.BigEndian.AppendUint32(c.scratch[:0], uint32(day))
	k = append(k, site...)
	k = append(k, 0)
	k = append(k, token...)
	c.scratch = k
	g := c.byKey[string(k)]
	if g == nil {
		s, ok := c.sites[string(site)]
		if !ok {
			s = string(site)
			c.sites[s] = s
		}
		key := string(k)
		g = &chunkGroup{token: []byte(key[len(key)-len(token):]), site: s}
		if c.sums != nil {
			g.sum = c.sums.group(site, token)
		}
		c.byKey[key] = g
	}
	g.ids = append(g.ids, id)
	if g.sum != nil {
		g.sum.add(id, attrs)
	}
}

// appendChunk appends the value of a chunk of ids (sorted, at least one).
func appendChunk(dst []byte, site string, ids []uint64) []byte {
	return appendChunkTrailer(dst, site, ids, nil)
}

// appendChunkTrailer is appendChunk with a trailer (when not nil): a
// delta of 0, which no id has, then the trailer's bytes. The views'
// index keeps the visitor's summary there (summaries.go).
func appendChunkTrailer(dst []byte, site string, ids []uint64, trailer []byte) []byte {
	dst = append(dst, site...)
	if len(ids) == 1 && trailer == nil {
		return dst
	}
	dst = append(dst, 0)
	for i := 1; i < len(ids); i++ {
		dst = binary.AppendUvarint(dst, ids[i]-ids[i-1])
	}
	if trailer != nil {
		dst = append(dst, 0)
		dst = append(dst, trailer...)
	}
	return dst
}

// decodeChunk reads a chunk value whose key holds first.
func decodeChunk(first uint64, val []byte, ids []uint64) (site string, _ []uint64, err error) {
	site, ids, _, err = decodeChunkTrailer(first, val, ids)
	return site, ids, err
}

// decodeChunkTrailer is decodeChunk that also returns the chunk's trailer
// (nil when it has none), which aliases val.
func decodeChunkTrailer(first uint64, val []byte, ids []uint64) (site string, _ []uint64, trailer []byte, err error) {
	s, b, more := bytes.Cut(val, []byte{0})
	ids = append(ids, first)
	if !more {
		return string(s), ids, nil, nil
	}
	id := first
	for len(b) > 0 {
		d, n := binary.Uvarint(b)
		if n <= 0 || id+d < id {
			return "", nil, nil, fmt.Errorf("index chunk %d: %w", first, errTruncated)
		}
		if d == 0 {
			return string(s), ids, b[n:], nil
		}
		id += d
		ids = append(ids, id)
		b = b[n:]
	}
	return string(s), ids, nil, nil
}
