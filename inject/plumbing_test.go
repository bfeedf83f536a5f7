package inject

// Tests of the writer as net/http sees it: interim responses, implicit
// status, io.ReaderFrom, http.ResponseController, errors, a real server.

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestInject_InterimResponsesPassFirst(t *testing.T) {
	in := mustNew(t)
	rec := &spy{ResponseRecorder: httptest.NewRecorder()}
	w, finish := in.Wrap(rec, navigation())
	w.Header().Set("Link", "</app.css>; rel=preload")
	w.WriteHeader(http.StatusEarlyHints)
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("<head></head>"))
	if err := finish(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rec.codes) != "[103 200]" {
		t.Errorf("status codes %v, want [103 200]", rec.codes)
	}
	if !strings.Contains(rec.Body.String(), string(in.tag)) {
		t.Errorf("not tagged: %s", rec.Body)
	}
}

func TestInject_ImplicitOK(t *testing.T) {
	in := mustNew(t)
	u := htmlPage([]byte("<head>"), []byte("</head>"))
	u.status = 0
	if got := through(t, in, u).Body.String(); got != "<head>"+string(in.tag)+"</head>" {
		t.Errorf("body %s", got)
	}
}

func TestInject_ReadFrom(t *testing.T) {
	in := mustNew(t)
	for _, tc := range []struct{ ct, want string }{
		{"text/html", "<head>" + string(in.tag) + "</head>"},
		{"text/css", "<head></head>"},
	} {
		rec := httptest.NewRecorder()
		w, finish := in.Wrap(rec, navigation())
		w.Header().Set("Content-Type", tc.ct)
		n, err := io.Copy(w, strings.NewReader("<head></head>"))
		if err != nil || n != 13 {
			t.Fatalf("%s: io.Copy = %d, %v", tc.ct, n, err)
		}
		if err := finish(); err != nil {
			t.Fatal(err)
		}
		if got := rec.Body.String(); got != tc.want {
			t.Errorf("%s: body %s, want %s", tc.ct, got, tc.want)
		}
	}
}

func TestInject_ResponseController(t *testing.T) {
	in := mustNew(t)
	rec := httptest.NewRecorder()
	w, _ := in.Wrap(rec, navigation())
	if u, ok := w.(interface{ Unwrap() http.ResponseWriter }); !ok || u.Unwrap() != rec {
		t.Fatal("Unwrap does not reach the recorder")
	}
	w.Header().Set("Content-Type", "text/html")
	w.Write([]byte("<p>"))
	if err := http.NewResponseController(w).Flush(); err != nil || !rec.Flushed || rec.Body.String() != "<p>" {
		t.Errorf("Flush through ResponseController: err %v, flushed %v, body %q", err, rec.Flushed, rec.Body)
	}
}

type failing struct{ *httptest.ResponseRecorder }

func (failing) Write([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestInject_WriteErrorsSurface(t *testing.T) {
	in := mustNew(t)
	w, finish := in.Wrap(failing{httptest.NewRecorder()}, navigation())
	w.Header().Set("Content-Type", "text/html")
	w.Write([]byte("<p>x</p>"))
	if _, err := w.Write([]byte("</head>")); err == nil {
		t.Error("Write after a failed write succeeded")
	}
	if err := finish(); err == nil {
		t.Error("finish hid the write error")
	}
}

func TestInject_OverHTTP(t *testing.T) {
	in := mustNew(t)
	page := []byte("<html><head><title>t</title></head><body>x</body></html>")
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww, finish := in.Wrap(w, r)
		if ae := r.Header.Get("Accept-Encoding"); ae != "" {
			t.Errorf("upstream asked for %s", ae)
		}
		ww.Header().Set("Content-Type", "text/html")
		switch r.URL.Path {
		case "/stream":
			ww.Write(page[:28])
			ww.(http.Flusher).Flush()
			<-release
			ww.Write(page[28:])
		case "/sized":
			ww.Header().Set("Content-Length", strconv.Itoa(len(page)))
			ww.Write(page[:10])
			ww.Write(page[10:])
		}
		if err := finish(); err != nil {
			t.Error(err)
		}
	}))
	defer srv.Close()
	want := strings.Replace(string(page), "</head>", string(in.tag)+"</head>", 1)

	get := func(path string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Accept", "text/html") // the client adds Accept-Encoding: gzip
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	res := get("/stream")
	first := make([]byte, 28)
	read := make(chan error, 1)
	go func() { _, err := io.ReadFull(res.Body, first); read <- err }()
	select {
	case err := <-read:
		if err != nil || string(first) != string(page[:28]) {
			t.Fatalf("flushed part: %q, %v", first, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("flushed bytes never arrived")
	}
	close(release)
	rest, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if got := string(first) + string(rest); got != want {
		t.Errorf("streamed page %s, want %s", got, want)
	}

	res = get("/sized")
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != want || res.ContentLength != int64(len(want)) || len(res.TransferEncoding) > 0 {
		t.Errorf("sized page: Content-Length %d, Transfer-Encoding %v, body %s", res.ContentLength, res.TransferEncoding, body)
	}
}
