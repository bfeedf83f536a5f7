package handlers

import (
	"net/http"

	"github.com/echelon-analytics/caddy-echelon/scoring"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// pixel is the 43-byte transparent GIF every b.gif request is answered with.
var pixel = []byte{
	0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0xff, 0xff, 0xff,
	0x00, 0x00, 0x00, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
}

// writePixel answers a beacon. Early drops (rate limit, origin) omit CORS.
//
// Content-Length: 43 is not set here: net/http (HTTP/1.x and HTTP/2) and
// quic-go (HTTP/3) add it themselves to a response that the handler ends
// before it fills their buffer, outside the header map. With Caddy's
// Server header that keeps the map of an image beacon's answer (no Origin)
// at 8 entries, the most a Go map holds before it grows into a table:
// growing it, then cloning it at WriteHeader, cost two allocations per
// beacon.
func (t *Tracking) writePixel(w http.ResponseWriter, r *http.Request, cors bool) {
	hw := newHeaderWriter(w.Header(), 5+corsHeaders)
	hw.set("Content-Type", "image/gif")
	hw.set("Cache-Control", "no-store")
	hw.setSecurity()
	if cors {
		origin := ""
		if v := r.Header["Origin"]; len(v) > 0 { // canonical key: no Get
			origin = v[0]
		}
		t.Config.setCORS(&hw, origin)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(pixel)
}

// ServeBeacon handles GET b.gif (docs/tracker.md, The beacon): whatever the
// input, the answer is the pixel; only what passes every gate is stored.
// With HoldBeacons set, the gates run after the answer, for a batch of
// beacons together (beaconbatch.go); the rate limit, the origin check and
// the known-bot drop always run before it.
func (t *Tracking) ServeBeacon(w http.ResponseWriter, r *http.Request, peer Peer) {
	uai := t.uaInfo(r.UserAgent())                    // once: parse, bot match and hash
	brands := scoring.BrandsOf(r.Header["Sec-Ch-Ua"]) // canonical key: no Get
	bot := uai.bot || brands.Automated()
	if bot {
		t.sighting(peer)
	}
	if lim, _ := t.limited(peer); lim {
		t.Observe.Beacon(OutcomeRateLimited)
		site := storage.SiteOrDefault(scanQuery(r.URL.RawQuery)[qSite])
		t.filtered(site, storage.ReasonRateLimited, false, 1)
		t.flag(r, peer, site)
		t.writePixel(w, r, false)
		return
	}
	if !t.Config.originAllowed(r) {
		t.Observe.Beacon(OutcomeIgnored)
		t.writePixel(w, r, false)
		return
	}
	if bot {
		q := scanRaw(r.URL.RawQuery)
		t.dropped(EndpointBeacon, DropKnownUA, storage.SiteOrDefault(q.get(qSite)), storage.ReasonKnownUA, 1)
		t.Observe.Beacon(OutcomeBotDropped)
		t.writePixel(w, r, true)
		return
	}
	hb := t.holdBeacon(r, uai, brands, peer)
	if hb.holdable() {
		if held, full := t.batch.hold(&hb, t.HoldBeacons); held {
			t.writePixel(w, r, true)
			if full {
				t.ProcessHeld()
			}
			return
		}
	}
	outcome, cookie := t.processBeacon(&hb)
	if cookie != "" {
		setVisitorCookie(w, cookie)
	}
	t.Observe.Beacon(outcome)
	t.writePixel(w, r, true)
}

// processBeacon runs the gates on a beacon and stores its view; it returns
// the outcome and the _ev cookie to set, if any.
func (t *Tracking) processBeacon(h *heldBeacon) (outcome, cookie string) {
	b, err := parseBeacon(&h.q, h.rawLen)
	if err != nil {
		return OutcomeInvalid, ""
	}
	peer, uai := h.peer, h.uai
	if b.Webdriver {
		t.suspect(peer)
		t.dropped(EndpointBeacon, DropKnownUA, b.Site, storage.ReasonKnownUA, 1)
		return OutcomeBotDropped, ""
	}
	if t.Config.siteIgnored(b.Site) {
		return OutcomeIgnored, ""
	}
	now := h.now
	vis, err := t.identifyBy(h.cookie, uai.ua, peer.IP, b.Site, now, b.Cookie)
	if err != nil {
		return OutcomeInvalid, ""
	}
	anon := t.anonDay(b.Site, now)
	storedID := vis.id
	if anon != nil {
		storedID = anon.VisitorID(vis.id)
	}
	if t.excludedAs(vis.id, storedID) {
		t.dropped(EndpointBeacon, DropExcluded, b.Site, storage.ReasonExcluded, 1)
		return OutcomeExcluded, vis.setCookie
	}
	origin, class := scoring.ClassifyReferrer(b.Referrer)
	in := h.in
	in.Site = b.Site
	in.SPA, in.InteractionMS = b.SPA, b.InteractionMS
	in.ScreenSent, in.ScreenValid = b.ScreenSent, b.ScreenValid
	in.ExternalReferrer = origin != scoring.UnknownOrigin
	in.Path = b.Path
	ipKey, tier, keyed := t.stateInputs(&in, uai, peer, now, true)
	res := t.Rules.Score(&in)
	t.checkPoW(&res, b.Token, b.SessionID, b.Site, vis.id, now, true)
	t.Rules.BotIP(&res, tier, res.PoWResult == scoring.PoWValid)
	parsed := uai.parsed
	if t.Prints != nil && keyed {
		fp := printOf(parsed, &b, in.Country, h.lang)
		if anon != nil {
			anonymizePrint(anon, &fp)
		}
		// A hit without a valid proof is evidence whatever points the
		// proof's result gives: a pool of addresses sharing one setup and
		// no proof is caught even on a site with no other traffic.
		evidence := res.Score >= scoring.EvidenceScore || t.PoW != nil && res.PoWResult != scoring.PoWValid
		t.Prints.Record(ipKey, storedID, b.Site, &fp, evidence, tier == scoring.IPTierConfirmed, now)
	}
	if t.Config.DiscardThreshold > 0 && res.Score >= t.Config.DiscardThreshold {
		t.dropped(EndpointBeacon, DropScore, b.Site, scoreReason(&res), 1)
		return OutcomeBotDropped, vis.setCookie
	}

	v := storage.View{
		CreatedAt:      now,
		VisitorID:      vis.id,
		Path:           b.Path,
		SiteID:         b.Site,
		SessionID:      b.SessionID,
		OSName:         parsed.OS,
		BrowserName:    parsed.Browser,
		BrowserVersion: parsed.BrowserVersion,
		CountryCode:    in.Country,
		InteractionMS:  b.InteractionMS,
		IsReturning:    vis.returning,
		IsPWA:          b.PWA,
		Referrer:       origin,
		ReferrerType:   string(class),
		BotScore:       res.Score,
		BotScoreDetail: res.DetailJSON(),
		UTMSource:      b.UTMSource,
		UTMMedium:      b.UTMMedium,
		UTMCampaign:    b.UTMCampaign,
		UTMContent:     b.UTMContent,
		UTMTerm:        b.UTMTerm,
	}
	if t.UTM != nil && (v.UTMCampaign == "" || !t.UTM.CampaignActive(v.SiteID, v.UTMCampaign)) {
		v.UTMSource, v.UTMMedium, v.UTMCampaign, v.UTMContent, v.UTMTerm = "", "", "", "", ""
	}
	if b.ScreenValid {
		v.ScreenWidth, v.ScreenHeight = b.ScreenWidth, b.ScreenHeight
		v.DeviceType = scoring.DeviceFromScreen(b.ScreenWidth)
	}
	if anon != nil {
		anonymizeView(anon, &v)
	}
	if !t.Sink.AddView(v) {
		return OutcomeOverflow, vis.setCookie
	}
	return OutcomeStored, vis.setCookie
}
