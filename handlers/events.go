package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/echelon-analytics/caddy-echelon/scoring"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// ServeEvents handles POST e (docs/tracker.md, Events): 429 when rate
// limited, 413 for a body over 16 KB, 400 for an empty or non-JSON body,
// and 204 for everything else, stored or not.
func (t *Tracking) ServeEvents(w http.ResponseWriter, r *http.Request, peer Peer) {
	hw := newHeaderWriter(w.Header(), 4+corsHeaders)
	hw.setSecurity()
	uai := t.uaInfo(r.UserAgent())
	brands := scoring.BrandsOf(r.Header["Sec-Ch-Ua"]) // canonical key: no Get
	bot := uai.bot || brands.Automated()
	if bot {
		t.sighting(peer)
	}
	if lim, retry := t.limited(peer); lim {
		t.Observe.Events(OutcomeRateLimited, 1)
		hw.set("Retry-After", retryAfterSeconds(retry))
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	t.Config.setCORS(&hw, r.Header.Get("Origin"))
	if r.ContentLength > maxEventBody {
		t.Observe.Events(OutcomeInvalid, 1)
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	body, err := ReadEventBody(r.Body)
	if err == nil {
		var batch EventBatch
		batch, err = ParseEvents(body)
		if err == nil {
			t.collectEvents(r, uai, brands, bot, peer, &batch)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	t.Observe.Events(OutcomeInvalid, 1)
	if errors.Is(err, ErrBodyTooLarge) {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	w.WriteHeader(http.StatusBadRequest)
}

func (t *Tracking) collectEvents(r *http.Request, uai *uaEntry, brands scoring.Brands, bot bool, peer Peer, batch *EventBatch) {
	if batch.Skipped > 0 {
		t.Observe.Events(OutcomeInvalid, batch.Skipped)
	}
	n := len(batch.Events)
	if n == 0 {
		return
	}
	if bot || batch.Webdriver {
		if !bot {
			t.sighting(peer)
		}
		t.dropped(EndpointEvents, DropKnownUA, storage.SiteOrDefault(batch.SiteID), storage.ReasonKnownUA, n)
		t.Observe.Events(OutcomeBotDropped, n)
		return
	}
	site := storage.SiteOrDefault(batch.SiteID)
	if t.Config.siteIgnored(site) {
		t.Observe.Events(OutcomeIgnored, n)
		return
	}
	// Held pageviews first: an event's session counts for experiments
	// only once its pageview's proof is checked.
	t.ProcessHeld()
	now := t.Now().UTC()
	// Events never set the cookie, but use a valid one.
	vis, err := t.identify(r, peer.IP, site, now, false)
	if err != nil {
		t.Observe.Events(OutcomeInvalid, n)
		return
	}
	anon := t.anonDay(site, now)
	storedID := vis.id
	if anon != nil {
		storedID = anon.VisitorID(vis.id)
	}
	if t.excludedAs(vis.id, storedID) {
		t.dropped(EndpointEvents, DropExcluded, site, storage.ReasonExcluded, n)
		t.Observe.Events(OutcomeExcluded, n)
		return
	}
	in := t.scoreInput(r, uai.ua, brands, peer, scoring.HitEvents, site)
	_, tier, _ := t.stateInputs(&in, uai, peer, now, false)
	res := t.Rules.Score(&in)
	t.checkPoW(&res, batch.Token, batch.Events[0].SessionID, site, vis.id, now, false)
	t.Rules.BotIP(&res, tier, res.PoWResult == scoring.PoWValid)
	if t.Config.DiscardThreshold > 0 && res.Score >= t.Config.DiscardThreshold {
		t.dropped(EndpointEvents, DropScore, site, scoreReason(&res), n)
		t.Observe.Events(OutcomeBotDropped, n)
		return
	}
	detail := res.DetailJSON()
	device := scoring.DeviceFromUA(uai.ua, r.Header.Get("Sec-Ch-Ua-Mobile"))
	referrer := ""
	if o, _ := scoring.ClassifyReferrer(r.Header.Get("Referer")); o != scoring.UnknownOrigin {
		referrer = o
	}
	stored := 0
	for _, ev := range batch.Events {
		// As on views: a campaign is kept only when it names an active
		// campaign of the site, so made-up values make no counters.
		if ev.UTMCampaign != "" && t.UTM != nil && !t.UTM.CampaignActive(site, ev.UTMCampaign) {
			ev.UTMCampaign = ""
		}
		e := storage.Event{
			CreatedAt:      now,
			EventType:      ev.Type,
			SiteID:         site,
			SessionID:      ev.SessionID,
			VisitorID:      vis.id,
			Data:           ev.Data,
			ExperimentID:   ev.ExperimentID,
			VariantID:      ev.VariantID,
			UTMCampaign:    ev.UTMCampaign,
			DeviceType:     device,
			BotScoreDetail: detail,
			Referrer:       referrer,
			Hour:           now.Hour(),
			Month:          int(now.Month()),
			DayOfWeek:      int(now.Weekday()),
			IsReturning:    vis.returning,
			BotScore:       res.Score,
			Tracked:        true,
		}
		if anon != nil {
			anonymizeEvent(anon, &e)
		}
		if t.Sink.AddEvent(e) {
			stored++
		}
	}
	t.Observe.Events(OutcomeStored, stored)
	if stored < n {
		t.Observe.Events(OutcomeOverflow, n-stored)
	}
}

// retryAfterSeconds renders a Retry-After value, at least one second.
func retryAfterSeconds(d time.Duration) string {
	s := int(d.Seconds() + 0.999)
	return strconv.Itoa(max(s, 1))
}
