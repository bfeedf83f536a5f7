package storage

import (
	"strings"
	"testing"
)

func TestValidSiteID_CharsetAndLength(t *testing.T) {
	tests := []struct {
		name, id string
		valid    bool
	}{
		{"simple", "shop", true},
		{"all allowed punctuation", "my-site_2.example", true},
		{"one char", "a", true},
		{"64 chars", strings.Repeat("a", 64), true},
		{"65 chars", strings.Repeat("a", 65), false},
		{"empty", "", false},
		{"space", "my site", false},
		{"slash", "a/b", false},
		{"colon", "a:b", false},
		{"unicode letter", "café", false},
		{"unicode digit", "site٣", false},
		{"32 two-byte runes", strings.Repeat("é", 32), false},
		{"nul", "a\x00", false},
		{"newline", "a\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidSiteID(tt.id); got != tt.valid {
				t.Errorf("ValidSiteID(%q) = %v, want %v", tt.id, got, tt.valid)
			}
			want := "default"
			if tt.valid {
				want = tt.id
			}
			if got := SiteOrDefault(tt.id); got != want {
				t.Errorf("SiteOrDefault(%q) = %q, want %q", tt.id, got, want)
			}
		})
	}
}
