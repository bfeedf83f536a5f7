//go:build unix

package main

import (
	"errors"
	"io"
	"net"
	"runtime"
	"syscall"
)

// pollReader reads a TCP connection with non-blocking reads, yielding to
// the other workers between empty ones, so that the load process never
// sleeps in the kernel while it waits (runLoad, -wait poll).
type pollReader struct {
	rc   syscall.RawConn
	idle *int64 // empty reads, the worker's IdlePolls
}

// newPollReader returns a pollReader on c, counting empty reads in *idle.
func newPollReader(c net.Conn, idle *int64) (io.Reader, error) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil, errors.New("poll: not a TCP connection")
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &pollReader{rc: rc, idle: idle}, nil
}

func (p *pollReader) Read(b []byte) (int, error) {
	for {
		var (
			n    int
			rerr error
		)
		// Returning true ends rc.Read after one attempt: the runtime's
		// poller, which would park the goroutine until data arrives, is
		// never asked.
		err := p.rc.Read(func(fd uintptr) bool {
			n, rerr = syscall.Read(int(fd), b)
			return true
		})
		switch {
		case err != nil:
			return 0, err
		case rerr == syscall.EAGAIN || rerr == syscall.EINTR:
			*p.idle++
			runtime.Gosched()
		case rerr != nil:
			return 0, rerr
		case n == 0:
			return 0, io.EOF
		default:
			return n, nil
		}
	}
}
