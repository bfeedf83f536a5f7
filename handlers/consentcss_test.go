package handlers

import (
	"regexp"
	"strings"
	"testing"
)

func TestSanitizeConsentCSS(t *testing.T) {
	cases := []struct{ in, want string }{
		{"div{color:red}", "div{color:red}"},
		{"a{background:url(http://x/y.png)}", "a{background:/* blocked */http://x/y.png)}"},
		{"a{background:URL (x)}", "a{background:/* blocked */x)}"},
		{"a{b:u\\rl(x)}", "a{b:/* blocked */x)}"},
		{"a{b:u/*c*/rl(x)}", "a{b:/* blocked */x)}"},
		{"@import 'x.css';", "/* blocked */ 'x.css';"},
		{"@IMPORT url(x)", "/* blocked */ /* blocked */x)"},
		{"@font-face{src:local(a)}", "/* blocked */{src:local(a)}"},
		{"@keyframes k{}", "/* blocked */ k{}"},
		{"a{width:expression (alert(1))}", "a{width:/* blocked */alert(1))}"},
		{"a{behavior : x}", "a{/* blocked */ x}"},
		{"a{b:javascript:x}", "a{b:/* blocked */x}"},
		{"a{-moz-binding:x}", "a{/* blocked */x}"},
		{"a{b:-webkit-image-set(x 1x)}", "a{b:/* blocked */x 1x)}"},
		{"a{b:image-set(x)}", "a{b:/* blocked */x)}"},
		{"a{b:element(#x)}", "a{b:/* blocked */#x)}"},
		{"a{b:paint(x)}", "a{b:/* blocked */x)}"},
		{".imageless{color:red}", ".imageless{color:red}"}, // no "(" after: kept
		{"a{b:xurl(x)}", "a{b:x/* blocked */x)}"},
		{"/* unterminated url(x)", ""},
		{"a{}/* note */b{}", "a{}b{}"},
		{"", ""},
	}
	for _, c := range cases {
		if got := SanitizeConsentCSS(c.in); got != c.want {
			t.Errorf("SanitizeConsentCSS(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	long := strings.Repeat("é", 5000)
	if got := SanitizeConsentCSS(long); got != strings.Repeat("é", 4096) {
		t.Errorf("a 5000-character input kept %d characters, want 4096", len([]rune(got)))
	}
}

// dangerous matches what must never survive the sanitizer.
var dangerous = regexp.MustCompile(`(?i)url\s*\(|@import|expression\s*\(`)

func FuzzSanitizeConsentCSS(f *testing.F) {
	for _, s := range []string{
		"div{color:red}", "a{background:url(x)}", "@import 'x';", "a{width:expression(1)}",
		"u\\rl(", "u/**/rl(", "ur/*x*/l(", "@im\\port", "@imp/**/ort", "expr/* */ession(",
		"URL\t(", "uRl\n(", "/*", "*/url(", "url/**/(", "@@importimport", "urlurl((", "\\\\url(",
		"ex\\pression(", "@\\import", "a{b:xurl(c)}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := SanitizeConsentCSS(in)
		if loc := dangerous.FindStringIndex(out); loc != nil {
			t.Fatalf("SanitizeConsentCSS(%q) = %q keeps %q", in, out, out[loc[0]:loc[1]])
		}
		if strings.Contains(out, `\`) {
			t.Fatalf("SanitizeConsentCSS(%q) = %q keeps a backslash", in, out)
		}
		if again := SanitizeConsentCSS(out); dangerous.MatchString(again) {
			t.Fatalf("sanitizing twice %q gives %q", in, again)
		}
	})
}
