package storage

import (
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Per-site settings (docs/api.md, Sites):
//
//	0x34 | site_id  →  settingsVersion | JSON siteRecord
//
// Only the consent banner's CSS lives here for now.

// SiteSettings is one site's settings; "" stands for null.
type SiteSettings struct {
	ConsentCSS string
	UpdatedAt  time.Time
}

type siteRecord struct {
	ConsentCSS string `json:"css,omitempty"`
	Updated    int64  `json:"u"`
}

func siteSettingsKey(site string) []byte { return append([]byte{tableSiteSettings}, site...) }

// SiteSettings reads a site's settings; a site never written has the zero
// value and found false.
func (s *Store) SiteSettings(site string) (st SiteSettings, found bool, err error) {
	var rec siteRecord
	err = s.db.View(func(txn *badger.Txn) error { return getSetting(txn, siteSettingsKey(site), &rec) })
	switch {
	case errors.Is(err, ErrNotFound):
		return SiteSettings{}, false, nil
	case err != nil:
		return SiteSettings{}, false, fmt.Errorf("settings of site %s: %w", site, err)
	}
	return SiteSettings{ConsentCSS: rec.ConsentCSS, UpdatedAt: msTime(rec.Updated)}, true, nil
}

// SetConsentCSS stores a site's consent CSS ("" = null), creating its
// settings if needed, and changes ScriptVersion so served trackers pick it
// up.
func (s *Store) SetConsentCSS(site, css string, now time.Time) error {
	if !ValidSiteID(site) {
		return fmt.Errorf("settings: invalid site id %q", site)
	}
	s.exp.mu.Lock()
	defer s.exp.mu.Unlock()
	err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(siteSettingsKey(site), encodeSetting(siteRecord{ConsentCSS: css, Updated: now.UnixMilli()}))
	})
	if err != nil {
		return fmt.Errorf("settings of site %s: %w", site, err)
	}
	s.exp.version.Add(1)
	return nil
}
