package admin

import (
	"cmp"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/echelon-analytics/caddy-echelon/auth"
	"github.com/echelon-analytics/caddy-echelon/handlers"
)

// The Campaigns pages: list with 30-day figures, create form, detail with
// status buttons, delete and the breakdowns.

type campaignRow struct {
	handlers.CampaignStat
	CreatedAt string
}

type campaignForm struct{ ID, Name, UTM, Site string }

type campaignsData struct {
	Rows []campaignRow
	Form campaignForm
}

// campaignListLimit is how many campaigns the list shows, newest first.
const campaignListLimit = 500

// campaigns is GET <prefix>/campaigns: every campaign with its views and
// visitors of the last 30 days (/api/stats/campaigns), newest first (the
// creation times of /api/campaigns).
func (d *Dashboard) campaigns(w http.ResponseWriter, r *http.Request, cred auth.Credential) {
	d.campaignsPage(w, r, cred, http.StatusOK, campaignForm{}, "")
}

func (d *Dashboard) campaignsPage(w http.ResponseWriter, r *http.Request, cred auth.Credential, status int, f campaignForm, msg string) {
	s, err := d.newShell(w, r, cred, "Campaigns", "campaigns")
	if err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	s.Error = msg
	if f.Site == "" {
		f.Site = s.Site
	}
	var stats []handlers.CampaignStat
	var regs []handlers.Campaign
	if err := d.get(r, "/api/stats/campaigns", vals("days", "30"), &stats); err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	if err := d.get(r, "/api/campaigns", nil, &regs); err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	created := make(map[string]string, len(regs))
	for _, c := range regs {
		created[c.ID] = c.CreatedAt
	}
	data := campaignsData{Form: f}
	for _, c := range stats {
		data.Rows = append(data.Rows, campaignRow{c, created[c.ID]})
	}
	slices.SortStableFunc(data.Rows, func(a, b campaignRow) int { return cmp.Compare(b.CreatedAt, a.CreatedAt) })
	data.Rows = data.Rows[:min(len(data.Rows), campaignListLimit)]
	d.render(w, status, "campaigns", s, data)
}

// createCampaign is POST <prefix>/campaigns: POST /api/campaigns, then the
// campaign's page; a refusal shows the form again.
func (d *Dashboard) createCampaign(w http.ResponseWriter, r *http.Request, cred auth.Credential) {
	pf, err := form(w, r)
	if err != nil {
		d.fail(w, r, nil, http.StatusBadRequest, err.Error())
		return
	}
	f := campaignForm{ID: strings.TrimSpace(pf.Get("id")), Name: pf.Get("name"), UTM: strings.TrimSpace(pf.Get("utm_campaign")), Site: strings.TrimSpace(pf.Get("site_id"))}
	body := map[string]string{"id": f.ID, "name": f.Name, "utm_campaign": f.UTM, "site_id": cmp.Or(f.Site, "default")}
	if err := d.call(r, http.MethodPost, "/api/campaigns", nil, body, nil); err != nil {
		status := http.StatusBadRequest
		var ae *apiError
		if errors.As(err, &ae) {
			status = ae.Status
		}
		d.campaignsPage(w, r, cred, status, f, "Not created: "+err.Error())
		return
	}
	d.done(w, r, d.cfg.Prefix+"/campaigns/"+url.PathEscape(f.ID), "Campaign created and active: views tagged utm_campaign="+f.UTM+" now keep their UTM fields.")
}

type campaignData struct {
	C       handlers.CampaignStat
	D       handlers.CampaignDetail
	Actions []statusAction
	Trend   template.HTML
}

// campaignActions are the status buttons of each status.
var campaignActions = map[string][]statusAction{
	"active":   {{"paused", "Pause"}, {"archived", "Archive"}},
	"paused":   {{"active", "Resume"}, {"archived", "Archive"}},
	"archived": {{"active", "Reactivate"}},
}

// campaign is GET <prefix>/campaigns/{id}: /api/stats/campaigns?id= (404
// when unknown) and the campaign's row of the list.
func (d *Dashboard) campaign(w http.ResponseWriter, r *http.Request, cred auth.Credential) {
	id := r.PathValue("id")
	s, err := d.newShell(w, r, cred, "Campaign "+id, "campaigns")
	if err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	var data campaignData
	if err := d.get(r, "/api/stats/campaigns", vals("id", id, "days", "30"), &data.D); err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	var list []handlers.CampaignStat
	if err := d.get(r, "/api/stats/campaigns", vals("days", "30"), &list); err != nil {
		d.failAPI(w, r, s, err)
		return
	}
	i := slices.IndexFunc(list, func(c handlers.CampaignStat) bool { return c.ID == id })
	if i < 0 {
		d.fail(w, r, s, http.StatusNotFound, "No campaign "+id+".")
		return
	}
	data.C = list[i]
	data.Actions = campaignActions[data.C.Status]
	var labels []string
	views, visitors := series{Name: "Views"}, series{Name: "Visitors"}
	for _, t := range data.D.DailyTrend {
		labels = append(labels, t.Date[5:])
		views.Values = append(views.Values, t.Views)
		visitors.Values = append(visitors.Values, t.Visitors)
	}
	if len(labels) > 0 {
		data.Trend = barChart(wideChart, "ctrend", "Daily views and visitors of the campaign (UTC days)", labels, views, visitors)
	}
	d.render(w, http.StatusOK, "campaign", s, data)
}

// campaignStatus is POST <prefix>/campaigns/{id}/status: PATCH
// /api/campaigns/:id {"status"}.
func (d *Dashboard) campaignStatus(w http.ResponseWriter, r *http.Request, _ auth.Credential) {
	f, err := form(w, r)
	if err != nil {
		d.fail(w, r, nil, http.StatusBadRequest, err.Error())
		return
	}
	id := r.PathValue("id")
	to := f.Get("status")
	d.write(w, r, http.MethodPatch, "/api/campaigns/"+url.PathEscape(id), map[string]string{"status": to},
		d.cfg.Prefix+"/campaigns/"+url.PathEscape(id), "Campaign "+id+" is now "+to+".")
}

// deleteCampaign is POST <prefix>/campaigns/{id}/delete (the form's
// confirm box ticked): DELETE /api/campaigns/:id, then the list.
func (d *Dashboard) deleteCampaign(w http.ResponseWriter, r *http.Request, _ auth.Credential) {
	f, err := form(w, r)
	if err != nil {
		d.fail(w, r, nil, http.StatusBadRequest, err.Error())
		return
	}
	id := r.PathValue("id")
	if f.Get("confirm") == "" {
		d.done(w, r, d.cfg.Prefix+"/campaigns/"+url.PathEscape(id), "!Tick the box to confirm the deletion.")
		return
	}
	d.write(w, r, http.MethodDelete, "/api/campaigns/"+url.PathEscape(id), nil, d.cfg.Prefix+"/campaigns", "Campaign "+id+" deleted.")
}
