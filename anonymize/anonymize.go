// Package anonymize replaces the stored fields of anonymized sites with
// deterministic stand-ins that change every UTC day (docs/privacy.md).
//
// Every mapping starts from H(x), the HMAC-SHA256 of the value x keyed by
// the instance secret followed by "echelon-anon-<UTC date>". The same
// value maps to the same stand-in all day, so counts, trends and
// per-visitor journeys of a day still add up; the next day the key, and
// with it every stand-in, is different, and without the secret no one can
// tell which real value a stand-in was.
package anonymize

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Anonymizer hands out each UTC day's mappings. It is safe for concurrent
// use.
type Anonymizer struct {
	secret []byte
	day    atomic.Pointer[Day]
}

// New returns an Anonymizer keyed by the instance secret.
func New(secret []byte) *Anonymizer {
	return &Anonymizer{secret: append([]byte(nil), secret...)}
}

// Day returns the mappings of now's UTC date.
func (a *Anonymizer) Day(now time.Time) *Day {
	n := dayNumber(now)
	if d := a.day.Load(); d != nil && d.number == n {
		return d
	}
	date := now.UTC().Format(time.DateOnly)
	key := append(append([]byte(nil), a.secret...), "echelon-anon-"+date...)
	d := &Day{number: n, Date: date}
	d.macs.New = func() any { return &mac{h: hmac.New(sha256.New, key)} }
	a.day.Store(d)
	return d
}

func dayNumber(t time.Time) int64 {
	s := t.Unix()
	if s < 0 {
		return (s+1)/86400 - 1
	}
	return s / 86400
}

// Day is one UTC date's set of mappings. Each maps "" to "" (a missing
// value stays missing) unless it says otherwise.
type Day struct {
	number int64
	// Date is the UTC date, YYYY-MM-DD.
	Date string
	macs sync.Pool // *mac keyed for Date
}

// mac is a keyed HMAC with its buffers, pooled so a mapping allocates
// only its result.
type mac struct {
	h   hash.Hash
	in  []byte
	out [sha256.Size]byte
}

// sum is H(x) as bytes.
func (d *Day) sum(x string) [sha256.Size]byte {
	m := d.macs.Get().(*mac)
	m.h.Reset()
	m.in = append(m.in[:0], x...)
	m.h.Write(m.in)
	m.h.Sum(m.out[:0])
	out := m.out
	if cap(m.in) > 1<<10 {
		m.in = nil // keep no large input around
	}
	d.macs.Put(m)
	return out
}

// pick is L[uint32(first 8 hex of H(x)) mod |L|].
func pick(h *[sha256.Size]byte, list []string) string {
	return list[binary.BigEndian.Uint32(h[:4])%uint32(len(list))]
}

func (d *Day) pick(x string, list []string) string {
	if x == "" {
		return ""
	}
	h := d.sum(x)
	return pick(&h, list)
}

// VisitorID is the first 16 hex digits of H(id).
func (d *Day) VisitorID(id string) string {
	if id == "" {
		return ""
	}
	h := d.sum(id)
	return hex.EncodeToString(h[:8])
}

// SessionID is a Norwegian fisherman.
func (d *Day) SessionID(id string) string { return d.pick(id, fishermen[:]) }

// Country is an exoplanet.
func (d *Day) Country(code string) string { return d.pick(code, exoplanets[:]) }

// OS is a tropical bird.
func (d *Day) OS(name string) string { return d.pick(name, birds[:]) }

// Browser is a mammal and a body part, e.g. "Badgerhead".
func (d *Day) Browser(name string) string {
	if name == "" {
		return ""
	}
	h := d.sum(name)
	return mammals[binary.BigEndian.Uint32(h[:4])%uint32(len(mammals))] +
		bodyParts[binary.BigEndian.Uint32(h[4:8])%uint32(len(bodyParts))]
}

// Version is "<1–150>.<0–9>".
func (d *Day) Version(v string) string {
	if v == "" {
		return ""
	}
	h := d.sum(v)
	major := int(binary.BigEndian.Uint16(h[:2]))%150 + 1
	return strconv.Itoa(major) + "." + strconv.Itoa(int(h[2])%10)
}

// Screen is one of Terminals, as columns and rows, picked by H("<w>x<h>")
// (a missing side counts as 0); a screen with neither side stays 0 × 0.
func (d *Day) Screen(width, height int) (columns, rows int) {
	if width == 0 && height == 0 {
		return 0, 0
	}
	h := d.sum(strconv.Itoa(width) + "x" + strconv.Itoa(height))
	t := Terminals[binary.BigEndian.Uint32(h[:4])%uint32(len(Terminals))]
	return t.Columns, t.Rows
}

// Device names the craft of a device type: desktop, tablet and mobile are
// a mothership, a shuttle and a probe, anything else an unknown vessel.
func (d *Day) Device(device string) string {
	switch device {
	case "":
		return ""
	case "desktop":
		return "mothership"
	case "tablet":
		return "shuttle"
	case "mobile":
		return "probe"
	}
	return "unknown-vessel"
}

// Referrer is a page of a surveillance intranet, e.g.
// "https://nsa-intranet.gov/ops/prism-3f2a".
func (d *Day) Referrer(ref string) string {
	if ref == "" {
		return ""
	}
	h := d.sum(ref)
	return "https://nsa-intranet.gov/ops/" + pick(&h, surveillance[:]) + "-" + hex.EncodeToString(h[:2])
}

// Path maps every non-empty segment to an operation codename, keeping the
// slashes: "/blog/2026/hello/" becomes e.g. "/torch/anvil/gladio/".
func (d *Day) Path(p string) string {
	if p == "" || strings.Trim(p, "/") == "" {
		return p
	}
	var b strings.Builder
	b.Grow(len(p) + 16)
	for i, seg := range strings.Split(p, "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(d.pick(seg, operations[:]))
	}
	return b.String()
}

// UTM is an operation codename.
func (d *Day) UTM(v string) string { return d.pick(v, operations[:]) }

// Experiment is "experiment-" and 8 hex digits of H(id).
func (d *Day) Experiment(id string) string { return d.tagged("experiment-", id) }

// Variant is "variant-" and 8 hex digits of H(id).
func (d *Day) Variant(id string) string { return d.tagged("variant-", id) }

func (d *Day) tagged(prefix, id string) string {
	if id == "" {
		return ""
	}
	h := d.sum(id)
	return prefix + hex.EncodeToString(h[:4])
}

// FormValue scrambles a typed value keeping its shape: letter i becomes a
// letter of the same case and digit i a digit, both chosen by byte i mod
// 32 of H(value); every other character stays.
func (d *Day) FormValue(v string) string {
	if v == "" {
		return ""
	}
	h := d.sum(v)
	var b strings.Builder
	b.Grow(len(v))
	i := 0
	for _, r := range v {
		c := h[i%len(h)]
		switch {
		case isUpper(r):
			b.WriteByte('A' + c%26)
		case isLetter(r):
			b.WriteByte('a' + c%26)
		case '0' <= r && r <= '9':
			b.WriteByte('0' + c%10)
		default:
			b.WriteRune(r)
		}
		i++
	}
	return b.String()
}
