#!/usr/bin/env bash
# Builds Caddy with this module the way users do (xcaddy), then checks that
# the binary lists http.handlers.echelon and adapts examples/Caddyfile.
#
#   bench/xcaddy.sh            # from anywhere inside the repo
#   XCADDY_VERSION=v0.4.5 CADDY_VERSION=v2.11.9 bench/xcaddy.sh
#
# Needs the Go module proxy (or a warm module cache). The binary and the
# adapted JSON go to a temp dir that is removed on exit unless KEEP=1.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
xcaddy_version="${XCADDY_VERSION:-v0.4.5}"
caddy_version="${CADDY_VERSION:-$(cd "$root" && go list -m -f '{{.Version}}' github.com/caddyserver/caddy/v2)}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/echelon-xcaddy.XXXXXX")"
if [[ "${KEEP:-0}" == 1 ]]; then
	echo "keeping $tmp"
else
	trap 'rm -rf "$tmp"' EXIT
fi

cd "$root"
# The module is replaced by this working tree, but xcaddy's `go get` still
# asks for its version list. A proxy that answers 403 instead of 404 for an
# unpublished module (some mirrors do) makes that fatal; with the module's
# own path kept away from the proxy and GOVCS off for it, Go treats it as
# "not found" and takes the replacement. Other modules are unaffected.
module="github.com/echelon-analytics/caddy-echelon"
export GONOPROXY="$(go env GONOPROXY)"; GONOPROXY="${GONOPROXY:+$GONOPROXY,}$module"
export GONOSUMDB="$(go env GONOSUMDB)"; GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}$module"
export GOVCS="$module:off${GOVCS:+,$GOVCS}"

echo "== xcaddy $xcaddy_version build $caddy_version --with github.com/echelon-analytics/caddy-echelon=."
go run "github.com/caddyserver/xcaddy/cmd/xcaddy@$xcaddy_version" build "$caddy_version" \
	--with "$module=." \
	--output "$tmp/caddy"

echo "== $("$tmp/caddy" version)"
echo "== list-modules"
if ! "$tmp/caddy" list-modules | grep -x 'http.handlers.echelon'; then
	echo "FAIL: http.handlers.echelon is not in list-modules" >&2
	exit 1
fi

echo "== adapt examples/Caddyfile"
"$tmp/caddy" adapt --config examples/Caddyfile --adapter caddyfile >"$tmp/caddy.json"
if ! grep -q '"handler":"echelon"' "$tmp/caddy.json"; then
	echo "FAIL: the adapted config has no echelon handler:" >&2
	cat "$tmp/caddy.json" >&2
	exit 1
fi
echo "OK: xcaddy build lists http.handlers.echelon and adapts examples/Caddyfile"
