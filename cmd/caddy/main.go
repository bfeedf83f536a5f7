// Command caddy is Caddy with the Echelon module compiled in.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/echelon-analytics/caddy-echelon"
)

func main() {
	caddycmd.Main()
}
