package admin

import (
	"encoding/xml"
	"net/http"
	"strings"
)

// robots.txt, sitemap.xml and llms.txt, answered only when
// the dashboard has its host to itself (admin_path /): elsewhere those
// paths belong to the site Echelon fronts.

// publicPages are the pages a public dashboard lists.
var publicPages = []string{"/", "/realtime", "/visitors", "/pageviews", "/events", "/bots", "/bots/excluded",
	"/experiments", "/campaigns", "/perf", "/settings"}

func (d *Dashboard) robots(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if d.cfg.Policy.PublicMode {
		_, _ = w.Write([]byte("User-agent: *\nAllow: /\nSitemap: " + origin(r) + "/sitemap.xml\n"))
		return
	}
	_, _ = w.Write([]byte("User-agent: *\nDisallow: /\n"))
}

func (d *Dashboard) sitemap(w http.ResponseWriter, r *http.Request) {
	type url struct {
		Loc        string `xml:"loc"`
		ChangeFreq string `xml:"changefreq"`
	}
	set := struct {
		XMLName xml.Name `xml:"urlset"`
		NS      string   `xml:"xmlns,attr"`
		URLs    []url    `xml:"url"`
	}{NS: "http://www.sitemaps.org/schemas/sitemap/0.9"}
	if d.cfg.Policy.PublicMode {
		for _, p := range publicPages {
			set.URLs = append(set.URLs, url{origin(r) + p, "daily"})
		}
	}
	out, err := xml.MarshalIndent(set, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
	_, _ = w.Write([]byte("\n"))
}

func (d *Dashboard) llms(w http.ResponseWriter, r *http.Request) {
	if !d.cfg.Policy.PublicMode {
		http.NotFound(w, r)
		return
	}
	o := origin(r)
	var b strings.Builder
	b.WriteString("# Echelon Analytics\n\n")
	b.WriteString("> A public, read-only dashboard of privacy-first, cookieless web analytics with proof-of-work bot defense.\n\n")
	b.WriteString("## Pages\n\n")
	for _, p := range publicPages {
		b.WriteString("- " + o + p + "\n")
	}
	b.WriteString("\n## Data policy\n\n")
	b.WriteString("No cookies by default and no IP address is stored. Visitor ids are keyed hashes whose daily salt is deleted when its UTC day ends, so they cannot be linked across days. Bots are scored and counted apart.\n\n")
	b.WriteString("## API\n\n")
	b.WriteString("- " + o + "/api/stats/overview?site_id=SITE&days=30 (JSON, read-only)\n")
	b.WriteString("- " + o + "/api/stats/summary\n")
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}
