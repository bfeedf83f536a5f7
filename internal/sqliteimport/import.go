// Package sqliteimport imports the history of the original Echelon (a Deno
// + SQLite program) into a store: views, events, experiments and their
// variants, UTM campaigns, excluded visitors, perf metrics and the daily
// rollups of days whose raw rows are gone. Records go through the same
// validation and storage calls as the HTTP API (/api/ingest, /api/perf,
// /api/experiments, /api/campaigns, /api/bots/exclude), and each imported
// row is remembered, so importing the same file again adds nothing.
package sqliteimport

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// Keep is how long the ids of imported rows are remembered: longer than
// any counter is kept, so a rerun within it never stores a row twice.
const Keep = 3 * 366 * 24 * time.Hour

// batchSize is how many rows one storage call takes.
const batchSize = 5000

// oldest is the earliest time a row may have: the store's ids start in 2024.
var oldest = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Count is what happened to the rows of one table.
type Count struct {
	Imported, Present, Skipped int
}

// Report counts the rows of each table, by table name.
type Report struct {
	Tables map[string]*Count
	// Skips are the reasons rows were skipped, with how many each.
	Skips map[string]int
}

func (r *Report) count(table string) *Count {
	c := r.Tables[table]
	if c == nil {
		c = &Count{}
		r.Tables[table] = c
	}
	return c
}

func (r *Report) skip(table, reason string) {
	r.count(table).Skipped++
	r.Skips[table+": "+reason]++
}

// Import reads every table of src into st. now bounds the rows' times (a
// row after now is skipped); it is also the day whose counters stay live
// (today's are not re-derived).
func Import(ctx context.Context, src *Source, st *storage.Store, now time.Time) (*Report, error) {
	rep := &Report{Tables: map[string]*Count{}, Skips: map[string]int{}}
	im := &importer{src: src, st: st, now: now.UTC(), rep: rep, days: map[siteDay]bool{}, rawDays: map[siteDay]bool{}}
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"excluded_visitors", im.exclusions},
		{"experiments", im.experiments},
		{"utm_campaigns", im.campaigns},
		{"perf_metrics", im.perf},
		{"visitor_views", im.views},
		{"semantic_events", im.events},
		{"visitor_views_daily", im.rollups},
	}
	for _, s := range steps {
		if err := s.run(ctx); err != nil && !errors.Is(err, errNoTable) {
			return rep, fmt.Errorf("import %s: %w", s.name, err)
		}
	}
	return rep, nil
}

type siteDay struct {
	site string
	day  storage.Day
}

type importer struct {
	src *Source
	st  *storage.Store
	now time.Time
	rep *Report
	// days are the (site, day)s with imported rows; rawDays those with a
	// clean view in the file, whose rollup the rows replace.
	days, rawDays map[siteDay]bool
}

// rowID is the id an imported row is remembered by: the table and a hash
// of the row's identity, so rows of two different files do not collide.
func rowID(table string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s|", len(p), p)
	}
	return "sqlite/" + table + "/" + hex.EncodeToString(h.Sum(nil)[:16])
}

// rowTime is a row's created_at, or a reason to skip it.
func (im *importer) rowTime(v any) (time.Time, string) {
	t, err := parseTime(v)
	switch {
	case err != nil:
		return t, "created_at is not a timestamp"
	case t.Before(oldest):
		return t, "created_at before 2024"
	case t.After(im.now.Add(time.Minute)):
		return t, "created_at in the future"
	}
	return t, ""
}
