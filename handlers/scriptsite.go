package handlers

import (
	"strings"

	"github.com/echelon-analytics/caddy-echelon/storage"
	"github.com/echelon-analytics/caddy-echelon/tracker"
)

// SiteSettings is what the tracker of a site embeds from the store:
// storage.Store is the real one.
type SiteSettings interface {
	// ScriptVersion changes whenever the data below changes.
	ScriptVersion() uint64
	ExperimentsWithStatus(statuses ...string) ([]storage.Experiment, error)
	SiteSettings(site string) (storage.SiteSettings, bool, error)
}

// siteScript is the per-site identity of ea.js for site and the loader
// of what it embeds: every active experiment (experiments have no site,
// so each site's script carries all of them) and, with
// cookie_consent, the site's consent CSS.
func (t *Tracking) siteScript(site string) (tracker.Site, func() tracker.SiteData) {
	ts := tracker.Site{
		ID:      site,
		Consent: t.Config.CookieConsent,
		Anon:    t.Config.AnonymizeSites[strings.ToLower(site)],
	}
	if t.Settings == nil {
		return ts, nil
	}
	ts.Version = t.Settings.ScriptVersion()
	return ts, func() tracker.SiteData {
		var sd tracker.SiteData
		// A failed read serves the script without the data, until the
		// next minute's script or settings change.
		if list, err := t.Settings.ExperimentsWithStatus(storage.StatusActive); err == nil {
			for _, e := range list {
				te := tracker.Experiment{ID: e.ID, AllocationPercent: e.AllocationPercent}
				for _, v := range e.Variants {
					te.Variants = append(te.Variants, tracker.Variant{ID: v.ID, Weight: v.Weight})
				}
				sd.Experiments = append(sd.Experiments, te)
			}
		}
		if ts.Consent {
			if st, _, err := t.Settings.SiteSettings(site); err == nil {
				sd.ConsentCSS = st.ConsentCSS
			}
		}
		return sd
	}
}
