package tracker

import (
	"bytes"
	"math/bits"
	"os"
	"testing"

	"github.com/echelon-analytics/caddy-echelon/tracker/internal/minify"
)

func readSource(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The committed minified scripts are what `go generate ./tracker` makes of
// today's ea.js and solve.js: an edit of the source without regenerating
// fails here.
func TestMinified_MatchesTheSource(t *testing.T) {
	scripts, err := minify.Scripts(readSource(t, "ea.js"), readSource(t, "solve.js"))
	if err != nil {
		t.Fatal(err)
	}
	a := newAssembler(t)
	if len(scripts) != len(a.src) {
		t.Fatalf("the generator makes %d scripts, the assembler loads %d", len(scripts), len(a.src))
	}
	for n, want := range scripts {
		if !bytes.Equal(a.src[n], want) {
			t.Errorf("minified/%s is older than ea.js or solve.js: run go generate ./tracker", minify.File(n))
		}
	}
}

// Bit i of a feature set is the generator's define Features[i], so that a
// site's features pick the script built for them.
func TestMinified_FeatureBitsAreTheDefines(t *testing.T) {
	for bit, name := range map[features]string{featConsent: "SITE_CONSENT", featAnon: "SITE_ANON", featExperiments: "SITE_EXPERIMENTS"} {
		if got := minify.Features[bits.TrailingZeros8(uint8(bit))]; got != name {
			t.Errorf("feature bit %b is %s in the generator, want %s", bit, got, name)
		}
	}
	if len(minify.Features) != bits.Len8(uint8(allFeatures)) {
		t.Errorf("the generator knows %d features, the assembler %d", len(minify.Features), bits.Len8(uint8(allFeatures)))
	}
}
