package echelon

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/echelon-analytics/caddy-echelon/geoip"
)

// geoipCheck is how often the country database file is checked for a
// newer copy (size or modification time), off the request path.
const geoipCheck = time.Minute

// openGeoIP maps the country database and watches the file until Cleanup.
// At start a missing or broken file is a provisioning error, so a typo
// never silently leaves every country unknown; later, a broken
// replacement is logged and the database in use is kept.
func (h *Handler) openGeoIP(path string) (*geoip.DB, error) {
	db, err := geoip.Open(path)
	if err != nil {
		return nil, fmt.Errorf("echelon: geoip_db: %w", err)
	}
	logger := h.logger.With(zap.String("geoip_db", path))
	db.Watch(geoipCheck,
		func() { logger.Info("country database reloaded") },
		func(err error) {
			logger.Warn("country database not reloaded; the previous copy stays in use", zap.Error(err))
		})
	return db, nil
}
