package scoring

import (
	"strings"
	"testing"
	"unicode/utf8"
)

const chromeWindowsUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"

func TestParseUA_RealWorldAgents(t *testing.T) {
	tests := []struct {
		name, ua             string
		os, browser, version string
	}{
		{"chrome windows 10", chromeWindowsUA,
			"Windows 10/11", "Chrome", "120.0.0.0"},
		{"edge chromium windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
			"Windows 10/11", "Edge", "120.0.2210.91"},
		{"edge legacy", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19045",
			"Windows 10/11", "Edge", "18.19045"},
		{"firefox linux", "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
			"Linux", "Firefox", "121.0"},
		{"firefox ubuntu", "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0",
			"Linux", "Firefox", "115.0"},
		{"safari macos underscores", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
			"macOS 10.15", "Safari", "17.1"},
		{"firefox macos dots", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0",
			"macOS 10.15", "Firefox", "121.0"},
		{"macos 14 reports major only", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
			"macOS 14", "Safari", "17.2"},
		{"macos 11 reports major only", "Mozilla/5.0 (Macintosh; Intel Mac OS X 11_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.0 Safari/605.1.15",
			"macOS 11", "Safari", "14.0"},
		{"macos 10.9", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/49.0.2623.112 Safari/537.36",
			"macOS 10.9", "Chrome", "49.0.2623.112"},
		{"iphone safari", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
			"iOS 17.1", "Safari", "17.1"},
		{"iphone patch version dropped", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1",
			"iOS 17.1", "Safari", "17.1.2"},
		{"ipad safari", "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
			"iOS 16.6", "Safari", "16.6"},
		{"chrome ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
			"iOS 17.1", "Chrome", "120.0.6099.119"},
		{"firefox ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/121.0 Mobile/15E148 Safari/605.1.15",
			"iOS 17.1", "Firefox", "121.0"},
		{"edge ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) EdgiOS/120.0.2210.150 Version/17.0 Mobile/15E148 Safari/604.1",
			"iOS 17.1", "Edge", "120.0.2210.150"},
		{"in-app ios webview has no browser", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
			"iOS 17.1", "", ""},
		{"edge android", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 EdgA/120.0.2210.115",
			"Android 10", "Edge", "120.0.2210.115"},
		{"samsung browser", "Mozilla/5.0 (Linux; Android 13; SM-S908B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
			"Android 13", "Samsung Browser", "23.0"},
		{"uc browser", "Mozilla/5.0 (Linux; U; Android 10; en-US; RMX2185 Build/QP1A.190711.020) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/78.0.3904.108 UCBrowser/13.4.0.1306 Mobile Safari/537.36",
			"Android 10", "UC Browser", "13.4.0.1306"},
		{"opera chromium", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 OPR/105.0.0.0",
			"Windows 10/11", "Opera", "105.0.0.0"},
		{"opera presto windows 7", "Opera/9.80 (Windows NT 6.1; WOW64) Presto/2.12.388 Version/12.18",
			"Windows 7", "Opera", "9.80"},
		{"chrome android 14", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
			"Android 14", "Chrome", "120.0.6099.144"},
		{"android x.y.z keeps x.y", "Mozilla/5.0 (Linux; Android 4.4.2; Nexus 5 Build/KOT49H) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/34.0.1847.114 Mobile Safari/537.36",
			"Android 4.4", "Chrome", "34.0.1847.114"},
		{"android webview is chrome", "Mozilla/5.0 (Linux; Android 12; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36",
			"Android 12", "Chrome", "119.0.6045.163"},
		{"chromeos", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			"ChromeOS", "Chrome", "120.0.0.0"},
		{"firefox windows 7", "Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:109.0) Gecko/20100101 Firefox/115.0",
			"Windows 7", "Firefox", "115.0"},
		{"chrome windows 8.1", "Mozilla/5.0 (Windows NT 6.3; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36",
			"Windows 8.1", "Chrome", "109.0.0.0"},
		{"windows 8 keeps nt version", "Mozilla/5.0 (Windows NT 6.2; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/49.0.2623.112 Safari/537.36",
			"Windows NT 6.2", "Chrome", "49.0.2623.112"},
		{"internet explorer is an unknown browser", "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
			"Windows 10/11", "", ""},
		{"headless chrome still names chrome", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.28 Safari/537.36",
			"Linux", "Chrome", "120.0.6099.28"},
		{"googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
			"", "", ""},
		{"curl", "curl/8.4.0", "", "", ""},
		{"token without version is skipped", "Chrome/ Firefox/12.", "", "Firefox", "12"},
		{"safari needs the word safari", "Version/17.1 Mobile/15E148", "", "", ""},
		{"empty", "", "", "", ""},
		{"garbage", "\x00\xff\xfe;;//((", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := UserAgent{OS: tt.os, Browser: tt.browser, BrowserVersion: tt.version}
			if got := ParseUA(tt.ua); got != want {
				t.Errorf("ParseUA(%q)\n got %+v\nwant %+v", tt.ua, got, want)
			}
		})
	}
}

func TestDeviceFromScreen_Thresholds(t *testing.T) {
	tests := []struct {
		sw   int
		want string
	}{
		{-1, ""}, {0, ""}, {1, "mobile"}, {767, "mobile"}, {768, "tablet"},
		{1024, "tablet"}, {1025, "desktop"}, {3840, "desktop"},
	}
	for _, tt := range tests {
		if got := DeviceFromScreen(tt.sw); got != tt.want {
			t.Errorf("DeviceFromScreen(%d) = %q, want %q", tt.sw, got, tt.want)
		}
	}
}

func TestDeviceFromUA_ClientHintThenWords(t *testing.T) {
	iphone := "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)"
	tests := []struct {
		name, ua, hint, want string
	}{
		{"hint mobile wins over desktop ua", chromeWindowsUA, "?1", "mobile"},
		{"hint desktop wins over phone ua", iphone, "?0", "desktop"},
		{"iphone", iphone, "", "mobile"},
		{"ipad is mobile not tablet", "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X)", "", "mobile"},
		{"android any case", "foo ANDROID bar", "", "mobile"},
		{"mobile word", "Something Mobile/15E148", "", "mobile"},
		{"desktop chrome", chromeWindowsUA, "", "desktop"},
		{"unknown hint falls back to ua", iphone, "?2", "mobile"},
		{"empty", "", "", "desktop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DeviceFromUA(tt.ua, tt.hint); got != tt.want {
				t.Errorf("DeviceFromUA(%q, %q) = %q, want %q", tt.ua, tt.hint, got, tt.want)
			}
		})
	}
}

var knownBrowsers = map[string]bool{
	"": true, "Edge": true, "Opera": true, "Samsung Browser": true,
	"UC Browser": true, "Chrome": true, "Firefox": true, "Safari": true,
}

func FuzzParseUA(f *testing.F) {
	f.Add(chromeWindowsUA)
	f.Add("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Version/17.1 Mobile/15E148 Safari/604.1")
	f.Add("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Version/17.1 Safari/605.1.15")
	f.Add("Android 4.4.2 Windows NT 99999999999999.1 Edg/1.")
	f.Fuzz(func(t *testing.T, ua string) {
		u := ParseUA(ua)
		if !knownBrowsers[u.Browser] {
			t.Fatalf("unknown browser name %q", u.Browser)
		}
		if (u.Browser == "") != (u.BrowserVersion == "") {
			t.Fatalf("browser %q with version %q", u.Browser, u.BrowserVersion)
		}
		if v := u.BrowserVersion; v != "" {
			if len(v) > maxVersionLen || !isDigit(v[0]) || strings.HasSuffix(v, ".") ||
				strings.Trim(v, "0123456789.") != "" || !strings.Contains(ua, v) {
				t.Fatalf("bad version %q", v)
			}
		}
		if len(u.OS) > 40 || !utf8.ValidString(u.OS) {
			t.Fatalf("bad OS %q", u.OS)
		}
		if u.OS != "" && !strings.HasPrefix(u.OS, "Windows") && !strings.HasPrefix(u.OS, "macOS") &&
			!strings.HasPrefix(u.OS, "iOS") && !strings.HasPrefix(u.OS, "Android") &&
			u.OS != "ChromeOS" && u.OS != "Linux" {
			t.Fatalf("unknown OS %q", u.OS)
		}
	})
}

func BenchmarkParseUA(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		ParseUA(chromeWindowsUA)
	}
}
