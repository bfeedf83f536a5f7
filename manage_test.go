package echelon

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/echelon-analytics/caddy-echelon/handlers"
)

// readerFromRecorder is a ResponseRecorder that reports ReadFrom calls.
type readerFromRecorder struct {
	*httptest.ResponseRecorder
	readFrom bool
}

func (r *readerFromRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.readFrom = true
	return io.Copy(r.ResponseRecorder, src)
}

func TestStatusWriter(t *testing.T) {
	under := &readerFromRecorder{ResponseRecorder: httptest.NewRecorder()}
	rec := &statusWriter{}
	rec.ResponseWriter = under
	// A reader without WriteTo, so that io.Copy asks the writer.
	if _, err := io.Copy(rec, struct{ io.Reader }{strings.NewReader("file body")}); err != nil {
		t.Fatal(err)
	}
	if !under.readFrom || under.Body.String() != "file body" || rec.statusOf(nil) != 200 {
		t.Errorf("ReadFrom passed on %v, body %q, status %d", under.readFrom, under.Body, rec.statusOf(nil))
	}
	for _, c := range []struct {
		write int
		err   error
		want  int
	}{
		{0, nil, 200},
		{http.StatusTeapot, nil, 418},
		{0, caddyhttp.Error(http.StatusBadGateway, errors.New("upstream")), 502},
		{0, errors.New("plain"), 500},
		{http.StatusNoContent, errors.New("after the answer"), 204},
	} {
		rec := &statusWriter{}
		rec.ResponseWriter = httptest.NewRecorder()
		if c.write != 0 {
			rec.WriteHeader(http.StatusContinue) // 1xx is not the answer
			rec.WriteHeader(c.write)
		}
		if got := rec.statusOf(c.err); got != c.want {
			t.Errorf("wrote %d, error %v: status %d, want %d", c.write, c.err, got, c.want)
		}
	}
	if http.NewResponseController(rec).Flush() != nil {
		t.Error("flush through the recorder failed")
	}
}

// BenchmarkRequestTiming is the cost /api/stats/vitals adds to every
// request: the status-recording writer, two clock reads and Record, around
// a handler that writes a 43-byte body, against the bare handler in the
// same run.
func BenchmarkRequestTiming(b *testing.B) {
	gif := make([]byte, 43)
	serve := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "image/gif")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(gif)
	}
	w := httptest.NewRecorder()
	b.Run("bare", func(b *testing.B) {
		for b.Loop() {
			w.Body.Reset()
			serve(w)
		}
	})
	stats := handlers.NewRequestStats(time.Now)
	b.Run("timed", func(b *testing.B) {
		for b.Loop() {
			w.Body.Reset()
			start := time.Now()
			rec := statusWriters.Get().(*statusWriter)
			rec.ResponseWriter, rec.status = w, 0
			serve(rec)
			end := time.Now()
			stats.Record("/b.gif", rec.statusOf(nil), end.Sub(start), end)
			rec.ResponseWriter = nil
			statusWriters.Put(rec)
		}
	})
}
