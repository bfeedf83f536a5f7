package scoring

import (
	"net/http"
	"strings"
)

// ReadHeaders fills the inputs that come from request headers other than
// the country and Cloudflare ones: header presence (docs/bot-defense.md; an
// empty value counts as present), the Sec-CH-UA coherence check and
// Sec-Fetch-Dest. ua is the request's User-Agent.
//
// The header map is indexed with canonical keys directly, which is what
// h.Values and h.Get do after canonicalizing their key on every call (a
// cost that showed in the beacon profile).
func (in *Input) ReadHeaders(h http.Header, ua string, brands Brands) {
	in.HasAcceptLanguage = len(h["Accept-Language"]) > 0
	in.HasSecCHUA = brands&brandSent != 0
	in.HasSecFetchSite = len(h["Sec-Fetch-Site"]) > 0
	in.BrandMismatch = brandMismatch(brands, ua)
	in.FetchDest = ""
	if v := h["Sec-Fetch-Dest"]; len(v) > 0 {
		in.FetchDest = strings.TrimSpace(v[0])
	}
}

// Brands are the classes of the brands a request's Sec-CH-UA lists, read
// once per request (BrandsOf): the automation gate and the header
// coherence signal both use them.
type Brands uint8

const (
	brandChromium Brands = 1 << iota // a brand only Chromium-based browsers send
	brandHeadless                    // "HeadlessChrome" and other automation brands
	brandSent                        // Sec-CH-UA was sent at all
)

// BrandsOf reads Sec-CH-UA values (h["Sec-Ch-Ua"]).
func BrandsOf(values []string) Brands {
	var b Brands
	if len(values) > 0 {
		b = brandSent
	}
	for _, v := range values {
		b |= brandClasses(v)
	}
	return b
}

// Automated reports a headless or automation brand: such a hit is dropped
// like a known-bot User-Agent.
func (b Brands) Automated() bool { return b&brandHeadless != 0 }

// automationMarkers name headless and automation builds in a Sec-CH-UA
// brand ("HeadlessChrome", "HeadlessEdge", a driver's own brand); matched
// as substrings, ASCII case ignored. No browser a person uses lists them.
var automationMarkers = [...]string{"headless", "puppeteer", "playwright", "selenium", "webdriver", "phantomjs"}

// hasAutomationMarker reports whether brand contains a marker, in one
// pass: only a position whose letter begins some marker is compared.
func hasAutomationMarker(brand string) bool {
	for i := 0; i < len(brand); i++ {
		c := toLowerASCII(brand[i])
		if c != 'h' && c != 'p' && c != 's' && c != 'w' {
			continue
		}
		for _, m := range automationMarkers {
			if m[0] == c && len(brand)-i >= len(m) && equalFoldASCII(brand[i:i+len(m)], m) {
				return true
			}
		}
	}
	return false
}

// equalFoldASCII reports whether s equals lower, ASCII case ignored.
func equalFoldASCII(s, lower string) bool {
	for j := 0; j < len(lower); j++ {
		if toLowerASCII(s[j]) != lower[j] {
			return false
		}
	}
	return true
}

// chromiumBrands are the engine brands. Every Chromium-based browser (Chrome,
// Edge, Opera, Brave, Vivaldi, Samsung Internet, WebView, Electron) lists
// "Chromium"; Chrome and Edge add their own.
var chromiumBrands = [...]string{"Chromium", "Google Chrome", "Microsoft Edge"}

// brandMismatch reports whether the Sec-CH-UA brands contradict the
// User-Agent. The rule is deliberately narrow, so that no real browser
// trips it, including the ones that send no client hints (Firefox, Safari,
// every iOS browser, old or non-secure-context Chromium):
//
//   - a headless brand is listed (the UA hid it, or the UA check would
//     have dropped the hit);
//   - a Chromium brand is listed but the UA has no "Chrome/" token (a
//     Chromium-driven bot posing as Firefox or Safari; every Chromium UA,
//     reduced or not, says Chrome/);
//   - the UA says "Chrome/" and Sec-CH-UA is sent, but lists no Chromium
//     brand (hand-written or garbled hints, including an empty value).
//
// A missing Sec-CH-UA is never a mismatch here: absence is the headers
// signal's business, and Chrome omits the hints on plain-http pages.
func brandMismatch(classes Brands, ua string) bool {
	if classes&brandSent == 0 {
		return false
	}
	uaChrome := strings.Contains(ua, "Chrome/")
	switch {
	case classes&brandHeadless != 0:
		return true
	case classes&brandChromium != 0:
		return !uaChrome
	}
	return uaChrome
}

// brandClasses scans one Sec-CH-UA value, a structured-header list such as
// `"Not_A Brand";v="8", "Chromium";v="120", "Google Chrome";v="120"`, and
// returns the classes of the brands (the quoted string opening each
// member). GREASE brands ("Not A;Brand" and so on) match no class.
func brandClasses(v string) Brands {
	var classes Brands
	for v != "" {
		v = strings.TrimLeft(v, " \t")
		if v != "" && v[0] == '"' {
			var brand string
			brand, v = quotedString(v[1:])
			classes |= brandClass(brand)
		}
		v = nextMember(v)
	}
	return classes
}

func brandClass(brand string) Brands {
	for _, b := range chromiumBrands {
		if strings.EqualFold(brand, b) {
			return brandChromium
		}
	}
	if hasAutomationMarker(brand) {
		return brandHeadless
	}
	return 0
}

// quotedString returns the body of a quoted string whose opening quote was
// already consumed (escapes left in place) and the text after its closing
// quote.
func quotedString(s string) (body, rest string) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// nextMember skips the rest of a list member (its parameters) and the comma
// after it.
func nextMember(s string) string {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			_, rest := quotedString(s[i+1:])
			return nextMember(rest)
		case ',':
			return s[i+1:]
		}
	}
	return ""
}
