package echelon

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfile_BuildsLikeCI: the Dockerfile's xcaddy line builds the
// Caddy version go.mod requires, with this module from the build context,
// exactly as bench/xcaddy.sh (run by CI) builds it. There is no Docker
// engine in CI, so this agreement is what makes the image's build tested.
func TestDockerfile_BuildsLikeCI(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	gomod := read("go.mod")
	module := regexp.MustCompile(`(?m)^module (\S+)$`).FindStringSubmatch(gomod)
	caddy := regexp.MustCompile(`(?m)^\s*github\.com/caddyserver/caddy/v2 (v\S+)`).FindStringSubmatch(gomod)
	if module == nil || module[1] != modulePath || caddy == nil {
		t.Fatalf("go.mod: module %v, caddy %v", module, caddy)
	}
	caddyVersion := caddy[1]

	docker := read("Dockerfile")
	arg := regexp.MustCompile(`(?m)^ARG CADDY_VERSION=(\S+)$`).FindStringSubmatch(docker)
	if arg == nil || "v"+arg[1] != caddyVersion {
		t.Errorf("Dockerfile ARG CADDY_VERSION %v, go.mod requires caddy %s", arg, caddyVersion)
	}
	for _, image := range []string{"FROM caddy:${CADDY_VERSION}-builder AS builder", "FROM caddy:${CADDY_VERSION}\n", "COPY --from=builder /usr/bin/caddy /usr/bin/caddy"} {
		if !strings.Contains(docker, image) {
			t.Errorf("Dockerfile lacks %q (Caddy's builder pattern)", image)
		}
	}
	run := regexp.MustCompile(`(?m)^RUN xcaddy build v\$\{CADDY_VERSION\} --with (\S+) --output /usr/bin/caddy$`).FindStringSubmatch(docker)
	if run == nil || run[1] != modulePath+"=." {
		t.Fatalf("Dockerfile's xcaddy line: %v, want --with %s=.", run, modulePath)
	}

	script := read("bench/xcaddy.sh")
	for _, want := range []string{
		`module="` + modulePath + `"`,
		`caddy_version="${CADDY_VERSION:-$(cd "$root" && go list -m -f '{{.Version}}' github.com/caddyserver/caddy/v2)}"`,
		`build "$caddy_version" \`,
		`--with "$module=." \`,
	} {
		if !strings.Contains(script, want) {
			t.Errorf("bench/xcaddy.sh no longer has %q: keep it and the Dockerfile's build line the same", want)
		}
	}
}
