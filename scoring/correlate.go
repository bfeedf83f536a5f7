package scoring

import (
	"bytes"
	"cmp"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// Correlator prints and clustering (docs/bot-defense.md, Correlator).
//
// Every pageview beacon that reaches scoring leaves a print: its IP key,
// visitor id, site, fingerprint, whether it carried bot evidence of its own,
// and whether its IP was in the confirmed tier. A sweep groups the prints
// of the last PrintRetention by (site, fingerprint) and flags clusters of
// many IPs that look alike and misbehave alike.
//
// Counting IPs per fingerprint alone would flag every common phone on a
// busy site. So:
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
// oldest overwritten first, so no evidence is lost in one go. About 72
// bytes a print plus its visitor id, so 200,000 prints take about 18 MB at
// most. Fingerprints are held as hashes only. Safe for concurrent use; nil
// records nothing.
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

// cluster groups prints by (site, fingerprint) and returns the flagged
// groups. It sorts the prints in place instead of building maps per site
// and group, so a sweep over prints that are all different (a flood with
// random site ids and User-Agents) takes no memory beyond the prints'
// copy: two sorts, O(n log n).
func cluster(prints []print) []Cluster {
	// Per site: distinct IPs and distinct IPs with evidence, from the
	// prints sorted by site and IP, kept in a parallel slice.
	slices.SortFunc(prints, func(a, b print) int {
		return cmp.Or(strings.Compare(a.site, b.site), bytes.Compare(a.ip[:], b.ip[:]))
	})
	counts := map[string]siteCount{}
	for i := 0; i < len(prints); {
		j, c := i, siteCount{}
		for j < len(prints) && prints[j].site == prints[i].site {
			k, ev := j, false
			for k < len(prints) && prints[k].site == prints[j].site && prints[k].ip == prints[j].ip {
				ev = ev || prints[k].evidence || prints[k].tainted
				k++
			}
			c.ips++
			if ev {
				c.evidence++
			}
			j = k
		}
		if c.evidence > 0 { // only sites with evidence can have a cluster
			counts[prints[i].site] = c
		}
		i = j
	}
	slices.SortFunc(prints, func(a, b print) int {
		return cmp.Or(strings.Compare(a.site, b.site), cmp.Compare(a.fp, b.fp), bytes.Compare(a.ip[:], b.ip[:]))
	})
	var out []Cluster
	for i := 0; i < len(prints); {
		j := i
		for j < len(prints) && prints[j].site == prints[i].site && prints[j].fp == prints[i].fp {
			j++
		}
		if c, ok := flagged(prints[i:j], counts[prints[i].site]); ok {
			out = append(out, c)
		}
		i = j
	}
	slices.SortFunc(out, func(a, b Cluster) int {
		return cmp.Or(strings.Compare(a.Site, b.Site), strings.Compare(a.Fingerprint, b.Fingerprint))
	})
	return out
}

// siteCount is a site's distinct IPs and distinct IPs with evidence.
type siteCount struct{ ips, evidence int32 }

// flagged decides one (site, fingerprint) group, its prints sorted by IP,
// given its site's counts.
func flagged(g []print, site siteCount) (Cluster, bool) {
	ips, evidence, tainted := 0, 0, false
	for i := 0; i < len(g); {
		k, ev := i, false
		for k < len(g) && g[k].ip == g[i].ip {
			ev = ev || g[k].evidence || g[k].tainted
			tainted = tainted || g[k].tainted
			k++
		}
		ips++
		if ev {
			evidence++
		}
		i = k
	}
	if evidence == 0 || evidence < threshold(ips, evidence, int(site.ips), int(site.evidence), tainted) {
		return Cluster{}, false
	}
	c := Cluster{Site: g[0].site, Fingerprint: FingerprintCode(g[0].fp), Size: evidence, Tainted: tainted, Penalty: PenaltySmall}
	if evidence >= LargeCluster || tainted {
		c.Penalty = PenaltyLarge
	}
	for _, pr := range g {
		if !pr.evidence && !pr.tainted {
			continue
		}
		if len(c.IPs) == 0 || c.IPs[len(c.IPs)-1] != pr.ip {
			c.IPs = append(c.IPs, pr.ip)
		}
		c.Visitors = append(c.Visitors, pr.visitor)
	}
	slices.Sort(c.Visitors)
	c.Visitors = slices.Compact(c.Visitors)
	return c, true
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
