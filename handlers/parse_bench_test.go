package handlers

import "testing"

// BenchmarkParseBeacon is the b.gif query parse of BenchmarkServeBeacon's
// request alone: scan, base64 path and referrer, the plain parameters.
func BenchmarkParseBeacon(b *testing.B) {
	const q = "p=L2Jsb2cvcG9zdD9xPTE&s=shop&_v=1500&sw=1920&sh=1080&sid=0b7c2f0e-1111-4222-8333-444455556666&ref=aHR0cHM6Ly93d3cuZ29vZ2xlLmNvbS8"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseBeacon(q); err != nil {
			b.Fatal(err)
		}
	}
}
