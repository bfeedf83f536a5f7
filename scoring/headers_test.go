package scoring

import (
	"net/http"
	"testing"
)

const (
	chromeBrands  = `"Not_A Brand";v="8", "Chromium";v="120", "Google Chrome";v="120"`
	edgeBrands    = `"Not_A Brand";v="8", "Chromium";v="120", "Microsoft Edge";v="120"`
	firefoxUA     = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
	safariUA      = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"
	chromeIOSUA   = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1"
	edgeUA        = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91"
	samsungUA     = "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36"
	webViewUA     = "Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230805.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.43 Mobile Safari/537.36"
	legacyEdgeUA  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19045"
	headlessBrand = `"Not_A Brand";v="8", "Chromium";v="120", "HeadlessChrome";v="120"`
)

func TestBrandMismatch_RealBrowsersCohere(t *testing.T) {
	for _, tc := range []struct {
		name   string
		brands []string // nil: the header is absent
		ua     string
	}{
		{"chrome", []string{chromeBrands}, chromeWindowsUA},
		{"edge", []string{edgeBrands}, edgeUA},
		{"opera", []string{`"Opera";v="106", "Not:A-Brand";v="99", "Chromium";v="120"`}, chromeWindowsUA + " OPR/106.0.0.0"},
		{"brave", []string{`"Not_A Brand";v="8", "Chromium";v="120", "Brave";v="120"`}, chromeWindowsUA},
		{"samsung internet", []string{`"Not_A Brand";v="8", "Chromium";v="115", "Samsung Internet";v="23.0"`}, samsungUA},
		{"android webview", []string{`"Android WebView";v="120", "Chromium";v="120", "Not?A_Brand";v="24"`}, webViewUA},
		{"chrome 89, leading-space GREASE", []string{`" Not A;Brand";v="99", "Chromium";v="89", "Google Chrome";v="89"`}, chromeWindowsUA},
		{"brands split over two header lines", []string{`"Not_A Brand";v="8"`, `"Chromium";v="120"`}, chromeWindowsUA},
		{"firefox sends no hints", nil, firefoxUA},
		{"safari sends no hints", nil, safariUA},
		{"chrome on iOS sends no hints", nil, chromeIOSUA},
		{"chrome on plain http sends no hints", nil, chromeWindowsUA},
		{"legacy edge sends no hints", nil, legacyEdgeUA},
		{"no UA, no hints", nil, ""},
	} {
		if brandMismatch(BrandsOf(tc.brands), tc.ua) {
			t.Errorf("%s: flagged as a mismatch", tc.name)
		}
	}
}

func TestBrandMismatch_Contradictions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		brands []string
		ua     string
	}{
		{"chrome brands, firefox UA", []string{chromeBrands}, firefoxUA},
		{"chrome brands, safari UA", []string{chromeBrands}, safariUA},
		{"edge brand only, safari UA", []string{`"Microsoft Edge";v="120"`}, safariUA},
		{"chrome brands, empty UA", []string{chromeBrands}, ""},
		{"chrome UA, empty hints", []string{""}, chromeWindowsUA},
		{"chrome UA, GREASE only", []string{`"Not_A Brand";v="8"`}, chromeWindowsUA},
		{"chrome UA, firefox brand", []string{`"Firefox";v="121"`}, chromeWindowsUA},
		{"chrome UA, garbled hints", []string{`Chromium; v=120`}, chromeWindowsUA},
		{"headless brand behind a chrome UA", []string{headlessBrand}, chromeWindowsUA},
		{"headless brand, any case", []string{`"headlesschrome";v="120"`}, chromeWindowsUA},
	} {
		if !brandMismatch(BrandsOf(tc.brands), tc.ua) {
			t.Errorf("%s: not flagged", tc.name)
		}
	}
}

func TestBrandClasses_QuotedCommasAndEscapes(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want Brands
	}{
		{`"A,B";v="1", "Chromium";v="2"`, brandChromium},   // comma inside a brand
		{`"x\"y";v="1,2", "Google Chrome"`, brandChromium}, // escaped quote, comma in a parameter
		{`"Chromium`, brandChromium},                       // unterminated
		{`Chromium, "Not A;Brand"`, 0},                     // a token, not a string
		{``, 0},
		{`"HeadlessChrome";v="1","Chromium";v="1"`, brandChromium | brandHeadless},
	} {
		if got := brandClasses(tc.v); got != tc.want {
			t.Errorf("brandClasses(%q) = %b, want %b", tc.v, got, tc.want)
		}
	}
}

func TestReadHeaders_FillsPresenceCoherenceAndFetchDest(t *testing.T) {
	h := http.Header{}
	h.Set("Accept-Language", "")
	h.Set("Sec-CH-UA", chromeBrands)
	h.Set("Sec-Fetch-Dest", " image ")
	var in Input
	in.ReadHeaders(h, firefoxUA, BrandsOf(h["Sec-Ch-Ua"]))
	want := Input{HasAcceptLanguage: true, HasSecCHUA: true, BrandMismatch: true, FetchDest: "image"}
	if in != want {
		t.Errorf("got %+v\nwant %+v", in, want)
	}

	in = Input{HasAcceptLanguage: true, BrandMismatch: true, FetchDest: "x"}
	in.ReadHeaders(http.Header{}, chromeWindowsUA, 0)
	if in != (Input{}) {
		t.Errorf("no headers: got %+v, want every header input reset", in)
	}
}

func BenchmarkReadHeaders(b *testing.B) {
	h := http.Header{}
	h.Set("Accept-Language", "en-US,en;q=0.9")
	h.Set("Sec-CH-UA", chromeBrands)
	h.Set("Sec-Fetch-Site", "cross-site")
	h.Set("Sec-Fetch-Dest", "image")
	b.ReportAllocs()
	var in Input
	for b.Loop() {
		in.ReadHeaders(h, chromeWindowsUA, BrandsOf(h["Sec-Ch-Ua"]))
	}
}

func BenchmarkAutomationBrand(b *testing.B) {
	v := []string{chromeBrands}
	for b.Loop() {
		if BrandsOf(v).Automated() {
			b.Fatal("a browser's brands taken for automation")
		}
	}
}

func TestAutomationBrand(t *testing.T) {
	for _, c := range []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{chromeBrands}, false},
		{[]string{`"Microsoft Edge";v="131", "Chromium";v="131", "Not_A Brand";v="24"`}, false},
		{[]string{`"Not A(Brand";v="8", "Chromium";v="132", "Opera";v="117"`}, false},
		{[]string{`"Chromium";v="131", "HeadlessChrome";v="131"`}, true},
		{[]string{`"headlessedge";v="131"`}, true},
		{[]string{`"Chromium";v="131"`, `"Puppeteer";v="22"`}, true},
		{[]string{`"PLAYWRIGHT";v="1"`}, true},
		{[]string{`"Selenium Grid";v="4"`}, true},
		{[]string{`"x";v="1", "WebDriver";v="2"`}, true},
		{[]string{`"PhantomJS";v="2"`}, true},
		{[]string{`"Samsung Internet";v="26", "Chromium";v="131"`}, false},
		{[]string{`headless, "Chromium";v="1"`}, false}, // not a quoted brand
	} {
		if got := BrandsOf(c.values).Automated(); got != c.want {
			t.Errorf("BrandsOf(%q).Automated() = %v, want %v", c.values, got, c.want)
		}
	}
}

// FuzzSecCHUA feeds arbitrary Sec-CH-UA values to the brand parse: never
// a panic, and a value naming HeadlessChrome as its first quoted brand is
// always automation.
func FuzzSecCHUA(f *testing.F) {
	f.Add(chromeBrands)
	f.Add(`"HeadlessChrome";v="131"`)
	f.Add(`"a\"b";v="1", "Puppeteer`)
	f.Add(`,,,"`)
	f.Fuzz(func(t *testing.T, v string) {
		var in Input
		in.ReadHeaders(http.Header{"Sec-Ch-Ua": {v}}, chromeWindowsUA, BrandsOf([]string{v}))
		auto := BrandsOf([]string{v}).Automated()
		if auto && !in.BrandMismatch {
			t.Fatalf("%q: automation but no mismatch", v)
		}
		if !auto && BrandsOf([]string{`"HeadlessChrome";v="1", ` + v}).Automated() == false {
			t.Fatalf("%q: a leading HeadlessChrome brand not found", v)
		}
	})
}
