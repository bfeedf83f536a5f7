package sqliteimport

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/echelon-analytics/caddy-echelon/handlers"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// The definitions: excluded visitors, experiments, campaigns and perf
// metrics, each validated by the parser of its API endpoint. An existing
// definition with the same id is left as it is.

// stamp is a timestamp column, or zero when it is NULL or not a time.
func stamp(v any) time.Time {
	t, err := parseTime(v)
	if err != nil {
		return time.Time{}
	}
	return t
}

func (im *importer) exclusions(ctx context.Context) error {
	c := im.rep.count("excluded_visitors")
	return im.src.each(ctx, "excluded_visitors", "visitor_id", func(r []any) error {
		body := map[string]any{"visitor_id": text(r[0], 1024)}
		if r[1] != nil {
			body["label"] = text(r[1], 1024)
		}
		req, err := handlers.ParseExclude(mustJSON(body))
		if err != nil {
			im.rep.skip("excluded_visitors", err.Error())
			return nil
		}
		at := stamp(r[2])
		if at.IsZero() {
			at = im.now
		}
		created, err := im.st.Exclude(req.VisitorID, req.Label, req.HasLabel, at)
		if err != nil {
			return err
		}
		if created {
			c.Imported++
		} else {
			c.Present++
		}
		return nil
	})
}

func (im *importer) experiments(ctx context.Context) error {
	variants := map[string][]map[string]any{}
	err := im.src.each(ctx, "experiment_variants", "experiment_id, rowid", func(r []any) error {
		id := text(r[0], 1024)
		v := map[string]any{"variant_id": text(r[1], 1024), "name": text(r[2], 1024), "is_control": flag(r[4])}
		if w, ok := number(r[3]); ok {
			v["weight"] = w
		}
		if cfg := jsonText(r[5], 4096); cfg != "" {
			v["config"] = json.RawMessage(cfg)
		}
		variants[id] = append(variants[id], v)
		return nil
	})
	if err != nil && !errors.Is(err, errNoTable) {
		return err
	}
	c := im.rep.count("experiments")
	return im.src.each(ctx, "experiments", "created_at, experiment_id", func(r []any) error {
		id := text(r[0], 1024)
		body := map[string]any{
			"experiment_id": id, "name": text(r[1], 1024), "metric_event_type": text(r[3], 1024),
			"variants": variants[id],
		}
		if r[2] != nil {
			body["description"] = text(r[2], 4096)
		}
		if n, ok := number(r[5]); ok {
			body["allocation_percent"] = n
		}
		e, err := handlers.ParseExperiment(mustJSON(body))
		if err != nil {
			im.rep.skip("experiments", err.Error())
			return nil
		}
		switch s := text(r[4], 16); s {
		case storage.StatusDraft, storage.StatusActive, storage.StatusPaused, storage.StatusCompleted, storage.StatusArchived:
			e.Status = s
		}
		e.CreatedAt, e.StartedAt, e.EndedAt = stamp(r[6]), stamp(r[7]), stamp(r[8])
		if e.CreatedAt.IsZero() {
			e.CreatedAt = im.now
		}
		return created(c, im.st.CreateExperiment(e))
	})
}

func (im *importer) campaigns(ctx context.Context) error {
	c := im.rep.count("utm_campaigns")
	return im.src.each(ctx, "utm_campaigns", "created_at, id", func(r []any) error {
		body := map[string]any{"id": text(r[0], 1024), "name": text(r[1], 1024), "utm_campaign": text(r[2], 1024)}
		if r[3] != nil {
			body["site_id"] = text(r[3], 1024)
		}
		camp, perr := handlers.ParseCampaign(body)
		if perr != nil {
			im.rep.skip("utm_campaigns", perr.Message)
			return nil
		}
		switch s := text(r[4], 16); s {
		case "active", "paused", "archived":
			camp.Status = s
		}
		if t := stamp(r[5]); !t.IsZero() {
			camp.CreatedAt = t.Format(storage.TimeLayout)
		}
		return created(c, im.st.CreateCampaign(camp, im.now))
	})
}

func (im *importer) perf(ctx context.Context) error {
	b := &batcher[storage.PerfMetric]{c: im.rep.count("perf_metrics"), put: im.st.ImportPerfMetrics}
	err := im.src.each(ctx, "perf_metrics", "id", func(r []any) error {
		at, why := im.rowTime(r[1])
		if why != "" {
			im.rep.skip("perf_metrics", "recorded_at: "+why)
			return nil
		}
		item := map[string]any{"category": text(r[4], 1024), "metric": text(r[5], 1024), "unit": text(r[7], 1024)}
		if v, ok := number(r[6]); ok {
			item["value"] = v
		}
		for i, name := range map[int]string{2: "commit_hash", 3: "branch"} {
			if r[i] != nil {
				item[name] = text(r[i], 1024)
			}
		}
		if md := jsonText(r[8], 1<<20); md != "" {
			item["metadata"] = json.RawMessage(md)
		}
		ms, err := handlers.ParsePerfMetrics(mustJSON([]any{item}))
		if err != nil {
			im.rep.skip("perf_metrics", err.Error())
			return nil
		}
		m := ms[0]
		m.RecordedAt = at
		return b.add(m, rowID("perf", text(r[0], 32), at.Format(time.RFC3339Nano), m.Category, m.Metric))
	})
	if err != nil {
		return err
	}
	return b.flush()
}

// created counts the outcome of creating one definition: imported, or
// present when one with its id exists already; other errors end the import.
func created(c *Count, err error) error {
	switch {
	case errors.Is(err, storage.ErrConflict):
		c.Present++
	case err != nil:
		return err
	default:
		c.Imported++
	}
	return nil
}

// mustJSON encodes a body for an API parser; a value that does not encode
// (none should: strings, finite numbers, compact JSON) gives an empty
// body, which the parser refuses.
func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
