package scoring

import (
	"strings"
	"testing"
	"unsafe"
)

func TestClassifyReferrer_OriginAndClass(t *testing.T) {
	const unknown = "direct_or_unknown"
	tests := []struct {
		name, raw, origin string
		class             ReferrerClass
	}{
		{"google search", "https://www.google.com/search?q=caddy", "https://www.google.com", "search"},
		{"www stripped for class only", "https://www.reddit.com/r/golang/", "https://www.reddit.com", "social"},
		{"country google", "https://www.google.co.uk/", "https://www.google.co.uk", "search"},
		{"unlisted google tld", "https://www.google.ca/", "https://www.google.ca", unknown},
		{"subdomain of search engine", "https://news.google.com/articles/x", "https://news.google.com", "search"},
		{"ai subdomain wins over its parent", "https://gemini.google.com/app", "https://gemini.google.com", "ai"},
		{"ai exact", "https://chatgpt.com/", "https://chatgpt.com", "ai"},
		{"ai multi-label domain", "https://chat.openai.com/c/123", "https://chat.openai.com", "ai"},
		{"parent of listed ai domain is not ai", "https://openai.com/", "https://openai.com", unknown},
		{"social short domain", "https://t.co/abc", "https://t.co", "social"},
		{"suffix without dot is not a subdomain", "https://notx.com/", "https://notx.com", unknown},
		{"lookalike domain", "https://google.com.evil.example/", "https://google.com.evil.example", unknown},
		{"old reddit subdomain", "https://old.reddit.com/", "https://old.reddit.com", "social"},
		{"mobile facebook", "http://m.facebook.com/story", "http://m.facebook.com", "social"},
		{"yandex ru", "https://yandex.ru/search/?text=x", "https://yandex.ru", "search"},
		{"upper case scheme and host", "HTTPS://WWW.Bing.COM/search", "https://www.bing.com", "search"},
		{"trailing dot host", "https://duckduckgo.com./", "https://duckduckgo.com.", "search"},
		{"custom port kept", "http://example.com:8080/page", "http://example.com:8080", unknown},
		{"default https port dropped", "https://example.com:443/", "https://example.com", unknown},
		{"default http port dropped", "http://example.com:80", "http://example.com", unknown},
		{"http port on https kept", "https://example.com:80/", "https://example.com:80", unknown},
		{"port leading zeros", "https://example.com:08080/", "https://example.com:8080", unknown},
		{"empty port", "https://example.com:/", "https://example.com", unknown},
		{"user info dropped", "https://user:pa@ss@www.google.com/", "https://www.google.com", "search"},
		{"query and fragment end host", "https://bing.com?q=1#x", "https://bing.com", "search"},
		{"ipv6 literal", "http://[2001:DB8::1]:8080/", "http://[2001:db8::1]:8080", unknown},
		{"ipv4", "http://192.0.2.1/x", "http://192.0.2.1", unknown},
		{"surrounding space trimmed", "  https://x.com/home \n", "https://x.com", "social"},
		{"port too large", "https://example.com:65536/", unknown, unknown},
		{"port not numeric", "https://example.com:http/", unknown, unknown},
		{"empty", "", unknown, unknown},
		{"relative path", "/some/page", unknown, unknown},
		{"host only", "www.google.com", unknown, unknown},
		{"javascript scheme", "javascript:alert(1)//https://google.com", unknown, unknown},
		{"ftp scheme", "ftp://files.example.com/", unknown, unknown},
		{"android app referrer", "android-app://com.google.android.gm/", unknown, unknown},
		{"data url", "data:text/html,https://google.com", unknown, unknown},
		{"missing host", "https:///path", unknown, unknown},
		{"space in host", "https://exa mple.com/", unknown, unknown},
		{"unicode host", "https://bücher.de/", unknown, unknown},
		{"percent in host", "https://goo%67le.com/", unknown, unknown},
		{"html in host", "https://<script>/", unknown, unknown},
		{"unclosed ipv6", "http://[::1/", unknown, unknown},
		{"garbage", "\x00\xff::///", unknown, unknown},
		{"direct literal", "direct_or_unknown", unknown, unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			origin, class := ClassifyReferrer(tt.raw)
			if origin != tt.origin || class != tt.class {
				t.Errorf("ClassifyReferrer(%q) = (%q, %q), want (%q, %q)", tt.raw, origin, class, tt.origin, tt.class)
			}
		})
	}
}

func TestClassifyReferrer_EveryListedDomainAndWWW(t *testing.T) {
	for _, d := range referrerDomains {
		for _, host := range []string{d.domain, "www." + d.domain, "a.b." + d.domain} {
			if _, class := ClassifyReferrer("https://" + host + "/"); class != d.class {
				t.Errorf("%s: class %q, want %q", host, class, d.class)
			}
		}
	}
}

func FuzzClassifyReferrer(f *testing.F) {
	f.Add("https://www.google.com/search?q=x")
	f.Add("http://[::1]:0080/")
	f.Add("HTTPS://user@T.CO:443#x")
	f.Add("javascript:alert(1)")
	f.Fuzz(func(t *testing.T, raw string) {
		origin, class := ClassifyReferrer(raw)
		switch class {
		case ReferrerAI, ReferrerSearch, ReferrerSocial, ReferrerUnknown:
		default:
			t.Fatalf("class %q", class)
		}
		if origin == UnknownOrigin {
			if class != ReferrerUnknown {
				t.Fatalf("no origin but class %q", class)
			}
			return
		}
		rest, ok := strings.CutPrefix(origin, "https://")
		if !ok {
			rest, ok = strings.CutPrefix(origin, "http://")
		}
		if !ok || rest == "" || strings.ContainsAny(rest, "/?#@\\ \t\r\n%<>\"'") || len(origin) > 300 {
			t.Fatalf("bad origin %q", origin)
		}
		for i := 0; i < len(origin); i++ {
			if origin[i] >= 0x80 || 'A' <= origin[i] && origin[i] <= 'Z' {
				t.Fatalf("origin %q is not lower-case ASCII", origin)
			}
		}
		// An origin classifies as itself.
		if o2, c2 := ClassifyReferrer(origin); o2 != origin || c2 != class {
			t.Fatalf("ClassifyReferrer(%q) = (%q, %q), want (%q, %q)", origin, o2, c2, origin, class)
		}
	})
}

// TestHostClass_MapAgreesWithTheTableWalk checks the map lookup against the
// ordered walk of referrerDomains for every listed domain, its subdomains
// and near misses.
func TestHostClass_MapAgreesWithTheTableWalk(t *testing.T) {
	for _, d := range referrerDomains {
		for _, h := range []string{d.domain, "www." + d.domain, "a.b." + d.domain, d.domain + ".", "x" + d.domain, "com" + d.domain[len(d.domain)-1:], "gemini." + d.domain} {
			if got, want := hostClass(h), hostClassByWalk(h); got != want {
				t.Errorf("%q: map %q, walk %q", h, got, want)
			}
		}
	}
}

// hostClassByWalk is the ordered table walk that hostClass replaces.
func hostClassByWalk(host string) ReferrerClass {
	h := strings.TrimSuffix(host, ".")
	h = strings.TrimPrefix(h, "www.")
	for _, d := range referrerDomains {
		if h == d.domain || isSubdomain(h, d.domain) {
			return d.class
		}
	}
	return ReferrerUnknown
}

func isSubdomain(host, parent string) bool {
	n := len(host) - len(parent)
	return n > 1 && host[n-1] == '.' && host[n:] == parent
}

// TestClassifyReferrer_LongURLIsNotHeld: the origin of a long referrer is a
// copy, so a record that keeps it does not hold the whole URL.
func TestClassifyReferrer_LongURLIsNotHeld(t *testing.T) {
	raw := "https://news.example/" + strings.Repeat("a", 8<<10)
	origin, _ := ClassifyReferrer(raw)
	p, o := uintptr(unsafe.Pointer(unsafe.StringData(origin))), uintptr(unsafe.Pointer(unsafe.StringData(raw)))
	if origin != "https://news.example" || p >= o && p < o+uintptr(len(raw)) {
		t.Fatalf("origin %q shares the referrer's memory", origin)
	}
}
