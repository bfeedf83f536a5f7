package handlers

import (
	"regexp"
	"strings"
)

// maxConsentCSS is the cut of a site's consent CSS (docs/tracker.md,
// Consent banner).
const maxConsentCSS = 4096

const blockedCSS = "/* blocked */"

// consentCSSRules are the sanitizer's replacements, applied in order after
// backslashes and comments are gone: the resource-loading
// functions through the next "(" (any characters between), the at-rules
// that load or define resources, and the script hooks, each with spaces
// allowed before its "(" or ":". Names start at a word boundary. The last
// rule blocks "url(" and "expression(" wherever they are left, also inside
// a longer name ("xurl("), which CSS would not load but which the
// sanitizer's promise (no url(, @import or expression( survives) covers
// literally.
var consentCSSRules = []*regexp.Regexp{
	regexp.MustCompile(`(?i)(?:-webkit-image-set|\b(?:url|image-set|image|element|paint))[^(]*\(`),
	regexp.MustCompile(`(?i)@(?:import|font-face|keyframes)`),
	regexp.MustCompile(`(?i)\bexpression\s*\(|\b(?:behavior|javascript)\s*:|-moz-binding\s*:`),
	regexp.MustCompile(`(?i)(?:url|expression)\s*\(`),
}

// cssComment matches a CSS comment, or an unterminated one to the end.
var cssComment = regexp.MustCompile(`(?s)/\*.*?(?:\*/|$)`)

// SanitizeConsentCSS cleans a site's consent banner CSS: cut to 4096
// characters, backslashes (escapes) and comments removed, then the rules
// above replaced by "/* blocked */". The result cannot load a resource or
// run script; "" stays "".
func SanitizeConsentCSS(css string) string {
	css = truncateRunes(validUTF8(css), maxConsentCSS)
	css = strings.ReplaceAll(css, `\`, "")
	css = cssComment.ReplaceAllString(css, "")
	for _, re := range consentCSSRules {
		css = re.ReplaceAllString(css, blockedCSS)
	}
	return css
}
