package storage

import (
	"bytes"
	"encoding/binary"
)

// Filtered lists examine up to listScanBudget candidates per request, so
// the filters are tested on the encoded records and summaries, without
// decoding whole records into strings: only the candidates that match are
// decoded.

// appendTokenText appends the text of the token at the front of b to dst
// and returns the token's length; ok is false for a malformed token.
func appendTokenText(dst, b []byte) (out []byte, n int, ok bool) {
	h, k := binary.Uvarint(b)
	if k <= 0 {
		return dst, 0, false
	}
	size := h >> 2
	switch h & 3 {
	case tokCommon:
		if size >= uint64(len(commonStrings)) {
			return dst, 0, false
		}
		return append(dst, commonStrings[size]...), k, true
	case tokUUID:
		if size != 0 || len(b)-k < 16 {
			return dst, 0, false
		}
		for i, c := range b[k : k+16] {
			if i == 4 || i == 6 || i == 8 || i == 10 {
				dst = append(dst, '-')
			}
			dst = append(dst, hexDigits[c>>4], hexDigits[c&15])
		}
		return dst, k + 16, true
	}
	if size > uint64(len(b)-k) {
		return dst, 0, false
	}
	body := b[k : k+int(size)]
	if h&3 == tokRaw {
		return append(dst, body...), k + int(size), true
	}
	for _, c := range body { // tokHex
		dst = append(dst, hexDigits[c>>4], hexDigits[c&15])
	}
	return dst, k + int(size), true
}

// recordTexts reads, from an encoded record (codec.go) with nBools bools
// and nInts ints, its first int and the texts of the strings at the
// indexes want (ascending) into texts (reset first; a missing string is
// empty). ok is false for a record it cannot read.
func recordTexts(rec []byte, version byte, nBools, nInts int, want []int, texts [][]byte) (first int64, ok bool) {
	for i := range texts {
		texts[i] = texts[i][:0]
	}
	if len(rec) == 0 || rec[0] != version {
		return 0, false
	}
	b := rec[1:]
	mask, k := binary.Uvarint(b)
	if k <= 0 {
		return 0, false
	}
	b = b[k:]
	mask >>= nBools
	for i := range nInts {
		if mask&1 != 0 {
			v, k := binary.Varint(b)
			if k <= 0 {
				return 0, false
			}
			if i == 0 {
				first = v
			}
			b = b[k:]
		}
		mask >>= 1
	}
	w := 0
	for i := 0; w < len(want) && mask != 0; i++ {
		present := mask&1 != 0
		mask >>= 1
		if !present {
			if i == want[w] {
				w++
			}
			continue
		}
		var n int
		if i == want[w] {
			texts[w], n, ok = appendTokenText(texts[w], b)
			w++
		} else {
			n, ok = skipToken(b)
		}
		if !ok {
			return 0, false
		}
		b = b[n:]
	}
	return first, true
}

// Indexes of the strings the filters read (record.go: viewStrings,
// eventStrings).
var (
	viewFilterStrings  = []int{0, 1, 3, 7} // visitor, path, device, country
	eventFilterStrings = []int{0, 3}       // type, data
	// visitorFilterStrings: visitor, device, country
	visitorFilterStrings = []int{0, 3, 7}
)

// viewFilter tests ViewQuery's filters on encoded views.
type viewFilter struct {
	q     *ViewQuery
	texts [4][]byte
}

// skip reports whether the record fails the filters. A record it cannot
// read is not skipped: decoding it reports the error.
func (f *viewFilter) skip(rec []byte) bool {
	score, ok := recordTexts(rec, viewVersion, 2, 4, viewFilterStrings, f.texts[:])
	if !ok {
		return false
	}
	q, t := f.q, &f.texts
	return !q.Bot.matches(int(score)) ||
		q.Device != "" && string(t[2]) != q.Device ||
		q.Country != "" && string(t[3]) != q.Country ||
		q.Search != "" && !bytes.Contains(t[0], []byte(q.Search)) && !bytes.Contains(t[1], []byte(q.Search))
}

// eventFilter tests EventQuery's filters on encoded events.
type eventFilter struct {
	q     *EventQuery
	texts [2][]byte
}

func (f *eventFilter) skip(rec []byte) bool {
	if _, ok := recordTexts(rec, eventVersion, 1, 4, eventFilterStrings, f.texts[:]); !ok {
		return false
	}
	q, t := f.q, &f.texts
	return q.Type != "" && string(t[0]) != q.Type ||
		q.Search != "" && !bytes.Contains(t[0], []byte(q.Search)) && !bytes.Contains(t[1], []byte(q.Search))
}

// summaryMatches tests a VisitorQuery's filters on a stored summary of
// visitor token on a site, decoding only what they read.
func (q *VisitorQuery) summaryMatches(token []byte, sum *visitorSummary, scratch *[2][]byte) bool {
	switch {
	case q.Returning == ReturningOnly && !sum.returning,
		q.Returning == NewOnly && sum.returning,
		q.Bot == BotSuspect && sum.maxScore < 50,
		q.Bot == BotClean && (sum.maxScore < 0 || sum.maxScore >= 50):
		return false
	}
	if q.Device != "" || q.Country != "" {
		b := sum.tokens
		for i := range 4 { // device, os, browser, country
			var n int
			var ok bool
			switch i {
			case 0, 3:
				slot := i / 3
				scratch[slot], n, ok = appendTokenText(scratch[slot][:0], b)
			default:
				n, ok = skipToken(b)
			}
			if !ok {
				return false
			}
			b = b[n:]
		}
		if q.Device != "" && string(scratch[0]) != q.Device || q.Country != "" && string(scratch[1]) != q.Country {
			return false
		}
	}
	if q.Search != "" {
		visitor, ok := keyTokenString(token)
		return ok && bytes.Contains([]byte(visitor), []byte(q.Search))
	}
	return true
}
