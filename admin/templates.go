package admin

import (
	"embed"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/echelon-analytics/caddy-echelon/anonymize"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

//go:embed templates
var templateFS embed.FS

// pageNames are the page templates; each defines "content" (and the
// dashboard and realtime pages a "live" part of their own).
var pageNames = []string{
	"dashboard", "sites", "realtime", "visitors", "visitor", "pageviews", "events",
	"bots", "botvisitor", "excluded", "experiments", "experiment", "campaigns", "campaign",
	"perf", "settings", "login", "error",
}

type navLink struct{ Key, Href, Name string }

// navLinks are the nav's entries.
var navLinks = []navLink{
	{"dashboard", "/", "Dashboard"}, {"realtime", "/realtime", "Realtime"},
	{"visitors", "/visitors", "Visitors"}, {"pageviews", "/pageviews", "Page Views"},
	{"events", "/events", "Events"}, {"bots", "/bots", "Bots"}, {"excluded", "/bots/excluded", "Excluded"},
	{"experiments", "/experiments", "Experiments"}, {"campaigns", "/campaigns", "Campaigns"},
	{"perf", "/perf", "Performance"}, {"settings", "/settings", "Settings"},
}

func (d *Dashboard) parseTemplates() (map[string]*template.Template, error) {
	base, err := template.New("").Funcs(d.funcs()).ParseFS(templateFS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, fmt.Errorf("admin templates: %w", err)
	}
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := base.Clone()
		if err == nil {
			t, err = t.ParseFS(templateFS, "templates/"+name+".html")
		}
		if err != nil {
			return nil, fmt.Errorf("admin template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

func (d *Dashboard) funcs() template.FuncMap {
	loc := d.cfg.Location
	return template.FuncMap{
		"navLinks": func() []navLink { return navLinks },
		"num":      num,
		"when":     func(api string) string { return when(api, loc) },
		"ago":      func(api string) string { return ago(api, d.cfg.Now()) },
		"short":    shortID,
		"badge":    badge,
		"deref":    deref,
		"secs":     func(ms uint64) string { return fmt.Sprintf("%.1fs", float64(ms)/1000) },
		"pct":      func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) },
		"res":      resolution,
		"esc":      url.PathEscape,
		"query":    query,
		"add":      func(a, b int) int { return a + b },
		"spark":    sparkline,
		"sel":      selectOf,
	}
}

// num writes an integer with thousands separators.
func num(v any) string {
	switch n := v.(type) {
	case int:
		if n < 0 {
			return "-" + formatCount(uint64(-n))
		}
		return formatCount(uint64(n))
	case uint64:
		return formatCount(n)
	case int64:
		if n < 0 {
			return "-" + formatCount(uint64(-n))
		}
		return formatCount(uint64(n))
	case float64:
		return num(int64(n))
	}
	return fmt.Sprint(v)
}

// parseAPITime reads the API's timestamps (storage.TimeLayout, UTC).
func parseAPITime(s string) (time.Time, bool) {
	t, err := time.Parse(storage.TimeLayout, s)
	if err != nil {
		t, err = time.Parse(time.RFC3339Nano, s)
	}
	return t, err == nil
}

// when shows an API time as YYYY-MM-DD HH:MM in the display time zone.
func when(s string, loc *time.Location) string {
	t, ok := parseAPITime(s)
	if !ok {
		return "-"
	}
	return t.In(loc).Format("2006-01-02 15:04")
}

// ago shows an API time as Ns, Nm or Nh ago.
func ago(s string, now time.Time) string {
	t, ok := parseAPITime(s)
	if !ok {
		return "-"
	}
	d := max(now.Sub(t), 0)
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s ago"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m ago"
	}
	return strconv.Itoa(int(d/time.Hour)) + "h ago"
}

// shortID shows a visitor id as its first 12 characters and "...".
func shortID(id string) string {
	if len(id) <= 12 {
		return id
	}
	return id[:12] + "..."
}

// badge is the CSS class of a bot score: high ≥ 50, medium ≥ 25.
func badge(score int) string {
	switch {
	case score >= 50:
		return "sc hi"
	case score >= 25:
		return "sc med"
	}
	return "sc"
}

func deref(p *string) string {
	if p == nil || *p == "" {
		return "-"
	}
	return *p
}

// resolution shows "WxH" as W×H, with a terminal's name when it is one of
// the screens anonymized sites store (columns × rows), e.g. "80×24 (VT100)".
func resolution(s string) string {
	out := strings.Replace(s, "x", "×", 1)
	w, h, ok := strings.Cut(s, "x")
	if !ok {
		return out
	}
	cols, err1 := strconv.Atoi(w)
	rows, err2 := strconv.Atoi(h)
	if err1 == nil && err2 == nil {
		if name := anonymize.TerminalName(cols, rows); name != "" {
			out += " (" + name + ")"
		}
	}
	return out
}

// selectField is a list filter's select (the "filter" template).
type selectField struct {
	Name, Label, Value string
	Options            [][2]string
}

// selectOf builds a select from its name, label, current value and
// value, label pairs.
func selectOf(name, label, value string, pairs ...string) selectField {
	f := selectField{Name: name, Label: label, Value: value}
	for i := 0; i+1 < len(pairs); i += 2 {
		f.Options = append(f.Options, [2]string{pairs[i], pairs[i+1]})
	}
	return f
}

// query builds "?k=v&…" from pairs, leaving out empty values.
func query(kv ...any) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v := fmt.Sprint(kv[i+1])
		if v != "" && v != "0" {
			q.Set(fmt.Sprint(kv[i]), v)
		}
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}
