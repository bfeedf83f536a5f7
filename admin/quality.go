package admin

import (
	"strconv"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// The dashboard's Traffic quality card: of the period's clean views, how
// many carried a valid proof of work, and what was kept out of the
// statistics, by reason (/api/stats/quality, docs/api.md).

// qualityReply is the part of /api/stats/quality the card shows.
type qualityReply struct {
	Views            uint64                   `json:"views"`
	VerifiedVisits   uint64                   `json:"verified_visits"`
	UnverifiedVisits uint64                   `json:"unverified_visits"`
	BotViews         uint64                   `json:"bot_views"`
	Filtered         map[string]filteredCount `json:"filtered"`
	Total            filteredCount            `json:"filtered_total"`
}

type filteredCount struct {
	Views  uint64 `json:"views"`
	Events uint64 `json:"events"`
}

type qualityCard struct {
	Verified, Unverified, Bots uint64
	VerifiedShare              string // "97.5%", "" without views
	Total                      filteredCount
	Reasons                    []reasonRow // in the fixed order, every one
}

type reasonRow struct {
	Key, Label    string
	Views, Events uint64
}

// reasonLabels name the reasons of storage.Reason for people.
var reasonLabels = map[string]string{
	"known_ua":     "Known bot or automation",
	"rate_limited": "Rate limit",
	"pow_missing":  "No proof of work",
	"pow_invalid":  "Invalid proof",
	"pow_expired":  "Expired proof",
	"pow_replayed": "Replayed proof",
	"threshold":    "Bot score",
	"excluded":     "Excluded visitor",
	"correlator":   "Correlated cluster",
}

func (q *qualityReply) card() qualityCard {
	c := qualityCard{Verified: q.VerifiedVisits, Unverified: q.UnverifiedVisits, Bots: q.BotViews, Total: q.Total}
	if q.Views > 0 {
		c.VerifiedShare = strconv.FormatFloat(float64(q.VerifiedVisits)*100/float64(q.Views), 'f', 1, 64) + "%"
	}
	for _, r := range storage.Reasons() {
		key := r.String()
		f := q.Filtered[key]
		c.Reasons = append(c.Reasons, reasonRow{Key: key, Label: reasonLabels[key], Views: f.Views, Events: f.Events})
	}
	return c
}
