//go:build !unix

package main

import (
	"errors"
	"net"
)

// newPollReader is Unix-only: elsewhere use -load-wait block.
func newPollReader(net.Conn, *int64) (*pollReader, error) {
	return nil, errors.New("poll: only on Unix; use -load-wait block")
}

type pollReader struct{}

func (*pollReader) Read([]byte) (int, error) { return 0, errors.New("poll: only on Unix") }
