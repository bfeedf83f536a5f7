package scoring

import "strings"

// UserAgent is what the dashboards show about a browser. An empty field
// means unknown.
type UserAgent struct {
	OS             string // e.g. "Windows 10/11", "macOS 10.15", "iOS 17.1"
	Browser        string // e.g. "Chrome", "Samsung Browser"
	BrowserVersion string // full dotted number, e.g. "120.0.6099.119"
}

// versionForm says how the text after an OS token becomes part of the name.
type versionForm uint8

const (
	verNone       versionForm = iota // the token alone names the OS
	verMajorMinor                    // "x" or "x.y" from x[._]y[...]; rule skipped without digits
	verWindowsNT                     // dotted NT version, mapped by windowsNames
	verMac                           // "macOS N" from major >= 11, else "macOS x.y"
)

// osRules are in order of precedence: of the tokens present in a UA (with
// a version after them, when their form needs one), the earliest rule
// names the OS. iOS comes before macOS because iOS UAs say "like Mac OS X",
// and Android before Linux because Android UAs say "Linux".
var osRules = [...]struct {
	token string
	name  string
	form  versionForm
}{
	{"iPhone OS ", "iOS", verMajorMinor},
	{"CPU OS ", "iOS", verMajorMinor}, // iPad
	{"iPhone", "iOS", verNone},
	{"iPad", "iOS", verNone},
	{"iPod", "iOS", verNone},
	{"Android ", "Android", verMajorMinor},
	{"Android", "Android", verNone},
	{"Windows NT ", "Windows", verWindowsNT},
	{"Windows", "Windows", verNone},
	{"Mac OS X ", "macOS", verMac},
	{"Macintosh", "macOS", verNone},
	{"CrOS", "ChromeOS", verNone},
	{"Linux", "Linux", verNone},
}

// windowsNames maps the NT versions we name; any other version is
// shown as "Windows NT <v>". NT 10.0 is sent by both Windows 10 and 11.
var windowsNames = [...]struct{ nt, name string }{
	{"10.0", "Windows 10/11"},
	{"6.3", "Windows 8.1"},
	{"6.1", "Windows 7"},
}

// browserRules are in order of precedence, like osRules: Chromium
// derivatives say "Chrome/" and almost everyone says "Safari", so the
// specific brands come first. A token counts only when a version follows
// it directly. When after is set, that word must also appear after the
// version (Safari's "Version/x ... Safari").
var browserRules = [...]struct {
	name   string
	tokens []string
	after  string
}{
	{"Edge", []string{"Edg/", "Edge/", "EdgA/", "EdgiOS/"}, ""},
	{"Opera", []string{"OPR/", "Opera/"}, ""},
	{"Samsung Browser", []string{"SamsungBrowser/"}, ""},
	{"UC Browser", []string{"UCBrowser/"}, ""},
	{"Chrome", []string{"Chrome/", "CriOS/"}, ""},
	{"Firefox", []string{"Firefox/", "FxiOS/"}, ""},
	{"Safari", []string{"Version/"}, "Safari"},
}

// maxVersionLen bounds a stored browser version; real ones are < 20 bytes.
const maxVersionLen = 32

// maxNumberLen bounds one numeric component of an OS version.
const maxNumberLen = 6

// uaToken is one token of osRules or browserRules.
type uaToken struct {
	text string
	os   bool  // an osRules token, else a browserRules token
	rule uint8 // index into osRules or browserRules: lower wins
}

// uaTokenIndex lets ParseUA look for every token in one pass over the UA:
// a bit per two-byte token prefix rejects most positions with one load,
// and the tokens are listed by first byte for the rest. All tokens are at
// least two bytes long.
type uaTokenIndex struct {
	pairs   [1 << 16 / 64]uint64
	byFirst [256][]uaToken
}

func (x *uaTokenIndex) add(t uaToken) {
	p := pairKey(t.text[0], t.text[1])
	x.pairs[p/64] |= 1 << (p % 64)
	x.byFirst[t.text[0]] = append(x.byFirst[t.text[0]], t)
}

func pairKey(a, b byte) uint { return uint(a)<<8 | uint(b) }

// uaTokens is built once from the rule tables and only read.
var uaTokens = func() *uaTokenIndex {
	x := new(uaTokenIndex)
	for i, r := range osRules {
		x.add(uaToken{r.token, true, uint8(i)})
	}
	for i, r := range browserRules {
		for _, tok := range r.tokens {
			x.add(uaToken{tok, false, uint8(i)})
		}
	}
	return x
}()

// ParseUA names the OS and browser of a User-Agent header as they are
// stored and shown.
//
// This is a small parser of our own rather than a UA library because the
// stored strings are fixed ("Windows 10/11", "macOS 10.15" for
// "Mac OS X 10_15_7", "Samsung Browser", the full dotted version) and their
// precedence (Edge before Opera before Chrome, iOS before macOS). A library
// names and orders things its own way and changes between releases; mapping
// its output back would need a table as long as the one here, and stored
// rows would stop agreeing with older ones.
//
// Both rule lists are data, matched case-sensitively as substrings. One
// loop walks the UA once and, at each byte, tries only the tokens starting
// with that byte; for each kind the rule earliest in its table wins, and
// within a rule the leftmost usable occurrence.
// There is no regexp; only OS names that need assembling ("iOS 17.1",
// "macOS 14") allocate. BrowserVersion is a substring of ua.
func ParseUA(ua string) UserAgent {
	bestOS, bestBrowser := len(osRules), len(browserRules)
	var osRest, version string
	idx := uaTokens
	for i := 0; i+1 < len(ua) && (bestOS > 0 || bestBrowser > 0); i++ {
		if p := pairKey(ua[i], ua[i+1]); idx.pairs[p/64]&(1<<(p%64)) == 0 {
			continue
		}
		for _, t := range idx.byFirst[ua[i]] {
			r := int(t.rule)
			if t.os && r >= bestOS || !t.os && r >= bestBrowser || !strings.HasPrefix(ua[i:], t.text) {
				continue
			}
			rest := ua[i+len(t.text):]
			if t.os {
				if osRules[r].form == verNone || leadingDigits(rest) != "" {
					bestOS, osRest = r, rest
				}
				continue
			}
			v := dottedNumber(rest, maxVersionLen)
			if v != "" && (browserRules[r].after == "" || strings.Contains(rest[len(v):], browserRules[r].after)) {
				bestBrowser, version = r, v
			}
		}
	}
	var u UserAgent
	if bestOS < len(osRules) {
		u.OS = osName(bestOS, osRest)
	}
	if bestBrowser < len(browserRules) {
		// A copy: the version must not hold the memory of the whole UA.
		u.Browser, u.BrowserVersion = browserRules[bestBrowser].name, strings.Clone(version)
	}
	return u
}

// osName formats osRules[r] given the text after its token, which starts
// with a digit unless the rule takes no version.
func osName(r int, rest string) string {
	name := osRules[r].name
	switch osRules[r].form {
	case verMajorMinor:
		major, minor, _ := versionParts(rest)
		if minor == "" {
			return name + " " + major
		}
		return name + " " + major + "." + minor
	case verWindowsNT:
		v := dottedNumber(rest, maxNumberLen*2)
		for _, w := range windowsNames {
			if w.nt == v {
				return w.name
			}
		}
		return "Windows NT " + v
	case verMac:
		major, minor, n := versionParts(rest)
		if n >= 11 || minor == "" {
			return "macOS " + major
		}
		return "macOS " + major + "." + minor
	}
	return name
}

// dottedNumber returns the leading run of digits and dots of s (at most max
// bytes) when it starts with a digit, without trailing dots.
func dottedNumber(s string, max int) string {
	n := 0
	for n < len(s) && n < max && (isDigit(s[n]) || s[n] == '.') {
		n++
	}
	if n == 0 || !isDigit(s[0]) {
		return ""
	}
	return strings.TrimRight(s[:n], ".")
}

// versionParts reads "x", "x.y" or "x_y" (anything after y is ignored) and
// returns the two components and the value of x.
func versionParts(s string) (major, minor string, majorValue int) {
	major = leadingDigits(s)
	if major == "" {
		return "", "", 0
	}
	for i := 0; i < len(major); i++ {
		majorValue = majorValue*10 + int(major[i]-'0')
	}
	rest := s[len(major):]
	for len(rest) > 0 && isDigit(rest[0]) { // digits past maxNumberLen
		rest = rest[1:]
	}
	if len(rest) > 1 && (rest[0] == '.' || rest[0] == '_') {
		minor = leadingDigits(rest[1:])
	}
	return major, minor, majorValue
}

func leadingDigits(s string) string {
	n := 0
	for n < len(s) && n < maxNumberLen && isDigit(s[n]) {
		n++
	}
	return s[:n]
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// Device classes stored in device_type.
const (
	DeviceMobile  = "mobile"
	DeviceTablet  = "tablet"
	DeviceDesktop = "desktop"
)

// DeviceFromScreen classifies a pageview by the screen width in CSS pixels
// the tracker sent. A missing or non-positive width is unknown ("").
func DeviceFromScreen(sw int) string {
	switch {
	case sw <= 0:
		return ""
	case sw < 768:
		return DeviceMobile
	case sw <= 1024:
		return DeviceTablet
	default:
		return DeviceDesktop
	}
}

// mobileUAWords mark a mobile device when Sec-CH-UA-Mobile is absent; they
// are matched ignoring ASCII case.
var mobileUAWords = [...]string{"mobile", "android", "iphone", "ipad"}

// DeviceFromUA classifies an event request: the Sec-CH-UA-Mobile client
// hint decides when it is "?1" or "?0", otherwise the UA words above. It
// never answers tablet.
func DeviceFromUA(ua, secCHUAMobile string) string {
	switch strings.TrimSpace(secCHUAMobile) {
	case "?1":
		return DeviceMobile
	case "?0":
		return DeviceDesktop
	}
	for _, w := range mobileUAWords {
		if containsFoldASCII(ua, w) {
			return DeviceMobile
		}
	}
	return DeviceDesktop
}

// containsFoldASCII reports whether s contains lower, which must be lower
// case ASCII, ignoring ASCII case in s.
func containsFoldASCII(s, lower string) bool {
	if lower == "" {
		return true
	}
	for i := 0; i+len(lower) <= len(s); i++ {
		j := 0
		for j < len(lower) && toLowerASCII(s[i+j]) == lower[j] {
			j++
		}
		if j == len(lower) {
			return true
		}
	}
	return false
}

func toLowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
