package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestDrive_BothWaitModesReadEveryAnswer runs the load loop against a real
// HTTP server that answers like both routes (43 bytes), once sleeping on
// its sockets and once polling them: every answer is read whole, and only
// polling counts empty reads.
func TestDrive_BothWaitModesReadEveryAnswer(t *testing.T) {
	var hits, bad atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.RawQuery, "p=") || r.Header.Get("X-Forwarded-For") == "" {
			bad.Add(1)
		}
		hits.Add(1)
		time.Sleep(200 * time.Microsecond) // the client waits, as on a busy server
		w.Write(make([]byte, pixelLen))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, poll := range []bool{false, true} {
		res := drive(addr, 300*time.Millisecond, 4, newRequests(addr, 64), 0, poll)
		if res.Errors != 0 || res.Non200 != 0 || res.BadBody != 0 {
			t.Fatalf("poll=%v: %+v", poll, res)
		}
		if res.Requests < 100 || res.OK != res.Requests {
			t.Fatalf("poll=%v: %d requests, %d OK; want at least 100, all OK", poll, res.Requests, res.OK)
		}
		if poll != (res.IdlePolls > 0) {
			t.Errorf("poll=%v: %d empty reads", poll, res.IdlePolls)
		}
	}
	srv.Close()
	if bad.Load() != 0 || hits.Load() == 0 {
		t.Errorf("%d of %d requests lacked the beacon query or X-Forwarded-For", bad.Load(), hits.Load())
	}
}
