package storage

import (
	"encoding/base64"
	"encoding/binary"
	"hash/fnv"
)

// A cursor is a position in a list, handed to clients as an opaque string:
// unpadded URL-safe base64 of
//
//	version(1)=1 | list(1) | dir(1) | query(4) | uvarint(page) | uvarint(total) | exact(1) | key
//
// list is 'v' (visitors), 'p' (page views) or 'e' (events); dir 0 walks on
// after the key (Next), 1 walks back before it (Prev); query is a hash of
// the list's site, filters and sort, so a cursor only resumes the list it
// came from; page and total are the page the cursor leads to and the
// total counted on the first page. key is the position, exclusive:
//
//	time orders:        uvarint(row id)
//	visitors by views:  uvarint(views) | uvarint(len(site)) site | visitor key token
//
// Decoding checks every field; a forged cursor can only move the walk to
// another position of the same list.
const (
	cursorVersion    = 1
	maxCursorLen     = 1024 // encoded
	maxCursorPage    = 1 << 30
	maxCursorTotal   = 1 << 40
	listVisitors     = 'v'
	listViews        = 'p'
	listEvents       = 'e'
	cursorKeyID      = 0
	cursorKeyByViews = 1
)

type cursor struct {
	list  byte
	prev  bool
	query uint32
	page  int
	total Total
	// The position: id for the time orders; views, site and token (a
	// visitor key token) for the visitors by views.
	id    uint64
	views uint64
	site  string
	token []byte
}

func (c *cursor) encode() string {
	b := make([]byte, 0, 48+len(c.site)+len(c.token))
	b = append(b, cursorVersion, c.list)
	if c.prev {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.BigEndian.AppendUint32(b, c.query)
	b = binary.AppendUvarint(b, uint64(c.page))
	b = binary.AppendUvarint(b, uint64(c.total.N))
	if c.total.Exact {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	if c.token == nil {
		b = append(b, cursorKeyID)
		b = binary.AppendUvarint(b, c.id)
	} else {
		b = append(b, cursorKeyByViews)
		b = binary.AppendUvarint(b, c.views)
		b = binary.AppendUvarint(b, uint64(len(c.site)))
		b = append(b, c.site...)
		b = append(b, c.token...)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor of list whose query hash is query; "" is
// the first page (ok false).
func decodeCursor(s string, list byte, query uint32) (c cursor, ok bool, err error) {
	if s == "" {
		return cursor{}, false, nil
	}
	if len(s) > maxCursorLen {
		return cursor{}, false, ErrBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 8 || b[0] != cursorVersion || b[1] != list || b[2] > 1 {
		return cursor{}, false, ErrBadCursor
	}
	c = cursor{list: list, prev: b[2] == 1, query: binary.BigEndian.Uint32(b[3:7])}
	if c.query != query {
		return cursor{}, false, ErrBadCursor
	}
	d := decoder{b: b[7:]}
	page, total := d.uvarint(), d.uvarint()
	flags := d.bytes(2) // exact, key kind
	if d.err != nil || page < 1 || page > maxCursorPage || total > maxCursorTotal || flags[0] > 1 {
		return cursor{}, false, ErrBadCursor
	}
	c.page, c.total = int(page), Total{N: int(total), Exact: flags[0] == 1}
	switch flags[1] {
	case cursorKeyID:
		c.id = d.uvarint()
	case cursorKeyByViews:
		c.views = d.uvarint()
		n := d.uvarint()
		if n > 64 {
			return cursor{}, false, ErrBadCursor
		}
		c.site = string(d.bytes(n))
		if d.err != nil || c.site != "" && !ValidSiteID(c.site) {
			return cursor{}, false, ErrBadCursor
		}
		token, rest, ok := splitKeyToken(d.b)
		if !ok || len(rest) != 0 || len(token) > 2*maxVisitorIDLen {
			return cursor{}, false, ErrBadCursor
		}
		c.token = append([]byte(nil), token...)
		d.b = nil
	default:
		return cursor{}, false, ErrBadCursor
	}
	if d.err != nil || len(d.b) != 0 || c.views > 1<<32 {
		return cursor{}, false, ErrBadCursor
	}
	return c, true, nil
}

// queryHash identifies a list's site, filters and sort: the fields, each
// length-prefixed, hashed with FNV-1a.
func queryHash(list byte, fields ...string) uint32 {
	h := fnv.New32a()
	var n [binary.MaxVarintLen64]byte
	h.Write([]byte{list})
	for _, f := range fields {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(f)))])
		h.Write([]byte(f))
	}
	return h.Sum32()
}
