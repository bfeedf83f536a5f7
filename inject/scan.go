package inject

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// endTagLen is what it takes to recognise </head> or </body>: "</", the
// name in any case, and the byte that ends the name (whitespace, "/" or
// ">", as the HTML tokenizer ends a tag name). The tag goes before the "<",
// so the rest of the end tag never matters and the writer never withholds
// more than endTagLen-1 bytes for it.
const endTagLen = len("</head>")

type endTag uint8

const (
	notEnd  endTag = iota
	head           // </head
	body           // </body
	partial        // the bytes run out before the name is known
)

// found is what one pass of findTags saw in a write.
type found struct {
	head int // offset of the first </head>, or -1
	body int // offset of the last </body> before end, or -1
	// end is where scanning stopped: at head, at a trailing partial end tag
	// (to be scanned again with the next write), or at the end.
	end int
}

// findTags scans b[from:] for the first </head> and the last </body>
// before it.
//
// HTML has a "</" every few dozen bytes, so looking at each (as
// bytes.Index does) runs at about 500 MB/s. Instead a word of 8 positions
// at a time is tested for "<", "/", and "h" or "b" in either case, and only
// those rare hits are classified: about 2 GB/s, 4 times faster.
func findTags(b []byte, from int) found {
	f := found{head: -1, body: -1, end: len(b)}
	i := from
	for ; i+16 <= len(b); i += 8 {
		w := b[i : i+16 : i+16]
		x, y := binary.LittleEndian.Uint64(w), binary.LittleEndian.Uint64(w[8:])
		// Mark (high bit of the byte) each of the 8 positions of x that
		// starts "</h" or "</b" in any case; y holds the 8 bytes after x.
		// A position matches where all of lt, slash and name^letter are
		// zero bytes.
		lt := x ^ ones*'<'
		slash := (x>>8 | y<<56) ^ ones*'/'
		name := (x>>16 | y<<48) | ones*0x20 // lower case; only H and h give h
		ltSlash := lt | slash
		if m := zeroBytes(ltSlash|(name^ones*'h')) | zeroBytes(ltSlash|(name^ones*'b')); m != 0 && f.classifyHits(b, i, m) {
			return f
		}
	}
	for ; i < len(b); i++ {
		if b[i] != '<' {
			continue
		}
		switch classify(b[i:]) {
		case head:
			f.head, f.end = i, i
			return f
		case body:
			f.body = i
		case partial:
			f.end = i
			return f
		}
	}
	return f
}

// classifyHits records the end tags at the positions m marks in the word
// at b[i:]; it reports whether one is </head>. At least 8 bytes follow each
// position, so none is partial.
func (f *found) classifyHits(b []byte, i int, m uint64) bool {
	for ; m != 0; m &= m - 1 {
		j := i + bits.TrailingZeros64(m)/8
		switch classify(b[j:]) {
		case head:
			f.head, f.end = j, j
			return true
		case body:
			f.body = j
		}
	}
	return false
}

const ones = 0x0101010101010101 // one in every byte

// zeroBytes sets the high bit of each byte of t that is zero, and maybe
// of a 0x01 byte above a zero one (a borrow): false hits cost a look,
// misses cannot happen.
func zeroBytes(t uint64) uint64 {
	return (t - ones) &^ t & (ones * 0x80)
}

// classify names the end tag b starts with; b starts with "<".
func classify(b []byte) endTag {
	n := min(len(b), endTagLen-1) - 2 // name bytes present
	if n < 0 {
		return partial
	}
	if b[1] != '/' {
		return notEnd
	}
	for _, t := range [...]struct {
		kind endTag
		name string
	}{{head, "head"}, {body, "body"}} {
		if !lowerEqual(b[2:2+n], t.name[:n]) {
			continue
		}
		if len(b) < endTagLen {
			return partial
		}
		if endsName(b[endTagLen-1]) {
			return t.kind
		}
		return notEnd
	}
	return notEnd
}

// lowerEqual reports whether b equals the lowercase ASCII letters of name,
// ignoring the case of b. OR-ing 0x20 maps only 'H' and 'h' to 'h', and so
// on for every letter, so no other byte can pass.
func lowerEqual(b []byte, name string) bool {
	for i := range b {
		if b[i]|0x20 != name[i] {
			return false
		}
	}
	return true
}

func endsName(c byte) bool {
	switch c {
	case '\t', '\n', '\f', '\r', ' ', '/', '>':
		return true
	}
	return false
}

// marker is a byte string whose presence means the page already loads our
// script. Every marker contains "ea.js", and j is rare in HTML, so the
// search jumps from j to j (bytes.IndexByte, tens of GB/s) and compares
// the marker around each: at is the offset of its first j.
type marker struct {
	s  []byte
	at int
}

func newMarker(s string) marker {
	return marker{[]byte(s), bytes.IndexByte([]byte(s), 'j')}
}

// mentions reports whether region, preceded by carry (the last bytes
// scanned before it), contains one of the Injector's markers. joint is
// scratch space of capacity 2*in.carry.
func (in *Injector) mentions(carry, region, joint []byte) bool {
	if in.mentionedIn(region) {
		return true
	}
	if len(carry) == 0 {
		return false
	}
	joint = append(joint[:0], carry...)
	joint = append(joint, region[:min(len(region), in.carry)]...)
	return in.mentionedIn(joint)
}

// mentionedIn reports whether b holds a whole marker.
func (in *Injector) mentionedIn(b []byte) bool {
	for i := 0; ; i++ {
		k := bytes.IndexByte(b[i:], 'j')
		if k < 0 {
			return false
		}
		i += k
		for _, m := range in.markers {
			if s := i - m.at; s >= 0 && s+len(m.s) <= len(b) && bytes.Equal(b[s:s+len(m.s)], m.s) {
				return true
			}
		}
	}
}

// keepCarry returns carry updated to the last in.carry bytes of carry
// followed by region.
func (in *Injector) keepCarry(carry, region []byte) []byte {
	if len(region) >= in.carry {
		return append(carry[:0], region[len(region)-in.carry:]...)
	}
	if drop := len(carry) + len(region) - in.carry; drop > 0 {
		carry = carry[:copy(carry, carry[drop:])]
	}
	return append(carry, region...)
}
