package admin

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
)

//go:embed static
var staticFS embed.FS

type staticFile struct {
	body        []byte
	contentType string
}

var staticTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
	".svg": "image/svg+xml",
}

// staticVersion names the static files' current contents; pages link them
// with ?v=<version>, so they can be cached for a year.
const staticVersionKey = "\x00version"

func loadStatic() (map[string]staticFile, error) {
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		return nil, err
	}
	out := make(map[string]staticFile, len(entries)+1)
	names := make([]string, 0, len(entries))
	h := sha256.New()
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, name := range names {
		b, err := staticFS.ReadFile("static/" + name)
		if err != nil {
			return nil, err
		}
		out[name] = staticFile{body: b, contentType: staticTypes[path.Ext(name)]}
		h.Write([]byte(name))
		h.Write(b)
	}
	out[staticVersionKey] = staticFile{body: []byte(hex.EncodeToString(h.Sum(nil))[:12])}
	return out, nil
}

func (d *Dashboard) version() string { return string(d.static[staticVersionKey].body) }

// serveStatic answers GET <prefix>/static/<file>. Open to everyone: the
// login page needs them and they hold no data.
func (d *Dashboard) serveStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	f, ok := d.static[name]
	if !ok || strings.HasPrefix(name, "\x00") {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	if r.URL.Query().Get("v") == d.version() {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("ETag", `"`+d.version()+`"`)
	if r.Header.Get("If-None-Match") == `"`+d.version()+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(f.body)
}
