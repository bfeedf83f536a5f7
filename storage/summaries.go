package storage

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
)

// Visitor summaries (key layout 5): what the Visitors page shows of one
// visitor on one site over its retained views. A summary lives twice: as
// the trailer of the visitor's last index chunk on the site (the chunk
// with the highest first id; visitorindex.go), where a lookup by visitor
// finds it with one seek, and as the value of its entry in the by-views
// index, for the sort by views:
//
//	chunk trailer:            uvarint(generation) | summary
//	tableVisitorsByViews(1) | site | 0x00 | views(4) | token(visitor)  →  summary
//	"\x00visitors/" + site                                             →  uvarint(visitors of the site)
//
// summary: version(1)=1 | uvarint(views) | uvarint(first id) |
// uvarint(last id − first id) | uvarint(Σ interaction ms) |
// varint(max score) | flags(1: returning) | the latest view's device, OS,
// browser and country as tokens (token.go; "" is a raw token of length 0).
// The generation is the store's, set at random by each rebuild.
//
// The summaries are maintained where the visitor index is folded: the
// views' index log carries each view's attributes (appendViewAttrs), and
// a merge pass, which writes a chunk per visitor, site and day anyway,
// finds the visitor's stored summary with one seek, adds its entries,
// writes the result as the trailer of the last chunk it writes, and moves
// the by-views entry: one key more per visitor and pass (two for a
// visitor seen in an earlier pass: the old entry's deletion). Each key
// costs several µs in Badger, so that is the whole price; nothing of it
// runs on the beacon path or in the writer's flush, which only appends
// the attributes to the log entries it already writes. A trailer of
// another generation than the store's (metaSummaryGen) is ignored, which
// is how a rebuild starts afresh without rewriting every chunk first.
//
// Retention purge re-derives the summaries of the visitors it took rows
// from (resummarize), and score raises lift their visitors' maximum
// (raiseSummaries). Every read-modify-write of a summary holds sum.mu.
//
// Crash safety: a merge pass marks the summaries dirty (metaListState)
// before writing them and clean in the transaction that deletes its
// segments, so a crash in between, which would fold the segments again,
// leaves the mark; Open then rebuilds the summaries from the rows. Open
// also builds them for a store of an older layout.
const tableVisitorsByViews byte = 0x36

var (
	metaVisitorCount = []byte("\x00visitors/")
	metaSummaryGen   = []byte("\x00visitor-summaries/generation")
	// metaListState: absent = build the list indexes (row counters and
	// summaries) at Open; listDirty = rebuild the summaries; listReady.
	metaListState = []byte("\x00lists")
)

const (
	listDirty byte = 0
	listReady byte = 1

	summaryVersion byte = 1
)

// summaryState is what the store holds for the summaries.
type summaryState struct {
	mu    sync.Mutex    // serialises read-modify-writes of summaries
	ready atomic.Bool   // the summaries are complete: merges maintain them
	gen   atomic.Uint64 // the trailers' generation (metaSummaryGen)
	// known and recent spare merge passes most lookups
	// (summaries_known.go); guarded by mu.
	known  *knownVisitors
	recent map[string]recentSummary
}

// appendViewAttrs appends what a visitor summary takes from a view:
//
//	varint(score) | flags(1: returning) | uvarint(interaction ms) | device | os | browser | country
//
// the strings as tokens ("" as a raw token of length 0).
func appendViewAttrs(dst []byte, v *View) []byte {
	dst = binary.AppendVarint(dst, int64(v.BotScore))
	var flags byte
	if v.IsReturning {
		flags = 1
	}
	dst = append(dst, flags)
	dst = binary.AppendUvarint(dst, uint64(max(0, v.InteractionMS)))
	for _, s := range [...]string{v.DeviceType, v.OSName, v.BrowserName, v.CountryCode} {
		dst = appendAttrToken(dst, s)
	}
	return dst
}

func appendAttrToken(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, tokRaw)
	}
	return appendToken(dst, s)
}

// viewAttrs is a decoded appendViewAttrs; tokens aliases the input.
type viewAttrs struct {
	score       int
	returning   bool
	interaction uint64
	tokens      []byte // device, os, browser, country
}

// splitViewAttrs splits the attributes off the front of b.
func splitViewAttrs(b []byte) (attrs, rest []byte, ok bool) {
	n := 0
	if _, k := binary.Varint(b); k > 0 {
		n = k
	} else {
		return nil, nil, false
	}
	if n >= len(b) || b[n] > 1 {
		return nil, nil, false
	}
	n++
	if _, k := binary.Uvarint(b[n:]); k > 0 {
		n += k
	} else {
		return nil, nil, false
	}
	for range 4 {
		k, ok := skipToken(b[n:])
		if !ok {
			return nil, nil, false
		}
		n += k
	}
	return b[:n], b[n:], true
}

// parseViewAttrs reads attributes split by splitViewAttrs.
func parseViewAttrs(b []byte) viewAttrs {
	score, k := binary.Varint(b)
	b = b[k:]
	a := viewAttrs{score: int(score), returning: b[0] == 1}
	b = b[1:]
	a.interaction, k = binary.Uvarint(b)
	a.tokens = b[k:]
	return a
}

// skipToken returns the length of the token at the front of b.
func skipToken(b []byte) (int, bool) {
	h, k := binary.Uvarint(b)
	if k <= 0 {
		return 0, false
	}
	n := h >> 2
	var body uint64
	switch h & 3 {
	case tokRaw, tokHex:
		body = n
	case tokCommon:
		if n >= uint64(len(commonStrings)) {
			return 0, false
		}
	default:
		if n != 0 {
			return 0, false
		}
		body = 16
	}
	if body > uint64(len(b)-k) {
		return 0, false
	}
	return k + int(body), true
}

// visitorSummary is one visitor's summary on one site.
type visitorSummary struct {
	views       uint64
	first, last uint64 // ids of the first and last view
	active      uint64 // Σ interaction ms
	maxScore    int
	returning   bool
	tokens      []byte // the latest view's device, os, browser, country
}

func (v *visitorSummary) encode(dst []byte) []byte {
	dst = append(dst, summaryVersion)
	dst = binary.AppendUvarint(dst, v.views)
	dst = binary.AppendUvarint(dst, v.first)
	dst = binary.AppendUvarint(dst, v.last-v.first)
	dst = binary.AppendUvarint(dst, v.active)
	dst = binary.AppendVarint(dst, int64(v.maxScore))
	var flags byte
	if v.returning {
		flags = 1
	}
	dst = append(dst, flags)
	return append(dst, v.tokens...)
}

// decodeSummary reads a summary; tokens alias b.
func decodeSummary(b []byte) (visitorSummary, error) {
	if len(b) == 0 || b[0] != summaryVersion {
		return visitorSummary{}, errBadSummary
	}
	d := decoder{b: b[1:]}
	v := visitorSummary{views: d.uvarint(), first: d.uvarint()}
	v.last = v.first + d.uvarint()
	v.active = d.uvarint()
	v.maxScore = int(d.varint())
	flags := d.bytes(1)
	if d.err != nil || flags[0] > 1 || v.last < v.first {
		return visitorSummary{}, errBadSummary
	}
	v.returning = flags[0] == 1
	v.tokens = d.b
	rest := d.b
	for range 4 {
		k, ok := skipToken(rest)
		if !ok {
			return visitorSummary{}, errBadSummary
		}
		rest = rest[k:]
	}
	if len(rest) != 0 {
		return visitorSummary{}, errBadSummary
	}
	return v, nil
}

// strings decodes the summary's device, os, browser and country.
func (v *visitorSummary) strings() (device, os, browser, country string) {
	d := decoder{b: v.tokens}
	device, os, browser, country = d.token(), d.token(), d.token(), d.token()
	return
}

// add folds one view (its id and attributes) into the summary.
func (v *visitorSummary) add(id uint64, a viewAttrs) {
	if v.views == 0 {
		v.first, v.last, v.maxScore = id, id, a.score
		v.tokens = append(v.tokens[:0], a.tokens...)
	}
	v.views++
	v.first = min(v.first, id)
	if id >= v.last {
		v.last = id
		v.tokens = append(v.tokens[:0], a.tokens...)
	}
	v.active += a.interaction
	v.maxScore = max(v.maxScore, a.score)
	v.returning = v.returning || a.returning
}

// merge adds the summary of more views of the same visitor and site.
func (v *visitorSummary) merge(o *visitorSummary) {
	if o.views == 0 {
		return
	}
	if v.views == 0 {
		*v = visitorSummary{views: o.views, first: o.first, last: o.last, active: o.active,
			maxScore: o.maxScore, returning: o.returning, tokens: append([]byte(nil), o.tokens...)}
		return
	}
	v.views += o.views
	v.first = min(v.first, o.first)
	if o.last > v.last {
		v.last = o.last
		v.tokens = append(v.tokens[:0:0], o.tokens...)
	}
	v.active += o.active
	v.maxScore = max(v.maxScore, o.maxScore)
	v.returning = v.returning || o.returning
}

func appendByViewsKey(k []byte, site string, views uint64, token []byte) []byte {
	k = append(k, tableVisitorsByViews)
	k = append(k, site...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint32(k, uint32(min(views, 1<<32-1)))
	return append(k, token...)
}

func visitorCountKey(site string) []byte {
	return append(append([]byte(nil), metaVisitorCount...), site...)
}

// keyTokenString decodes a key token (appendKeyToken) to its string.
func keyTokenString(token []byte) (string, bool) {
	h, k := binary.Uvarint(token)
	if k <= 0 || h>>1 != uint64(len(token)-k) {
		return "", false
	}
	body := token[k:]
	if h&1 == 1 {
		return hexString(body), true
	}
	return string(body), true
}
