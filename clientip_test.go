package echelon

import (
	"net/http"
	"testing"
)

// visitorIDs sends one beacon per header set and returns the stored ids and
// countries in order.
func visitorIDs(t *testing.T, dir, site string, hdrs ...http.Header) (ids, countries []string, scores []int) {
	t.Helper()
	for _, h := range hdrs {
		do(t, "GET", baseURL+"/b.gif?"+beaconQuery("/", site, nil), nil, h)
	}
	for _, v := range storedViews(t, dir, site) {
		ids = append(ids, v.VisitorID)
		countries = append(countries, v.CountryCode)
		scores = append(scores, v.BotScore)
	}
	if len(ids) != len(hdrs) {
		t.Fatalf("stored %d views, want %d", len(ids), len(hdrs))
	}
	return ids, countries, scores
}

// The client IP is the socket peer unless trust_proxy is on, and
// then it is Caddy's client_ip, which honours X-Forwarded-For only from
// trusted_proxies.
func TestClientIP_SocketPeerUnlessTrustProxy(t *testing.T) {
	t.Run("trust_proxy off ignores X-Forwarded-For", func(t *testing.T) {
		_, dir := startCaddyTrusting(t, "127.0.0.1/8", classicPoW(""))
		ids, _, _ := visitorIDs(t, dir, "ip1",
			http.Header{"X-Forwarded-For": {"203.0.113.1"}}, http.Header{"X-Forwarded-For": {"203.0.113.2"}})
		if ids[0] != ids[1] {
			t.Errorf("ids %v differ: the forwarded address was used", ids)
		}
	})
	t.Run("trust_proxy on uses Caddy's client_ip from a trusted proxy", func(t *testing.T) {
		_, dir := startCaddyTrusting(t, "127.0.0.1/8", classicPoW("trust_proxy"))
		ids, _, _ := visitorIDs(t, dir, "ip2",
			http.Header{"X-Forwarded-For": {"203.0.113.1"}}, http.Header{"X-Forwarded-For": {"203.0.113.2"}},
			http.Header{"X-Forwarded-For": {"203.0.113.1"}})
		if ids[0] == ids[1] || ids[0] != ids[2] {
			t.Errorf("ids %v: want one id per forwarded address", ids)
		}
	})
	t.Run("trust_proxy on from an untrusted peer", func(t *testing.T) {
		_, dir := startCaddyTrusting(t, "10.9.9.9/32", classicPoW("trust_proxy"))
		ids, _, _ := visitorIDs(t, dir, "ip3",
			http.Header{"X-Forwarded-For": {"203.0.113.1"}}, http.Header{"X-Forwarded-For": {"203.0.113.2"}})
		if ids[0] != ids[1] {
			t.Errorf("ids %v differ: a spoofed X-Forwarded-For was honoured", ids)
		}
	})
}

func TestClientIP_CloudflareHeadersOnlyFromTrustedProxy(t *testing.T) {
	cf := func(ip, country, score string) http.Header {
		return http.Header{"Cf-Connecting-Ip": {ip}, "Cf-Ipcountry": {country}, "Cf-Bot-Score": {score}}
	}
	t.Run("trusted", func(t *testing.T) {
		_, dir := startCaddyTrusting(t, "127.0.0.1/8", classicPoW("behind_cloudflare"))
		ids, countries, scores := visitorIDs(t, dir, "cf1", cf("198.51.100.1", "FI", "90"), cf("198.51.100.2", "de", "2"))
		if ids[0] == ids[1] || countries[0] != "FI" || countries[1] != "DE" || scores[1]-scores[0] != 50 {
			t.Errorf("ids %v countries %v scores %v: want CF-Connecting-IP, CF-IPCountry and cf-bot-score honoured", ids, countries, scores)
		}
	})
	t.Run("untrusted", func(t *testing.T) {
		_, dir := startCaddyTrusting(t, "10.9.9.9/32", classicPoW("behind_cloudflare"))
		ids, countries, scores := visitorIDs(t, dir, "cf2", cf("198.51.100.1", "FI", "1"), cf("198.51.100.2", "DE", "1"))
		if ids[0] != ids[1] || countries[0] != "" || scores[0] != scores[1] {
			t.Errorf("ids %v countries %v scores %v: Cloudflare headers from an untrusted peer must be ignored", ids, countries, scores)
		}
	})
}
