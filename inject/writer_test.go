package inject

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// upstream is what the next handler answers.
type upstream struct {
	status int // 0: no explicit WriteHeader
	header http.Header
	chunks [][]byte
	flush  bool // Flush after every chunk
}

func (u upstream) serve(w http.ResponseWriter) {
	for k, v := range u.header {
		w.Header()[k] = v
	}
	if u.status != 0 {
		w.WriteHeader(u.status)
	}
	for _, c := range u.chunks {
		w.Write(c)
		if u.flush {
			w.(http.Flusher).Flush()
		}
	}
}

func htmlPage(chunks ...[]byte) upstream {
	return upstream{status: 200, header: http.Header{"Content-Type": {"text/html; charset=utf-8"}}, chunks: chunks}
}

func navigation() *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Accept", "text/html")
	r.Header.Set("Accept-Encoding", "gzip")
	return r
}

// through runs u behind in for a navigation request.
func through(t testing.TB, in *Injector, u upstream) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	w, finish := in.Wrap(rec, navigation())
	u.serve(w)
	if err := finish(); err != nil {
		t.Fatalf("finish: %v", err)
	}
	return rec
}

// chunkings cuts page every way the tests care about: whole, byte by
// byte, and in two at every offset.
func chunkings(page []byte) map[string][][]byte {
	c := map[string][][]byte{"whole": {page}}
	var bytewise [][]byte
	for i := range page {
		bytewise = append(bytewise, page[i:i+1])
	}
	c["1-byte"] = bytewise
	for i := 0; i <= len(page); i++ {
		c["split at "+strconv.Itoa(i)] = [][]byte{page[:i], page[i:]}
	}
	return c
}

func TestInject_Pages(t *testing.T) {
	in := mustNew(t)
	for _, tc := range []struct {
		name, page, want string // {tag} in want stands for the tag
	}{
		{"before </head>",
			"<html><head><title>x</title></head><body>hi</body></html>",
			"<html><head><title>x</title>{tag}</head><body>hi</body></html>"},
		{"uppercase </HEAD>",
			"<HTML><HEAD><TITLE>x</TITLE></HEAD><BODY>hi</BODY></HTML>",
			"<HTML><HEAD><TITLE>x</TITLE>{tag}</HEAD><BODY>hi</BODY></HTML>"},
		{"mixed case and space </hEaD >",
			"<head><meta charset=utf-8></hEaD ><body></body>",
			"<head><meta charset=utf-8>{tag}</hEaD ><body></body>"},
		{"newline ends the name",
			"<head></head\n><body></body>",
			"<head>{tag}</head\n><body></body>"},
		{"self-closing </head/>",
			"<head></head/><body></body>",
			"<head>{tag}</head/><body></body>"},
		{"first </head> wins",
			"<head></head><body><pre>&lt;/head&gt;</pre></head></body>",
			"<head>{tag}</head><body><pre>&lt;/head&gt;</pre></head></body>"},
		{"</header> is not </head>",
			"<body><header>h</header><p>x</p></body></html>",
			"<body><header>h</header><p>x</p>{tag}</body></html>"},
		{"no </head>: before the last </body>",
			`<html><body><script>s="</body>"</script></body></html>`,
			`<html><body><script>s="</body>"</script>{tag}</body></html>`},
		{"no </head>: uppercase </BODY >",
			"<BODY>x</BODY ></HTML>\n",
			"<BODY>x{tag}</BODY ></HTML>\n"},
		{"</body> before </head> still waits for </head>",
			`<head><script>s="</body>"</script></head><body></body>`,
			`<head><script>s="</body>"</script>{tag}</head><body></body>`},
		{"neither", "<p>a fragment</p>", "<p>a fragment</p>"},
		{"empty body", "", ""},
		{"unfinished </hea at the end", "<p>x</p></hea", "<p>x</p></hea"},
		{"</head without its end", "<p>x</p></head", "<p>x</p></head"},
		{"< at the end", "<p>x<", "<p>x<"},
		{"lookalikes", "<p></hex></bod></h></headline></bodyguard></p>", "<p></hex></bod></h></headline></bodyguard></p>"},
		{"tagged: this site from another host",
			`<head><script src="https://stats.example/ea.js?s=shop" defer></script></head>`,
			`<head><script src="https://stats.example/ea.js?s=shop" defer></script></head>`},
		{"tagged: anything under our base path",
			`<head><script src="/_ea/ea.js?s=blog"></script></head><body></body>`,
			`<head><script src="/_ea/ea.js?s=blog"></script></head><body></body>`},
		{"tagged: no </head>, snippet in the body",
			`<body><p>x</p><script src="/_ea/ea.js?s=shop"></script></body>`,
			`<body><p>x</p><script src="/_ea/ea.js?s=shop"></script></body>`},
		{"a snippet after </head> is not seen",
			`<head></head><body><script src="/_ea/ea.js?s=shop"></script></body>`,
			`<head>{tag}</head><body><script src="/_ea/ea.js?s=shop"></script></body>`},
		{"another site's script elsewhere is not ours",
			`<head><script src="https://other.example/x/ea.js?s=blog"></script></head>`,
			`<head><script src="https://other.example/x/ea.js?s=blog"></script>{tag}</head>`},
	} {
		want := strings.ReplaceAll(tc.want, "{tag}", string(in.tag))
		for how, chunks := range chunkings([]byte(tc.page)) {
			for _, v := range []struct{ sized, flush bool }{{false, false}, {true, false}, {true, true}} {
				u := htmlPage(chunks...)
				u.flush = v.flush
				if v.sized {
					u.header.Set("Content-Length", strconv.Itoa(len(tc.page)))
				}
				rec := through(t, in, u)
				if got := rec.Body.String(); got != want {
					t.Fatalf("%s, %s, %+v:\n got %s\nwant %s", tc.name, how, v, got, want)
				}
				if cl := rec.Result().Header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(want)) {
					t.Fatalf("%s, %s, %+v: Content-Length %s for %d bytes", tc.name, how, v, cl, len(want))
				}
			}
		}
	}
}

// spy records what reaches the client side, keeping the identity of the
// written slices to tell a pass-through from a copy.
type spy struct {
	*httptest.ResponseRecorder
	codes  []int
	writes []*byte
}

func (s *spy) WriteHeader(code int) {
	s.codes = append(s.codes, code)
	if code >= 200 || code == http.StatusSwitchingProtocols { // the recorder takes any 1xx as final
		s.ResponseRecorder.WriteHeader(code)
	}
}

func (s *spy) Write(p []byte) (int, error) {
	if len(p) > 0 {
		s.writes = append(s.writes, &p[0])
	}
	return s.ResponseRecorder.Write(p)
}

func TestInject_LeavesOtherResponsesUntouched(t *testing.T) {
	in := mustNew(t)
	page := []byte("<html><head></head><body>x</body></html>")
	html := func(kv ...string) http.Header {
		h := http.Header{"Content-Type": {"text/html"}, "Content-Length": {strconv.Itoa(len(page))}}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	for _, tc := range []struct {
		name   string
		status int
		header http.Header
	}{
		{"gzip from upstream", 200, html("Content-Encoding", "gzip")},
		{"br from upstream", 200, html("Content-Encoding", "br")},
		{"304", 304, html()},
		{"404", 404, html()},
		{"500", 500, html()},
		{"206", 206, html("Content-Range", "bytes 0-39/40")},
		{"Content-Range on a 200", 200, html("Content-Range", "bytes 0-39/40")},
		{"json", 200, html("Content-Type", "application/json")},
		{"text/plain", 200, html("Content-Type", "text/plain; charset=utf-8")},
		{"text/html-ish", 200, html("Content-Type", "text/htmlx")},
		{"no Content-Type", 200, http.Header{"X-Content-Type-Options": {"nosniff"}}},
		{"no-transform", 200, html("Cache-Control", "public, No-Transform")},
		{"download", 200, html("Content-Disposition", `attachment; filename="a.html"`)},
		{"101", 101, http.Header{"Upgrade": {"websocket"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &spy{ResponseRecorder: httptest.NewRecorder()}
			w, finish := in.Wrap(rec, navigation())
			chunks := [][]byte{page[:10], page[10:]}
			if tc.status == 304 || tc.status == 101 {
				chunks = nil
			}
			upstream{status: tc.status, header: tc.header, chunks: chunks}.serve(w)
			if err := finish(); err != nil {
				t.Fatal(err)
			}
			res := rec.Result()
			if res.StatusCode != tc.status {
				t.Errorf("status %d, want %d", res.StatusCode, tc.status)
			}
			for k, v := range tc.header {
				if got := res.Header[k]; !slices.Equal(got, v) {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if len(chunks) == 0 {
				if rec.Body.Len() != 0 {
					t.Errorf("body %q, want none", rec.Body)
				}
				return
			}
			if !bytes.Equal(rec.Body.Bytes(), page) {
				t.Errorf("body %q, want %q", rec.Body, page)
			}
			if len(rec.writes) != 2 || rec.writes[0] != &page[0] || rec.writes[1] != &page[10] {
				t.Errorf("writes were copied or merged, not passed through")
			}
		})
	}
}

func TestInject_IdentityEncodingIsTagged(t *testing.T) {
	in := mustNew(t)
	u := htmlPage([]byte("<head></head>"))
	u.header.Set("Content-Encoding", "identity")
	if got := through(t, in, u).Body.String(); !strings.Contains(got, string(in.tag)) {
		t.Errorf("identity-encoded page not tagged: %s", got)
	}
}

func TestInject_ContentLength(t *testing.T) {
	small := mustNew(t)
	small.limit = 32

	for _, tc := range []struct {
		name   string
		in     *Injector
		page   string
		flush  bool
		cl     string // declared by the upstream; "" for none
		wantCL string // "-" for absent; "+tag" for len(page)+len(tag)
		tagged bool
	}{
		{"grows by the tag", nil, "<head></head><body></body>", false, "26", "+tag", true},
		{"</body> fallback decided at the end", nil, "<body>x</body>", false, "14", "+tag", true},
		{"nothing to tag keeps it", nil, "<p>x</p>", false, "8", "8", false},
		{"already tagged keeps it", nil, `<head><script src="/_ea/ea.js?s=shop"></script></head>`, false, "54", "54", false},
		{"empty keeps it", nil, "", false, "0", "0", false},
		{"malformed is dropped", nil, "<head></head>", false, "x", "-", true},
		{"flush before </head> drops it", nil, "<head><title>t</title></head>", true, "29", "-", true},
		{"</head> past the hold limit drops it", small, "<head><style>" + strings.Repeat("p{}", 20) + "</style></head>", false, "88", "-", true},
		{"none declared, none added", nil, "<head></head>", false, "", "-", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			if in == nil {
				in = mustNew(t)
			}
			if tc.cl != "" && tc.cl != "x" && tc.cl != strconv.Itoa(len(tc.page)) {
				t.Fatalf("bad case: page is %d bytes, declared %s", len(tc.page), tc.cl)
			}
			page := []byte(tc.page)
			u := htmlPage(page[:len(page)/2], page[len(page)/2:])
			u.flush = tc.flush
			if tc.cl != "" {
				u.header.Set("Content-Length", tc.cl)
			}
			rec := through(t, in, u)
			res := rec.Result()
			want := tc.wantCL
			if want == "+tag" {
				want = strconv.Itoa(len(tc.page) + len(in.tag))
			}
			got, ok := res.Header["Content-Length"]
			switch {
			case want == "-" && ok:
				t.Errorf("Content-Length %q, want none", got)
			case want != "-" && (!ok || got[0] != want):
				t.Errorf("Content-Length %q, want %s", got, want)
			case ok && got[0] != strconv.Itoa(rec.Body.Len()):
				t.Errorf("Content-Length %s but %d bytes sent", got[0], rec.Body.Len())
			}
			if tagged := strings.Contains(rec.Body.String(), string(in.tag)); tagged != tc.tagged {
				t.Errorf("tagged = %v, want %v: %s", tagged, tc.tagged, rec.Body)
			}
		})
	}
}

func TestInject_TaggedPageLosesStrongValidators(t *testing.T) {
	in := mustNew(t)
	for _, tc := range []struct {
		name, page string
		sized      bool // a Content-Length lets the writer decide before the headers go
		wantETag   string
		wantRanges bool
	}{
		{"tagged", "<head></head>", true, `W/"abc"`, false},
		{"untouched", "<p>x</p>", true, `"abc"`, true},
		{"streamed: decided before the body", "<p>x</p>", false, `W/"abc"`, false},
	} {
		u := htmlPage([]byte(tc.page))
		u.header.Set("Etag", `"abc"`)
		u.header.Set("Accept-Ranges", "bytes")
		if tc.sized {
			u.header.Set("Content-Length", strconv.Itoa(len(tc.page)))
		}
		res := through(t, in, u).Result()
		if got := res.Header.Get("Etag"); got != tc.wantETag {
			t.Errorf("%s: ETag %s, want %s", tc.name, got, tc.wantETag)
		}
		if got := res.Header.Get("Accept-Ranges") != ""; got != tc.wantRanges {
			t.Errorf("%s: Accept-Ranges kept = %v, want %v", tc.name, got, tc.wantRanges)
		}
	}
}

func TestInject_FlushDeliversAllButAPossibleEndTag(t *testing.T) {
	in := mustNew(t)
	tag := string(in.tag)
	for _, tc := range []struct {
		name  string
		steps []string // chunks; "|" flushes and expects the body so far to be the next step
		final string
	}{
		{"head split by a flush",
			[]string{"<html><head><title>t</title></he", "|", "<html><head><title>t</title>",
				"ad><body>", "|", "<html><head><title>t</title>" + tag + "</head><body>",
				"x</body></html>"},
			"<html><head><title>t</title>" + tag + "</head><body>x</body></html>"},
		{"a lone < is held",
			[]string{"<p>a<", "|", "<p>a", "/p>", "|", "<p>a</p>"},
			"<p>a</p>"},
		{"the text after </body> is held for the fallback",
			[]string{"<body>x</body>", "|", "<body>x", "\n</html>", "|", "<body>x", "<p>late</p>", "|", "<body>x"},
			"<body>x" + tag + "</body>\n</html><p>late</p>"},
		{"a later </body> releases the earlier one",
			[]string{"<body>a</body>b", "|", "<body>a", "</body>c", "|", "<body>a</body>b"},
			"<body>a</body>b" + tag + "</body>c"},
		{"a flush before anything was written sends the status",
			[]string{"|", "", "<head></head>"},
			"<head>" + tag + "</head>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			w, finish := in.Wrap(rec, navigation())
			w.Header().Set("Content-Type", "text/html")
			for i := 0; i < len(tc.steps); i++ {
				if tc.steps[i] != "|" {
					w.Write([]byte(tc.steps[i]))
					continue
				}
				rec.Flushed = false
				w.(http.Flusher).Flush()
				i++
				if !rec.Flushed {
					t.Fatalf("step %d: not flushed", i)
				}
				if rec.Code != 200 {
					t.Fatalf("step %d: status %d", i, rec.Code)
				}
				if got := rec.Body.String(); got != tc.steps[i] {
					t.Fatalf("step %d: flushed %q, want %q", i, got, tc.steps[i])
				}
			}
			if err := finish(); err != nil {
				t.Fatal(err)
			}
			if got := rec.Body.String(); got != tc.final {
				t.Errorf("body %q, want %q", got, tc.final)
			}
		})
	}
}

func TestInject_HoldIsBounded(t *testing.T) {
	in := mustNew(t)
	in.limit = 64
	pad := strings.Repeat("x", 100)
	tag := string(in.tag)
	for _, tc := range []struct{ name, page, want string }{
		{"</head> far in is still found",
			"<head>" + pad + "</head>", "<head>" + pad + tag + "</head>"},
		{"short ending after </body> is held",
			pad + "<body></body>" + strings.Repeat("y", 50), pad + "<body>" + tag + "</body>" + strings.Repeat("y", 50)},
		{"long ending after </body> gives it up",
			"<body></body>" + pad, "<body></body>" + pad},
		{"a later </body> is a new chance",
			"<body></body>" + pad + "</body>", "<body></body>" + pad + tag + "</body>"},
		{"</head> after a given-up </body>",
			"</body>" + pad + "</head>", "</body>" + pad + tag + "</head>"},
	} {
		for how, chunks := range chunkings([]byte(tc.page)) {
			for _, sized := range []bool{false, true} {
				rec := httptest.NewRecorder()
				w, finish := in.Wrap(rec, navigation())
				w.Header().Set("Content-Type", "text/html")
				if sized {
					w.Header().Set("Content-Length", strconv.Itoa(len(tc.page)))
				}
				for _, c := range chunks {
					w.Write(c)
					if held := len(w.(*writer).pending); held > in.limit+endTagLen-1 {
						t.Fatalf("%s, %s, sized %v: %d bytes withheld", tc.name, how, sized, held)
					}
				}
				if err := finish(); err != nil {
					t.Fatal(err)
				}
				if got := rec.Body.String(); got != tc.want {
					t.Fatalf("%s, %s, sized %v:\n got %s\nwant %s", tc.name, how, sized, got, tc.want)
				}
			}
		}
	}
}
