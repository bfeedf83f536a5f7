// Package tracker holds the ea.js source and assembles the script served to
// browsers.
package tracker

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
)

//go:embed ea.js
var source []byte

// Script is an assembled tracker with its validator.
type Script struct {
	Body []byte
	ETag string
}

// Assemble returns the script to serve. It is computed once at provision
// time; later issues add the PoW module and per-site options here.
func Assemble() Script {
	sum := sha256.Sum256(source)
	return Script{Body: source, ETag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}
