package scoring

// DefaultSite is the site id used when a request names none or an invalid
// one: invalid ids are replaced, not rejected (docs/tracker.md).
const DefaultSite = "default"

const maxSiteIDLen = 64

// ValidSiteID reports whether s matches ^[A-Za-z0-9._-]{1,64}$.
func ValidSiteID(s string) bool {
	if len(s) == 0 || len(s) > maxSiteIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// SiteOrDefault returns s when it is a valid site id, else DefaultSite.
func SiteOrDefault(s string) string {
	if ValidSiteID(s) {
		return s
	}
	return DefaultSite
}
