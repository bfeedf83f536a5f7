package scoring

import (
	"crypto/hmac"
	"crypto/sha256"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

func ipKey(s string) [16]byte { return IPKey(netip.MustParseAddr(s), []byte("day-salt")) }

func TestBotIPs_SuspectedLasts30MinutesAfterLastSighting(t *testing.T) {
	b := NewBotIPs(100)
	k := ipKey("192.0.2.1")
	b.Suspect(k, t0)
	if got := b.Tier(k, t0.Add(SuspectedTTL-time.Nanosecond)); got != IPTierSuspected {
		t.Errorf("just before 30 min: %s", got)
	}
	if got := b.Tier(k, t0.Add(SuspectedTTL)); got != IPTierNone {
		t.Errorf("at 30 min: %s, want none", got)
	}
	b.Suspect(k, t0.Add(20*time.Minute)) // seen again: the 30 minutes restart
	if got := b.Tier(k, t0.Add(49*time.Minute)); got != IPTierSuspected {
		t.Errorf("29 min after the second sighting: %s", got)
	}
	if got := b.Tier(k, t0.Add(50*time.Minute)); got != IPTierNone {
		t.Errorf("30 min after the second sighting: %s", got)
	}
	if got := b.Tier(ipKey("192.0.2.2"), t0); got != IPTierNone {
		t.Errorf("another IP: %s", got)
	}
}

func TestBotIPs_ConfirmedFirstForAnHour(t *testing.T) {
	b := NewBotIPs(100)
	k := ipKey("2001:db8::1")
	b.Suspect(k, t0.Add(50*time.Minute))
	b.Confirm(k, t0)
	if got := b.Tier(k, t0.Add(55*time.Minute)); got != IPTierConfirmed {
		t.Errorf("in both tiers: %s, want confirmed", got)
	}
	if got := b.Tier(k, t0.Add(ConfirmedTTL)); got != IPTierSuspected {
		t.Errorf("confirmation expired, sighting not: %s, want suspected", got)
	}
	b.Confirm(k, t0.Add(ConfirmedTTL)) // the next correlator sweep
	if got := b.Tier(k, t0.Add(2*ConfirmedTTL-time.Nanosecond)); got != IPTierConfirmed {
		t.Errorf("re-confirmed: %s", got)
	}
}

func TestBotIPs_FullTierFailsClosed(t *testing.T) {
	b := NewBotIPs(1)
	a, c := ipKey("192.0.2.1"), ipKey("192.0.2.3")
	if !b.Suspect(a, t0) {
		t.Fatal("first key refused")
	}
	if b.Suspect(ipKey("192.0.2.2"), t0) {
		t.Error("second key admitted to a full tier")
	}
	if got := b.Tier(c, t0.Add(time.Minute)); got != IPTierSuspected {
		t.Errorf("unknown IP while the suspected tier is full: %s, want suspected", got)
	}
	if got := b.Tier(c, t0.Add(SuspectedTTL)); got != IPTierNone {
		t.Errorf("unknown IP once the held entry expired: %s, want none", got)
	}

	b = NewBotIPs(1)
	b.Confirm(a, t0)
	if b.Confirm(c, t0) {
		t.Error("second key admitted to a full confirmed tier")
	}
	if got := b.Tier(c, t0); got != IPTierSuspected {
		t.Errorf("unknown IP while the confirmed tier is full: %s, want suspected (not confirmed)", got)
	}
}

func TestBotIPs_NilHoldsNothing(t *testing.T) {
	var b *BotIPs
	k := ipKey("192.0.2.1")
	if b.Suspect(k, t0) || b.Confirm(k, t0) || b.Tier(k, t0) != IPTierNone {
		t.Error("nil BotIPs held a key")
	}
}

func TestBotIPs_ConcurrentMarksStayWithinCapacity(t *testing.T) {
	b := NewBotIPs(64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				k := IPKey(netip.AddrFrom4([4]byte{10, byte(g), byte(i >> 8), byte(i)}), nil)
				now := t0.Add(time.Duration(i) * time.Second)
				b.Suspect(k, now)
				b.Confirm(k, now)
				b.Tier(k, now)
			}
		}()
	}
	wg.Wait()
	if s, c := b.Len(); s > 64 || c > 64 {
		t.Errorf("Len = %d, %d; capacity 64 each", s, c)
	}
}

func TestIPKey_AggregatesIPv6To64(t *testing.T) {
	same := [][2]string{
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff"},
		{"192.0.2.1", "::ffff:192.0.2.1"},
	}
	for _, p := range same {
		if ipKey(p[0]) != ipKey(p[1]) {
			t.Errorf("%s and %s: different keys", p[0], p[1])
		}
	}
	differ := [][2]string{
		{"2001:db8:1:2::1", "2001:db8:1:3::1"},
		{"192.0.2.1", "192.0.2.2"},
		{"0.0.0.1", "::1"}, // same trailing bytes, different families
	}
	for _, p := range differ {
		if ipKey(p[0]) == ipKey(p[1]) {
			t.Errorf("%s and %s: same key", p[0], p[1])
		}
	}
	if IPKey(netip.MustParseAddr("192.0.2.1"), []byte("monday")) == IPKey(netip.MustParseAddr("192.0.2.1"), []byte("tuesday")) {
		t.Error("the key does not change with the salt")
	}
	if IPKey(netip.Addr{}, nil) != IPKey(netip.Addr{}, nil) {
		t.Error("unknown IP: unstable key")
	}
}

func TestIPKey_IsHMACSHA256(t *testing.T) {
	for _, salt := range [][]byte{nil, []byte("s"), []byte(strings.Repeat("k", 64)), []byte(strings.Repeat("long", 40))} {
		for _, tc := range []struct {
			ip  string
			msg []byte
		}{
			{"203.0.113.9", []byte{4, 203, 0, 113, 9}},
			{"2001:db8:aa:bb:cc::1", []byte{6, 0x20, 0x01, 0x0d, 0xb8, 0, 0xaa, 0, 0xbb}},
		} {
			mac := hmac.New(sha256.New, salt)
			mac.Write(tc.msg)
			var want [16]byte
			copy(want[:], mac.Sum(nil))
			if got := IPKey(netip.MustParseAddr(tc.ip), salt); got != want {
				t.Errorf("salt %d bytes, %s: %x, want %x", len(salt), tc.ip, got, want)
			}
		}
	}
}

func TestIPKey_DoesNotAllocate(t *testing.T) {
	ip, salt := netip.MustParseAddr("2001:db8::1"), []byte("0123456789abcdef0123456789abcdef")
	if n := testing.AllocsPerRun(100, func() { IPKey(ip, salt) }); n != 0 {
		t.Errorf("%v allocations per call", n)
	}
}

func BenchmarkBotIPsTier(b *testing.B) {
	m := NewBotIPs(DefaultBotIPCapacity)
	now := time.Now()
	keys := make([][16]byte, 4096)
	for i := range keys {
		keys[i] = IPKey(netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}), nil)
		if i%2 == 0 {
			m.Suspect(keys[i], now)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.Tier(keys[i%len(keys)], now)
		i++
	}
}

func BenchmarkIPKey(b *testing.B) {
	ip, salt := netip.MustParseAddr("203.0.113.9"), []byte("0123456789abcdef0123456789abcdef")
	b.ReportAllocs()
	for b.Loop() {
		IPKey(ip, salt)
	}
}

func TestIPKeyer_AgreesWithIPKeyAcrossSalts(t *testing.T) {
	var k IPKeyer
	salts := [][]byte{[]byte("0123456789abcdef0123456789abcdef"), []byte("another salt"), make([]byte, 100)}
	ips := []string{"192.0.2.1", "::ffff:192.0.2.1", "2001:db8::1", "2001:db8::2:1", "2001:db8:0:1::1"}
	for _, salt := range salts {
		for _, s := range ips {
			ip := netip.MustParseAddr(s)
			if got, want := k.Key(ip, salt), IPKey(ip, salt); got != want {
				t.Errorf("salt %q ip %s: %x, want %x", salt, s, got, want)
			}
		}
		if got, want := k.Key(netip.Addr{}, salt), IPKey(netip.Addr{}, salt); got != want {
			t.Errorf("invalid addr: %x, want %x", got, want)
		}
	}
	ip := netip.MustParseAddr("192.0.2.1")
	if n := testing.AllocsPerRun(100, func() { k.Key(ip, salts[0]) }); n != 0 {
		t.Errorf("%v allocations per key", n)
	}
}

func BenchmarkIPKeyer(b *testing.B) {
	var k IPKeyer
	ip := netip.MustParseAddr("81.2.69.142")
	salt := []byte("0123456789abcdef0123456789abcdef")
	b.ReportAllocs()
	for b.Loop() {
		k.Key(ip, salt)
	}
}
