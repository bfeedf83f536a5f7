package e2e

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// pagerText is the dashboard's paging line for a list answer of the API.
func pagerText(l map[string]any) string {
	if l["total_exact"] == true {
		return fmt.Sprintf("%s records — page %.0f of %.0f", fmtCount(l["total"].(float64)), l["page"], l["pages"])
	}
	return fmt.Sprintf("more than %s records — page %.0f", fmtCount(l["total"].(float64)), l["page"])
}

// lists pages through Visitors, filters it, opens a visitor, and checks
// Page Views and the Events chips, each against its endpoint.
func lists(t *testing.T, ctx context.Context, w *watcher, dir string) {
	open(t, ctx, "/visitors?site_id="+dashSite)
	v1 := api[map[string]any](t, "/api/visitors?site_id="+dashSite)
	if got, want := text(t, ctx, ".pager p"), pagerText(v1); got != want {
		t.Errorf("visitors pager %q, API %q", got, want)
	}
	first := func(l map[string]any, key string) string {
		return l[key].([]any)[0].(map[string]any)["visitor_id"].(string)[:12] + "..."
	}
	if got := text(t, ctx, "#visitors tbody td a"); got != first(v1, "visitors") {
		t.Errorf("visitors first row %q, API %q", got, first(v1, "visitors"))
	}
	submit(t, ctx, `.pager a[rel=next]`)
	v2 := api[map[string]any](t, "/api/visitors?site_id="+dashSite+"&cursor="+url.QueryEscape(v1["next_cursor"].(string)))
	if got, want := text(t, ctx, ".pager p"), pagerText(v2); got != want || v2["page"] != 2.0 {
		t.Errorf("visitors page 2: %q, API %q", got, want)
	}
	if got := text(t, ctx, "#visitors tbody td a"); got != first(v2, "visitors") {
		t.Errorf("visitors page 2 first row %q, API %q", got, first(v2, "visitors"))
	}
	submit(t, ctx, `.pager a[rel=prev]`)
	if got := text(t, ctx, ".pager p"); got != pagerText(v1) {
		t.Errorf("back to page 1: %q", got)
	}
	do(t, ctx, chromedp.SetValue(`select[name=bot]`, "suspect"))
	submit(t, ctx, `.filters button`)
	if n, hi := count(t, ctx, "#visitors tbody tr"), count(t, ctx, "#visitors tbody .sc.hi"); n == 0 || n != hi {
		t.Errorf("bot=suspect: %d rows, %d scoring 50 or more", n, hi)
	}
	sus := api[map[string]any](t, "/api/visitors?site_id="+dashSite+"&bot=suspect")
	if got := text(t, ctx, ".pager p"); got != pagerText(sus) {
		t.Errorf("filtered pager %q, API %q", got, pagerText(sus))
	}
	w.clean(t, "visitors")

	submit(t, ctx, "#visitors tbody td a")
	id := strings.TrimPrefix(eval[string](t, ctx, `decodeURIComponent(location.pathname)`), dashPrefix+"/visitors/")
	vd := api[map[string]any](t, "/api/visitors/"+url.PathEscape(id))
	sum := vd["summary"].(map[string]any)
	if got := text(t, ctx, "#v-views"); got != fmtCount(sum["pageviews"].(float64)) || count(t, ctx, "#views tbody tr") != len(vd["views"].([]any)) {
		t.Errorf("visitor %s: %q views, %d rows; API %v, %d", id, got, count(t, ctx, "#views tbody tr"), sum["pageviews"], len(vd["views"].([]any)))
	}
	shot(t, ctx, dir, "visitor")
	w.clean(t, "visitor")

	open(t, ctx, "/pageviews?site_id="+dashSite)
	pv := api[map[string]any](t, "/api/pageviews?site_id="+dashSite)
	if got := text(t, ctx, ".pager p"); got != pagerText(pv) {
		t.Errorf("pageviews pager %q, API %q", got, pagerText(pv))
	}
	if got, want := text(t, ctx, "#pageviews tbody td.lbl"), pv["pageviews"].([]any)[0].(map[string]any)["path"]; got != want {
		t.Errorf("pageviews first path %q, API %v", got, want)
	}
	w.clean(t, "pageviews")

	open(t, ctx, "/events?site_id="+dashSite)
	ev := api[map[string]any](t, "/api/events?site_id="+dashSite)
	if got := count(t, ctx, ".chips li"); got != len(ev["types"].([]any))+1 {
		t.Errorf("%d chips, API %d types and All", got, len(ev["types"].([]any)))
	}
	chip := ev["types"].([]any)[0].(map[string]any)
	submit(t, ctx, ".chips li:nth-child(2) a")
	if got := text(t, ctx, ".pager p"); got != fmt.Sprintf("%s records — page 1 of %d", fmtCount(chip["count"].(float64)), (int(chip["count"].(float64))+24)/25) {
		t.Errorf("chip %v: %q", chip, got)
	}
	if n := eval[int](t, ctx, fmt.Sprintf(`[...document.querySelectorAll("#events tbody tr")].filter(r => r.cells[1].textContent !== %q).length`, chip["event_type"])); n != 0 {
		t.Errorf("chip %v: %d rows of another type", chip["event_type"], n)
	}
	w.clean(t, "events")
}
