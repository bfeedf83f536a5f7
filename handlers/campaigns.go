package handlers

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// Campaigns serves the UTM campaign registry (docs/api.md, Campaigns): GET and
// POST /api/campaigns, PATCH and DELETE /api/campaigns/:id.
type Campaigns struct {
	Store CampaignStore
	Now   Clock
}

const maxAPIBody = 64 << 10

var idPattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// ServeCollection answers GET (newest 200) and POST /api/campaigns.
func (c *Campaigns) ServeCollection(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		c.create(w, r)
		return
	}
	all, err := c.Store.Campaigns()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "")
		return
	}
	writeJSON(w, http.StatusOK, list(all[:min(200, len(all))], campaignOf))
}

// readObject decodes a JSON object body of at most maxAPIBody bytes; on
// failure it has written the 400.
func readObject(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAPIBody))
	var obj map[string]any
	if err == nil {
		err = json.Unmarshal(body, &obj)
	}
	if err != nil || obj == nil {
		writeError(w, http.StatusBadRequest, "invalid_payload", "Body must be a JSON object")
		return nil, false
	}
	return obj, true
}

// cleanText cuts s to n bytes (whole runes) and removes bytes 0x00–0x1F.
func cleanText(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 {
			return -1
		}
		return r
	}, s)
	return truncateRunes(s, n)
}

// CampaignError is why ParseCampaign refused a body: the API's error
// code and message.
type CampaignError struct{ Code, Message string }

func (e *CampaignError) Error() string { return e.Message }

// ParseCampaign validates a POST /api/campaigns body {id, name,
// utm_campaign, site_id?} into a campaign to create.
func ParseCampaign(obj map[string]any) (storage.Campaign, *CampaignError) {
	id, _ := obj["id"].(string)
	name, _ := obj["name"].(string)
	utm, _ := obj["utm_campaign"].(string)
	if id == "" || name == "" || utm == "" {
		return storage.Campaign{}, &CampaignError{"invalid_payload", "Missing required fields: id, name, utm_campaign"}
	}
	if len(id) > 128 || !idPattern.MatchString(id) {
		return storage.Campaign{}, &CampaignError{"invalid_id", "id must be at most 128 characters of A-Z a-z 0-9 . _ -"}
	}
	site, _ := obj["site_id"].(string)
	return storage.Campaign{ID: id, Name: cleanText(name, 256), UTMCampaign: cleanText(utm, 256), SiteID: lenientSite(site)}, nil
}

func (c *Campaigns) create(w http.ResponseWriter, r *http.Request) {
	obj, ok := readObject(w, r)
	if !ok {
		return
	}
	camp, err := ParseCampaign(obj)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Code, err.Message)
		return
	}
	id := camp.ID
	switch err := c.Store.CreateCampaign(camp, c.Now()); {
	case errors.Is(err, storage.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", "A campaign with this id or utm_campaign and site_id exists")
	case err != nil:
		writeError(w, http.StatusInternalServerError, "internal", "")
	default:
		writeJSON(w, http.StatusCreated, map[string]string{"created": id})
	}
}

// ServeItem answers PATCH {"status"} and DELETE /api/campaigns/:id.
func (c *Campaigns) ServeItem(w http.ResponseWriter, r *http.Request) {
	id := routeID(r)
	var ok bool
	var err error
	var reply map[string]string
	if r.Method == http.MethodDelete {
		ok, err = c.Store.DeleteCampaign(id)
		reply = map[string]string{"deleted": id}
	} else {
		obj, valid := readObject(w, r)
		if !valid {
			return
		}
		status, _ := obj["status"].(string)
		if !slices.Contains(storage.CampaignStatuses(), status) {
			writeError(w, http.StatusBadRequest, "invalid_payload", "status must be one of active, paused, archived")
			return
		}
		ok, err = c.Store.SetCampaignStatus(id, status)
		reply = map[string]string{"updated": id}
	}
	switch {
	case err != nil:
		writeError(w, http.StatusInternalServerError, "internal", "")
	case !ok:
		writeError(w, http.StatusNotFound, "not_found", "Campaign not found")
	default:
		writeJSON(w, http.StatusOK, reply)
	}
}

// ServeCampaignStats answers GET /api/stats/campaigns?days&id.
func (s *Stats) ServeCampaignStats(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	days := intParam(q, "days", 30, 1, 90)
	if q.Get("id") == "" {
		all, err := s.Store.CampaignList(days, s.Now())
		if err != nil {
			s.fail(w, err)
			return
		}
		writeJSON(w, http.StatusOK, list(all, campaignStatOf))
		return
	}
	c, ok, err := s.Store.CampaignByID(truncateRunes(q.Get("id"), 128))
	switch {
	case err != nil:
		s.fail(w, err)
		return
	case !ok:
		writeError(w, http.StatusNotFound, "not_found", "")
		return
	}
	d, err := s.Store.Detail(c, days, s.Now())
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, campaignDetailOf(d))
}

// ServeCampaignEvents answers GET
// /api/stats/campaign-events?site_id&days&event_type.
func (s *Stats) ServeCampaignEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	site, ok := strictSite(w, q)
	if !ok {
		return
	}
	rows, err := s.Store.CampaignEvents(site, intParam(q, "days", 30, 1, 90), truncateRunes(q.Get("event_type"), 128), s.Now())
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, list(rows, campaignEventStatOf))
}
