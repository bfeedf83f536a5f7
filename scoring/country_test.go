package scoring

import (
	"net/http"
	"testing"
)

func TestCountry_TrustFlagsAndPreference(t *testing.T) {
	all := http.Header{}
	all.Set("CF-IPCountry", "de")
	all.Set("CloudFront-Viewer-Country", "FR")
	all.Set("X-Country-Code", "nl")

	tests := []struct {
		name                 string
		h                    http.Header
		cloudflare, trustGeo bool
		want                 string
	}{
		{"no flags ignores every header", all, false, false, ""},
		{"cloudflare reads cf upper-cased", all, true, false, "DE"},
		{"cloudflare wins over geo headers", all, true, true, "DE"},
		{"trust geo reads cloudfront first", all, false, true, "FR"},
		{"cloudflare alone ignores cloudfront", hdr("CloudFront-Viewer-Country", "FR"), true, false, ""},
		{"trust geo alone ignores cf", hdr("CF-IPCountry", "DE"), false, true, ""},
		{"x-country-code last", hdr("X-Country-Code", " gb "), false, true, "GB"},
		{"cf XX falls through", hdr("CF-IPCountry", "XX", "X-Country-Code", "SE"), true, true, "SE"},
		{"cf T1 (tor) falls through", hdr("CF-IPCountry", "T1", "CloudFront-Viewer-Country", "US"), true, true, "US"},
		{"cf XX alone", hdr("CF-IPCountry", "XX"), true, true, ""},
		{"XX from any source is unknown", hdr("X-Country-Code", "xx"), false, true, ""},
		{"three letters rejected", hdr("CloudFront-Viewer-Country", "USA", "X-Country-Code", "CA"), false, true, "CA"},
		{"digits rejected", hdr("X-Country-Code", "12"), false, true, ""},
		{"non-ascii rejected", hdr("X-Country-Code", "é"), false, true, ""},
		{"empty header", hdr("CF-IPCountry", ""), true, true, ""},
		{"no headers", http.Header{}, true, true, ""},
		{"nil header", nil, true, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Country(tt.h, tt.cloudflare, tt.trustGeo); got != tt.want {
				t.Errorf("Country(%v, cf=%v, geo=%v) = %q, want %q", tt.h, tt.cloudflare, tt.trustGeo, got, tt.want)
			}
		})
	}
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}
