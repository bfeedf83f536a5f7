package admin

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Charts are SVG drawn here: readable without JavaScript, coloured by CSS
// classes (no style attributes, so the CSP needs no 'unsafe-inline'), with
// a <title> and a <desc> that says the figures in words. The series ride
// along as data attributes, from which app.js shows the value under the
// pointer.

// series is one line or bar set of a chart.
type series struct {
	Name   string
	Values []uint64
}

// geom is a chart's size in viewBox units: the whole, and the padding
// around the plot (left for the y labels, bottom for the x labels).
type geom struct{ w, h, l, r, t, b float64 }

func (g geom) plotW() float64 { return g.w - g.l - g.r }
func (g geom) plotH() float64 { return g.h - g.t - g.b }

// Charts: a half-width one beside another, and one over the page's width
// (so that its labels keep their size).
var (
	halfChart = geom{w: 640, h: 170, l: 44, r: 8, t: 10, b: 22}
	wideChart = geom{w: 1200, h: 190, l: 44, r: 8, t: 10, b: 22}
)

// niceMax rounds v up to 1, 2 or 5 times a power of ten (at least 1), so
// the top gridline has a round label.
func niceMax(v uint64) uint64 {
	if v <= 1 {
		return 1
	}
	p := uint64(math.Pow10(int(math.Floor(math.Log10(float64(v))))))
	for _, m := range []uint64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func maxOf(ss []series) uint64 {
	var m uint64
	for _, s := range ss {
		for _, v := range s.Values {
			m = max(m, v)
		}
	}
	return m
}

// chartOpen writes the <svg> with its title, description, data and grid.
// data-plot gives app.js the geometry: plot left, plot width, width.
func chartOpen(b *strings.Builder, g geom, id, kind, title string, labels []string, ss []series, top uint64) {
	fmt.Fprintf(b, `<svg class="chart %s" id="%s" viewBox="0 0 %g %g" role="img" aria-labelledby="%s-t %s-d" data-plot="%g,%g,%g" data-labels="%s"`,
		kind, id, g.w, g.h, id, id, g.l, g.plotW(), g.w, html.EscapeString(strings.Join(labels, ",")))
	for i, s := range ss {
		fmt.Fprintf(b, ` data-n%d="%s" data-v%d="%s"`, i, html.EscapeString(s.Name), i, joinNums(s.Values))
	}
	fmt.Fprintf(b, `><title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, html.EscapeString(title), id, html.EscapeString(describe(labels, ss)))
	for _, f := range []float64{0, 0.5, 1} {
		y := g.t + g.plotH() - f*g.plotH()
		fmt.Fprintf(b, `<line class="gl" x1="%g" x2="%g" y1="%.1f" y2="%.1f"/><text class="ax" x="%g" y="%.1f" text-anchor="end">%s</text>`,
			g.l, g.w-g.r, y, y, g.l-4, y+4, formatCount(uint64(f*float64(top))))
	}
}

// xLabels writes evenly spaced labels under the plot, about one per 100
// units of width.
func xLabels(b *strings.Builder, g geom, labels []string, x func(i int) float64) {
	most := max(int(g.w/100), 2)
	step := max(1, (len(labels)+most-1)/most)
	for i := 0; i < len(labels); i += step {
		fmt.Fprintf(b, `<text class="ax" x="%.1f" y="%g" text-anchor="middle">%s</text>`, x(i), g.h-6, html.EscapeString(labels[i]))
	}
}

// lineChart draws the series as lines over labels (same length).
func lineChart(g geom, id, title string, labels []string, ss ...series) template.HTML {
	var b strings.Builder
	top := niceMax(maxOf(ss))
	chartOpen(&b, g, id, "line", title, labels, ss, top)
	n := len(labels)
	x := func(i int) float64 {
		if n < 2 {
			return g.l + g.plotW()/2
		}
		return g.l + float64(i)*g.plotW()/float64(n-1)
	}
	for si, s := range ss {
		fmt.Fprintf(&b, `<polyline class="s%d" points="`, si)
		for i, v := range s.Values {
			fmt.Fprintf(&b, "%.1f,%.1f ", x(i), g.t+g.plotH()-float64(v)/float64(top)*g.plotH())
		}
		b.WriteString(`"/>`)
	}
	xLabels(&b, g, labels, x)
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

// barChart draws one bar per label for the first series, and the second
// series as a narrower bar inside it (visitors within visits).
func barChart(g geom, id, title string, labels []string, ss ...series) template.HTML {
	var b strings.Builder
	top := niceMax(maxOf(ss))
	chartOpen(&b, g, id, "bars", title, labels, ss, top)
	n := max(len(labels), 1)
	slot := g.plotW() / float64(n)
	x := func(i int) float64 { return g.l + (float64(i)+0.5)*slot }
	for si, s := range ss {
		w := slot * 0.8
		if si > 0 {
			w = slot * 0.4
		}
		for i, v := range s.Values {
			h := float64(v) / float64(top) * g.plotH()
			fmt.Fprintf(&b, `<rect class="s%d" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, si, x(i)-w/2, g.t+g.plotH()-h, w, h)
		}
	}
	xLabels(&b, g, labels, x)
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

// sparkline is a small line of values; label says what it shows.
func sparkline(label string, values []uint64) template.HTML {
	const w, h = 120, 24
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="spark" viewBox="0 0 %d %d" role="img" aria-label="%s"><polyline points="`, w, h, html.EscapeString(label))
	top := float64(niceMax(maxOf([]series{{Values: values}})))
	n := len(values)
	for i, v := range values {
		x := float64(w) / 2
		if n > 1 {
			x = float64(i) * w / float64(n-1)
		}
		fmt.Fprintf(&b, "%.1f,%.1f ", x, 1+(h-2)*(1-float64(v)/top))
	}
	b.WriteString(`"/></svg>`)
	return template.HTML(b.String())
}

// describe says what a chart shows: each series' total and its peak.
func describe(labels []string, ss []series) string {
	if len(labels) == 0 {
		return "No data."
	}
	parts := make([]string, 0, len(ss))
	for _, s := range ss {
		var total, peak uint64
		at := 0
		for i, v := range s.Values {
			total += v
			if v > peak {
				peak, at = v, i
			}
		}
		p := fmt.Sprintf("%s: %s in total", s.Name, formatCount(total))
		if peak > 0 {
			p += fmt.Sprintf(", peak %s at %s", formatCount(peak), labels[at])
		}
		parts = append(parts, p)
	}
	return fmt.Sprintf("From %s to %s. %s.", labels[0], labels[len(labels)-1], strings.Join(parts, "; "))
}

func joinNums(vs []uint64) string {
	var b strings.Builder
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(v, 10))
	}
	return b.String()
}

// formatCount writes n with thousands separators.
func formatCount(n uint64) string {
	s := strconv.FormatUint(n, 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}
