package scoring

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

var testSalt = []byte("0123456789abcdef0123456789abcdef")

func ipKeyN(i int) [16]byte {
	return IPKey(netip.AddrFrom4([4]byte{100, byte(i >> 16), byte(i >> 8), byte(i)}), testSalt)
}

// Realistic traffic: 1,000 distinct humans share one common
// fingerprint (a few with an odd signal of their own, as real visitors
// have), other visitors have assorted setups, and 8 IPs replay one
// headless fingerprint with bot evidence. Only the replay is flagged.
func TestPrints_CommonFingerprintIsNotFlaggedHeadlessReplayIs(t *testing.T) {
	p := NewPrints(0)
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	iphone := Fingerprint{OS: "iOS 17.5", Browser: "Safari", Version: "17.5", Width: 390, Height: 844, Country: "US", Language: LanguageHash("en-US,en;q=0.9")}
	for i := range 1000 {
		evidence := i%40 == 0 // 2.5 % of people trip a signal (fast click, burst…)
		p.Record(ipKeyN(i), fmt.Sprintf("h%04d", i), "shop", &iphone, evidence, false, now.Add(-time.Duration(i)*time.Second))
	}
	for i := range 300 {
		fp := Fingerprint{OS: "Windows 10/11", Browser: "Chrome", Version: fmt.Sprintf("13%d.0.0.0", i%5), Width: 1920, Height: 1080, Country: "US", Language: LanguageHash("en-US")}
		p.Record(ipKeyN(5000+i), fmt.Sprintf("o%04d", i), "shop", &fp, i%23 == 0, false, now.Add(-time.Duration(i)*time.Second))
	}
	headless := Fingerprint{OS: "Linux", Browser: "Chrome", Version: "120.0.6099.0", Width: 800, Height: 600, Country: "DE"}
	for i := range 8 {
		for j := range 3 {
			p.Record(ipKeyN(9000+i), fmt.Sprintf("b%d", i), "shop", &headless, true, false, now.Add(-time.Duration(j)*time.Minute))
		}
	}
	clusters := p.Clusters(now)
	if len(clusters) != 1 {
		t.Fatalf("%d clusters flagged, want only the headless replay: %+v", len(clusters), clusters)
	}
	c := clusters[0]
	if c.Site != "shop" || c.Size != 8 || c.Penalty != PenaltyLarge || len(c.Visitors) != 8 || len(c.IPs) != 8 ||
		c.Fingerprint != FingerprintCode(headless.hash()) || len(c.Fingerprint) != 16 {
		t.Errorf("cluster %+v", c)
	}
}

func TestPrints_ThresholdsAndPenalties(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	fp := Fingerprint{OS: "Linux", Browser: "Chrome", Version: "1"}
	for _, tc := range []struct {
		name        string
		ips         int
		tainted     bool
		wantPenalty int // 0 = not flagged
	}{
		{"5 IPs", 5, false, 0},
		{"6 IPs", 6, false, PenaltySmall},
		{"7 IPs", 7, false, PenaltySmall},
		{"8 IPs", 8, false, PenaltyLarge},
		{"3 IPs tainted", 3, true, 0},
		{"4 IPs tainted", 4, true, PenaltyLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPrints(0)
			for i := range tc.ips {
				p.Record(ipKeyN(i), fmt.Sprint(i), "s", &fp, true, tc.tainted && i == 0, now)
			}
			cs := p.Clusters(now)
			got := 0
			if len(cs) == 1 {
				got = cs[0].Penalty
			}
			if got != tc.wantPenalty || len(cs) > 1 {
				t.Errorf("penalty %d (%d clusters), want %d", got, len(cs), tc.wantPenalty)
			}
		})
	}
}

func TestPrints_NoEvidenceNoCluster(t *testing.T) {
	p := NewPrints(0)
	now := time.Now()
	fp := Fingerprint{OS: "Linux", Browser: "Chrome", Version: "1"}
	for i := range 50 {
		p.Record(ipKeyN(i), fmt.Sprint(i), "s", &fp, false, false, now)
	}
	if cs := p.Clusters(now); len(cs) != 0 {
		t.Fatalf("clean prints flagged: %+v", cs)
	}
}

func TestPrints_RetentionAndCapacity(t *testing.T) {
	p := NewPrints(10)
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	fp := Fingerprint{OS: "Linux", Browser: "Chrome", Version: "1"}
	for i := range 8 {
		p.Record(ipKeyN(i), fmt.Sprint(i), "s", &fp, true, false, now.Add(-PrintRetention-time.Second))
	}
	if cs := p.Clusters(now); len(cs) != 0 {
		t.Fatalf("prints older than %s flagged: %+v", PrintRetention, cs)
	}
	for i := range 25 {
		p.Record(ipKeyN(100+i), fmt.Sprint(i), "s", &fp, true, false, now)
	}
	if n := p.Len(); n != 10 {
		t.Fatalf("holds %d prints, want the capacity 10", n)
	}
	cs := p.Clusters(now)
	if len(cs) != 1 || cs[0].Size != 10 {
		t.Fatalf("full ring: %+v, want one cluster of the newest 10", cs)
	}
}

func TestPrints_RecordDoesNotAllocate(t *testing.T) {
	p := NewPrints(1000)
	fp := Fingerprint{OS: "Linux", Browser: "Chrome", Version: "1", Language: LanguageHash("en")}
	now := time.Now()
	p.Record(ipKeyN(1), "v", "s", &fp, false, false, now)
	if n := testing.AllocsPerRun(100, func() { p.Record(ipKeyN(1), "v", "s", &fp, false, false, now) }); n != 0 {
		t.Fatalf("%v allocations per print", n)
	}
}

func BenchmarkPrintsRecord(b *testing.B) {
	p := NewPrints(0)
	fp := Fingerprint{OS: "Windows 10/11", Browser: "Chrome", Version: "131.0.0.0", Width: 1920, Height: 1080, Country: "FI", Language: LanguageHash("en-US,en;q=0.9")}
	key := ipKeyN(1)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		p.Record(key, "0123456789abcdef", "shop", &fp, false, false, now)
	}
}
