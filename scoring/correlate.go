package scoring

import (
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// Correlator prints and clustering (bot-defense.md §7.3, with the §11
// fixes).
//
// Every pageview beacon that reaches scoring leaves a print: its IP key,
// visitor id, site, fingerprint, whether it carried bot evidence of its own,
// and whether its IP was in the confirmed tier. A sweep groups the prints
// of the last PrintRetention by (site, fingerprint) and flags clusters of
// many IPs that look alike and misbehave alike.
//
// The reference flagged any fingerprint seen from 6 IPs in 20 minutes,
// which on a busy site is every common phone. Here:
//
//   - only prints with a second signal count ("evidence": the hit scored
//     EvidenceScore or more on its own, e.g. a missing proof of work, a
//     header contradiction, a burst, a suspected IP; missing client hints
//     alone (+10, old Safari) are not enough), or
//     whose IP was confirmed (tainted);
//   - the threshold scales with the site's traffic and the fingerprint's
//     base rate: a cluster needs at least ClusterMinIPs evidence IPs
//     (ClusterMinIPsTainted if tainted) and at least ClusterExcess times
//     the evidence IPs its IPs would have at the evidence rate of the rest
//     of the site (see threshold).
//
// So a thousand people with the same iPhone and a few with an odd signal
// stay a cluster of expected size, while eight IPs replaying one headless
// setup, all with evidence, stand far above theirs.
const (
	PrintRetention       = 20 * time.Minute
	DefaultPrintCapacity = 200_000
	EvidenceScore        = 15
	ClusterMinIPs        = 6
	ClusterMinIPsTainted = 4
	ClusterExcess        = 3
	// PenaltyLarge applies to clusters of at least LargeCluster IPs or with
	// a tainted print, PenaltySmall to the others.
	PenaltyLarge     = 50
	PenaltySmall     = 30
	LargeCluster     = 8
	maxInternedSites = 10_000
)

// Fingerprint is what the correlator compares: the parsed User-Agent, the
// screen (0×0 if invalid), the country and the Accept-Language header as
// its hash (LanguageHash; 0 if missing). A print keeps only the hash of
// the whole fingerprint, and a raised row's detail names the cluster by
// that hash in hex (Cluster.Fingerprint), so no header text is kept in
// memory or stored, and what a cluster writes into each of its rows has
// a fixed length whatever the requests carried.
type Fingerprint struct {
	OS, Browser, Version string
	Width, Height        int
	Country              string
	Language             uint64
}

// LanguageHash is the FNV-1a hash of an Accept-Language header for
// Fingerprint.Language; 0 stands for a missing header.
func LanguageHash(v string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(v); i++ {
		h = (h ^ uint64(v[i])) * fnvPrime
	}
	return h | 1 // never 0, which is "missing"
}

// hash is FNV-1a over the fields, without allocating.
func (f *Fingerprint) hash() uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			h = (h ^ uint64(s[i])) * prime
		}
		h = (h ^ '|') * prime
	}
	add(f.OS)
	add(f.Browser)
	add(f.Version)
	for _, n := range [2]int{f.Width, f.Height} {
		for i := 0; i < 4; i++ {
			h = (h ^ uint64(byte(n>>(8*i)))) * prime
		}
	}
	add(f.Country)
	for i := 0; i < 8; i++ {
		h = (h ^ uint64(byte(f.Language>>(8*i)))) * prime
	}
	return h
}

// FingerprintCode is the fixed-length code of a fingerprint hash recorded
// in a raised row's detail: 16 hex digits.
func FingerprintCode(h uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = digits[h&0xf]
		h >>= 4
	}
	return string(b[:])
}

type print struct {
	ip                [16]byte
	fp                uint64
	at                int64
	site, visitor     string
	evidence, tainted bool
}

// Prints is the bounded store of prints: a ring of capacity entries, the
// oldest overwritten first (the reference dropped the older half when
// full, losing evidence in one go). About 72 bytes a print plus its visitor
// id, so 200,000 prints take about 18 MB at most. Fingerprints are held as
// hashes only. Safe for concurrent use; nil records nothing.
type Prints struct {
	mu    sync.Mutex
	ring  []print
	next  int // ring index of the next write once full
	cap   int
	sites map[string]string // interned site ids, at most maxInternedSites
}

// NewPrints returns a store of at most capacity prints
// (DefaultPrintCapacity if capacity <= 0).
func NewPrints(capacity int) *Prints {
	if capacity <= 0 {
		capacity = DefaultPrintCapacity
	}
	return &Prints{cap: capacity, sites: map[string]string{}}
}

// Record adds a print. It allocates only for a site it has not seen
// before.
func (p *Prints) Record(ip [16]byte, visitor, site string, fp *Fingerprint, evidence, tainted bool, now time.Time) {
	if p == nil {
		return
	}
	h := fp.hash()
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.sites[site]
	if !ok {
		s = strings.Clone(site)
		if len(p.sites) < maxInternedSites {
			p.sites[s] = s
		}
	}
	pr := print{ip: ip, fp: h, at: now.UnixNano(), site: s, visitor: visitor, evidence: evidence, tainted: tainted}
	if len(p.ring) < p.cap {
		p.ring = append(p.ring, pr)
		return
	}
	p.ring[p.next] = pr
	p.next = (p.next + 1) % p.cap
}

// Len returns the number of prints held.
func (p *Prints) Len() int {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ring)
}

// Cluster is a flagged (site, fingerprint) group.
type Cluster struct {
	Site        string
	Fingerprint string // FingerprintCode of the fingerprint's hash
	// IPs and Visitors are those of the prints that counted: with evidence
	// or tainted. Their rows are raised and their IPs confirmed.
	IPs      [][16]byte
	Visitors []string
	Size     int // distinct IPs that counted
	Tainted  bool
	Penalty  int
}

// Clusters returns the flagged clusters among the prints of the last
// PrintRetention at now, sorted by site and fingerprint. It copies the live
// prints under the lock and groups them outside it.
func (p *Prints) Clusters(now time.Time) []Cluster {
	if p == nil {
		return nil
	}
	since := now.Add(-PrintRetention).UnixNano()
	p.mu.Lock()
	live := make([]print, 0, len(p.ring))
	for _, pr := range p.ring {
		if pr.at >= since {
			live = append(live, pr)
		}
	}
	p.mu.Unlock()
	return cluster(live)
}

type group struct {
	ips, evidenceIPs map[[16]byte]struct{}
	visitors         map[string]struct{}
	tainted          bool
}

type siteTotals struct {
	ips, evidenceIPs map[[16]byte]struct{}
	groups           map[uint64]*group
}

func cluster(prints []print) []Cluster {
	sites := map[string]*siteTotals{}
	for _, pr := range prints {
		st := sites[pr.site]
		if st == nil {
			st = &siteTotals{ips: map[[16]byte]struct{}{}, evidenceIPs: map[[16]byte]struct{}{}, groups: map[uint64]*group{}}
			sites[pr.site] = st
		}
		g := st.groups[pr.fp]
		if g == nil {
			g = &group{ips: map[[16]byte]struct{}{}, evidenceIPs: map[[16]byte]struct{}{}, visitors: map[string]struct{}{}}
			st.groups[pr.fp] = g
		}
		st.ips[pr.ip] = struct{}{}
		g.ips[pr.ip] = struct{}{}
		if pr.evidence || pr.tainted {
			st.evidenceIPs[pr.ip] = struct{}{}
			g.evidenceIPs[pr.ip] = struct{}{}
			g.visitors[pr.visitor] = struct{}{}
			g.tainted = g.tainted || pr.tainted
		}
	}
	var out []Cluster
	for site, st := range sites {
		for fp, g := range st.groups {
			n := len(g.evidenceIPs)
			if n == 0 || n < threshold(len(g.ips), n, len(st.ips), len(st.evidenceIPs), g.tainted) {
				continue
			}
			c := Cluster{Site: site, Fingerprint: FingerprintCode(fp), Size: n, Tainted: g.tainted, Penalty: PenaltySmall}
			if n >= LargeCluster || g.tainted {
				c.Penalty = PenaltyLarge
			}
			for ip := range g.evidenceIPs {
				c.IPs = append(c.IPs, ip)
			}
			for v := range g.visitors {
				c.Visitors = append(c.Visitors, v)
			}
			slices.Sort(c.Visitors)
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Cluster) int {
		if c := strings.Compare(a.Site, b.Site); c != 0 {
			return c
		}
		return strings.Compare(a.Fingerprint, b.Fingerprint)
	})
	return out
}

// threshold is the number of evidence IPs a fingerprint needs: the fixed
// minimum, or ClusterExcess times what it would have at the evidence rate
// of the rest of the site's IPs, whichever is larger. The rest, not the
// whole site, so that a site whose only traffic is one replayed setup is
// still flagged.
func threshold(groupIPs, groupEvidence, siteIPs, siteEvidence int, tainted bool) int {
	base := ClusterMinIPs
	if tainted {
		base = ClusterMinIPsTainted
	}
	rate := 0.0
	if rest := siteIPs - groupIPs; rest > 0 {
		rate = float64(siteEvidence-groupEvidence) / float64(rest)
	}
	return max(base, int(math.Ceil(ClusterExcess*rate*float64(groupIPs))))
}
