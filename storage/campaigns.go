package storage

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// UTM campaigns (docs/api.md, Campaigns):
//
//	0x0d | id  →  JSON of campaignRecord
//
// The registry is small (hundreds at most): reads load it whole. The set
// of active (site, utm_campaign) pairs the beacon checks is kept in memory
// and replaced on every write, so the check is one atomic load and a map
// lookup.
const tableCampaigns byte = 0x0d

// CampaignStatuses are the statuses a campaign may have.
func CampaignStatuses() []string { return []string{"active", "paused", "archived"} }

// Campaign is one registered UTM campaign.
type Campaign struct {
	ID          string
	Name        string
	UTMCampaign string
	SiteID      string
	Status      string
	CreatedAt   string // TimeLayout
}

// campaignRecord is how a Campaign is stored.
type campaignRecord struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	UTMCampaign string `json:"utm_campaign"`
	SiteID      string `json:"site_id"`
	Status      string `json:"status"`
	CreatedAt   string `json:"created_at"`
}

func decodeCampaign(v []byte, c *Campaign) error {
	var rec campaignRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return err
	}
	*c = Campaign(rec)
	return nil
}

// A duplicate id or (utm_campaign, site_id) is ErrConflict (experiments.go).

// campaignSet is the active (site, utm_campaign) pairs and every campaign
// by (site, utm_campaign).
type campaignSet struct {
	active map[[2]string]bool
}

type campaignRegistry struct {
	mu  sync.Mutex // serialises writes
	set atomic.Pointer[campaignSet]
}

func campaignKey(id string) []byte { return append([]byte{tableCampaigns}, id...) }

// Campaigns returns every registered campaign, newest first.
func (s *Store) Campaigns() ([]Campaign, error) {
	var out []Campaign
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tableCampaigns}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var c Campaign
			if err := it.Item().Value(func(v []byte) error { return decodeCampaign(v, &c) }); err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("campaigns: %w", err)
	}
	slices.SortStableFunc(out, func(a, b Campaign) int {
		if c := cmp.Compare(b.CreatedAt, a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return out, nil
}

// CampaignByID reads one campaign.
func (s *Store) CampaignByID(id string) (Campaign, bool, error) {
	var c Campaign
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(campaignKey(id))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error { return decodeCampaign(v, &c) })
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return c, false, nil
	}
	return c, err == nil, err
}

// CreateCampaign stores c with status active and CreatedAt now, unless c
// has them (an import of history); a taken id or (utm_campaign, site_id)
// is ErrConflict.
func (s *Store) CreateCampaign(c Campaign, now time.Time) error {
	s.campaigns.mu.Lock()
	defer s.campaigns.mu.Unlock()
	all, err := s.Campaigns()
	if err != nil {
		return err
	}
	for _, o := range all {
		if o.ID == c.ID || o.UTMCampaign == c.UTMCampaign && o.SiteID == c.SiteID {
			return ErrConflict
		}
	}
	c.Status = cmp.Or(c.Status, "active")
	c.CreatedAt = cmp.Or(c.CreatedAt, now.UTC().Format(TimeLayout))
	return s.putCampaign(c, false)
}

// SetCampaignStatus changes a campaign's status; ok is false when there is
// no such campaign.
func (s *Store) SetCampaignStatus(id, status string) (ok bool, err error) {
	s.campaigns.mu.Lock()
	defer s.campaigns.mu.Unlock()
	c, ok, err := s.CampaignByID(id)
	if !ok || err != nil {
		return false, err
	}
	c.Status = status
	return true, s.putCampaign(c, false)
}

// DeleteCampaign removes a campaign; ok is false when there was none.
func (s *Store) DeleteCampaign(id string) (ok bool, err error) {
	s.campaigns.mu.Lock()
	defer s.campaigns.mu.Unlock()
	c, ok, err := s.CampaignByID(id)
	if !ok || err != nil {
		return false, err
	}
	return true, s.putCampaign(c, true)
}

func (s *Store) putCampaign(c Campaign, remove bool) error {
	err := s.db.Update(func(txn *badger.Txn) error {
		if remove {
			return txn.Delete(campaignKey(c.ID))
		}
		b, err := json.Marshal(campaignRecord(c))
		if err != nil {
			return err
		}
		return txn.Set(campaignKey(c.ID), b)
	})
	if err != nil {
		return fmt.Errorf("campaign %s: %w", c.ID, err)
	}
	return s.loadCampaigns()
}

// loadCampaigns rebuilds the in-memory set of active campaigns.
func (s *Store) loadCampaigns() error {
	all, err := s.Campaigns()
	if err != nil {
		return err
	}
	set := &campaignSet{active: make(map[[2]string]bool)}
	for _, c := range all {
		if c.Status == "active" {
			set.active[[2]string{c.SiteID, c.UTMCampaign}] = true
		}
	}
	s.campaigns.set.Store(set)
	return nil
}

// CampaignActive reports whether utmCampaign is an active campaign of site:
// only then does a view keep its UTM fields (docs/api.md, Campaigns).
func (s *Store) CampaignActive(site, utmCampaign string) bool {
	set := s.campaigns.set.Load()
	return set != nil && set.active[[2]string{site, utmCampaign}]
}
