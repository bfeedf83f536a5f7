package handlers

import (
	"strings"
	"time"

	"github.com/echelon-analytics/caddy-echelon/anonymize"
	"github.com/echelon-analytics/caddy-echelon/scoring"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// anonDay returns the day's mappings when site is anonymized, nil for
// every other site: with no anonymized site configured that is one length
// check on the beacon path.
func (t *Tracking) anonDay(site string, now time.Time) *anonymize.Day {
	if len(t.Config.AnonymizeSites) == 0 || t.Anon == nil || !t.Config.AnonymizeSites[strings.ToLower(site)] {
		return nil
	}
	return t.Anon.Day(now)
}

// excludedAs reports whether a visitor is excluded under its real id or,
// on an anonymized site, under the stand-in the dashboard shows.
func (t *Tracking) excludedAs(realID, storedID string) bool {
	return t.excluded(realID) || storedID != realID && t.excluded(storedID)
}

// anonymizeView replaces every identifying field of a view of an
// anonymized site with the day's stand-in (docs/privacy.md).
func anonymizeView(d *anonymize.Day, v *storage.View) {
	v.VisitorID = d.VisitorID(v.VisitorID)
	v.SessionID = d.SessionID(v.SessionID)
	v.Path = d.Path(v.Path)
	v.CountryCode = d.Country(v.CountryCode)
	v.ScreenWidth, v.ScreenHeight = d.Screen(v.ScreenWidth, v.ScreenHeight)
	v.OSName = d.OS(v.OSName)
	v.BrowserName = d.Browser(v.BrowserName)
	v.BrowserVersion = d.Version(v.BrowserVersion)
	v.DeviceType = d.Device(v.DeviceType)
	v.Referrer = d.Referrer(v.Referrer)
	v.UTMSource, v.UTMMedium, v.UTMCampaign = d.UTM(v.UTMSource), d.UTM(v.UTMMedium), d.UTM(v.UTMCampaign)
	v.UTMContent, v.UTMTerm = d.UTM(v.UTMContent), d.UTM(v.UTMTerm)
}

// anonymizeEvent does the same for an event; its data keeps only the
// keys its type lists.
func anonymizeEvent(d *anonymize.Day, e *storage.Event) {
	e.VisitorID = d.VisitorID(e.VisitorID)
	e.SessionID = d.SessionID(e.SessionID)
	e.Referrer = d.Referrer(e.Referrer)
	e.UTMCampaign = d.UTM(e.UTMCampaign)
	e.DeviceType = d.Device(e.DeviceType)
	if e.DeviceType == "" {
		e.DeviceType = "unknown-vessel"
	}
	e.ExperimentID = d.Experiment(e.ExperimentID)
	e.VariantID = d.Variant(e.VariantID)
	e.Data = d.EventData(e.EventType, e.Data)
}

// anonymizePrint puts the stand-ins into a correlator print, whose hash
// may be recorded in a raised row's detail (the Accept-Language is a hash
// already); the day's mapping keeps equal prints equal, so clustering is
// unchanged.
func anonymizePrint(d *anonymize.Day, fp *scoring.Fingerprint) {
	fp.OS, fp.Browser, fp.Version = d.OS(fp.OS), d.Browser(fp.Browser), d.Version(fp.Version)
	fp.Width, fp.Height = d.Screen(fp.Width, fp.Height)
	fp.Country = d.Country(fp.Country)
}
