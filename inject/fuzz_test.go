package inject

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The reference finds the insertion point on the whole page at once, with
// regexps instead of the streaming scanner.
var (
	headEnd = regexp.MustCompile(`(?i)</head[\t\n\f\r />]`)
	bodyEnd = regexp.MustCompile(`(?i)</body[\t\n\f\r />]`)
)

func reference(in *Injector, page []byte) []byte {
	// seen is what must not mention our script: the page before </head>,
	// or without one all of it.
	seen, at := page, -1
	if loc := headEnd.FindIndex(page); loc != nil {
		seen, at = page[:loc[0]], loc[0]
	} else if all := bodyEnd.FindAllIndex(page, -1); all != nil {
		at = all[len(all)-1][0]
	}
	if at < 0 {
		return page
	}
	for _, m := range in.markers {
		if bytes.Contains(seen, m.s) {
			return page
		}
	}
	return append(append(append([]byte(nil), page[:at]...), in.tag...), page[at:]...)
}

// FuzzInject writes page in the chunks cuts describes (each byte: a chunk
// of its low 6 bits in length, a Flush after it when the high bit is set;
// the rest of the page goes last), with or without a Content-Length
// (which decides whether the headers wait), and checks the output is the
// page with the tag inserted at most once, where the reference puts it.
//
// It runs the same input through an Injector with a tiny hold limit too:
// that one may give up a </body>, but never a </head>, and never corrupts.
func FuzzInject(f *testing.F) {
	for _, page := range []string{
		"<html><head><title>x</title></head><body>hi</body></html>",
		"<HEAD></HEAD >",
		"<head></head\n><body></body>",
		`<body><script>s="</body>"</script></BODY></html>`,
		`<head><script src="/_ea/ea.js?s=shop"></script></head>`,
		`<head><script src="https://x.example/ea.js?s=shop"></script></head>`,
		"<p></hex></bod></headline></p></hea",
		"<body>a</body>" + strings.Repeat("b", 40) + "</body>c",
		"",
	} {
		f.Add([]byte(page), []byte{1, 0x85, 3, 0, 7}, true)
		f.Add([]byte(page), bytes.Repeat([]byte{0x81}, len(page)), false)
	}
	in := mustNew(f)
	small := mustNew(f)
	small.limit = 16
	f.Fuzz(func(t *testing.T, page, cuts []byte, sized bool) {
		if len(page) > in.limit {
			return // the reference does not model the hold limit
		}
		got := feed(t, in, page, cuts, sized)
		if want := reference(in, page); !bytes.Equal(got, want) {
			t.Fatalf("page %q\n got %q\nwant %q", page, got, want)
		}
		added := bytes.Count(got, in.tag) - bytes.Count(page, in.tag)
		if added != 0 && added != 1 {
			t.Fatalf("%d tags added", added)
		}
		if added == 0 && !bytes.Equal(got, page) {
			t.Fatalf("page changed without a tag")
		}

		got = feed(t, small, page, cuts, sized)
		at := insertedAt(got, page, small.tag)
		switch loc := headEnd.FindIndex(page); {
		case at == -2:
			t.Fatalf("small limit corrupted the page:\n got %q\npage %q", got, page)
		case loc != nil:
			if want := reference(small, page); !bytes.Equal(got, want) {
				t.Fatalf("small limit, page with </head> %q\n got %q\nwant %q", page, got, want)
			}
		case at >= 0 && !bodyEnd.Match(page[at:min(at+endTagLen, len(page))]):
			t.Fatalf("small limit put the tag at %d, not before a </body>: %q", at, got)
		}
	})
}

// feed writes page through in as FuzzInject describes and returns what the
// client got, after checking Content-Length.
func feed(t *testing.T, in *Injector, page, cuts []byte, sized bool) []byte {
	rec := httptest.NewRecorder()
	w, finish := in.Wrap(rec, navigation())
	w.Header().Set("Content-Type", "text/html")
	if sized {
		w.Header().Set("Content-Length", strconv.Itoa(len(page)))
	}
	rest := page
	for _, c := range cuts {
		n := min(int(c&0x3f), len(rest))
		w.Write(rest[:n])
		rest = rest[n:]
		if c&0x80 != 0 {
			w.(http.Flusher).Flush()
		}
	}
	w.Write(rest)
	if err := finish(); err != nil {
		t.Fatal(err)
	}
	got := rec.Body.Bytes()
	if cl := rec.Result().Header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(got)) {
		t.Fatalf("Content-Length %s for %d bytes", cl, len(got))
	}
	return got
}

// insertedAt returns where got has tag inserted into page, -1 if got is
// page, or -2 if got is neither.
func insertedAt(got, page, tag []byte) int {
	if bytes.Equal(got, page) {
		return -1
	}
	if len(got) != len(page)+len(tag) {
		return -2
	}
	for i := 0; i <= len(page); i++ {
		if bytes.Equal(got[:i], page[:i]) && bytes.Equal(got[i:i+len(tag)], tag) && bytes.Equal(got[i+len(tag):], page[i:]) {
			return i
		}
	}
	return -2
}
