//go:build !unix

package main

import (
	"errors"
	"io"
	"net"
)

// newPollReader is Unix-only: elsewhere use -load-wait block.
func newPollReader(net.Conn, *int64) (io.Reader, error) {
	return nil, errors.New("poll: only on Unix; use -load-wait block")
}
