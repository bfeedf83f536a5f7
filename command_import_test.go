package echelon

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// overviews reads the overview of every site over several ranges.
func overviews(t *testing.T, st *storage.Store, sites []string, now time.Time) map[string]storage.Overview {
	t.Helper()
	out := map[string]storage.Overview{}
	for _, site := range sites {
		for _, days := range []int{1, 7, 30, 60} {
			o, err := st.Overview(site, days, now)
			if err != nil {
				t.Fatal(err)
			}
			out[fmt.Sprintf("%s/%d", site, days)] = o
		}
	}
	return out
}

func sameOverview(t *testing.T, label string, got, want storage.Overview) {
	t.Helper()
	check := func(what string, g, w any) {
		t.Helper()
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s %s:\n got %v\nwant %v", label, what, g, w)
		}
	}
	check("visits", got.Visits, want.Visits)
	check("unique_visitors", got.UniqueVisitors, want.UniqueVisitors)
	check("avg_interaction_ms", got.AvgInteractionMS, want.AvgInteractionMS)
	check("daily_trend", got.DailyTrend, want.DailyTrend)
	check("countries", got.Countries, want.Countries)
	check("top_paths", got.TopPaths, want.TopPaths)
	devs := func(l []storage.DeviceStat) map[string]uint64 {
		m := map[string]uint64{}
		for _, d := range l {
			m[d.DeviceType] = d.Visits
		}
		return m
	}
	check("devices", devs(got.Devices), devs(want.Devices))
}

func TestImportSQLite_OverviewMatchesTheOriginalsRows(t *testing.T) {
	now := time.Now().UTC()
	f := writeOriginalDB(t, now)
	dir := t.TempDir()
	out, err := runEchelon(t, "import-sqlite", "--db", dir, "--from", f.path)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	for _, want := range []string{"visitor_views", "skipped 1: visitor_views: site_id is not a valid site id",
		"skipped 1: visitor_views: created_at is not a timestamp", "imported " + f.path} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	st, err := storage.Open(storage.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	first := overviews(t, st, f.sites, now)
	for _, site := range f.sites {
		for _, days := range []int{1, 7, 30, 60} {
			o, err := st.Overview(site, days, now)
			if err != nil {
				t.Fatal(err)
			}
			want := expectedOverview(t, f.path, site, days, now)
			sameOverview(t, fmt.Sprintf("%s days=%d", site, days), o, want)
			if days == 60 && (len(o.DailyTrend) < f.rawDays+f.rollupDays-1 || o.Visits == 0) {
				t.Errorf("%s: %d days in the trend, %d visits: the rollup-only days are missing", site, len(o.DailyTrend), o.Visits)
			}
		}
	}
	checkDefinitions(t, st, f, now)

	// The daily maintenance re-derives finished days from their rows: an
	// imported rollup (no rows) must survive it, and exclusions hold.
	m := &storage.Maintenance{Now: func() time.Time { return now }, CatchUp: 60, Excluded: st.Excluded}
	if err := st.Maintain(context.Background(), m, now); err != nil {
		t.Fatal(err)
	}
	if after := overviews(t, st, f.sites, now); !reflect.DeepEqual(after, first) {
		t.Errorf("the daily maintenance changed the imported history:\n got %+v\nwant %+v", after["shop/60"], first["shop/60"])
	}
	rows := countRows(t, st, f.sites, now)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// Twice is once: every row is already present.
	out, err = runEchelon(t, "import-sqlite", "--db", dir, "--from", f.path)
	if err != nil {
		t.Fatalf("second import: %v\n%s", err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, " imported ") && !strings.HasPrefix(line, "imported") && !strings.Contains(line, " 0 imported") &&
			!strings.HasPrefix(line, "visitor_views_daily") {
			t.Errorf("the second import imported rows again: %q", line)
		}
	}
	st, err = storage.Open(storage.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if again := overviews(t, st, f.sites, now); !reflect.DeepEqual(again, first) {
		t.Errorf("the second import changed the overview:\n got %+v\nwant %+v", again["shop/60"], first["shop/60"])
	}
	if again := countRows(t, st, f.sites, now); again != rows {
		t.Errorf("rows after the second import %+v, after the first %+v", again, rows)
	}
	checkDefinitions(t, st, f, now)
}

type rowCounts struct{ views, events, perf, experiments, campaigns, exclusions int }

func countRows(t *testing.T, st *storage.Store, sites []string, now time.Time) rowCounts {
	t.Helper()
	var c rowCounts
	for _, site := range sites {
		if err := st.Views(site, time.Unix(0, 0), now.Add(time.Hour), func(*storage.View) bool { c.views++; return true }); err != nil {
			t.Fatal(err)
		}
		if err := st.Events(site, time.Unix(0, 0), now.Add(time.Hour), func(*storage.Event) bool { c.events++; return true }); err != nil {
			t.Fatal(err)
		}
	}
	perf, err := st.PerfMetrics(storage.PerfQuery{})
	exps, err2 := st.ListExperiments(0)
	camps, err3 := st.Campaigns()
	excl, err4 := st.Exclusions(0)
	for _, err := range []error{err, err2, err3, err4} {
		if err != nil {
			t.Fatal(err)
		}
	}
	c.perf, c.experiments, c.campaigns, c.exclusions = len(perf), len(exps), len(camps), len(excl)
	return c
}

// checkDefinitions checks the experiments, campaigns, exclusions and perf
// metrics kept what the original had.
func checkDefinitions(t *testing.T, st *storage.Store, f originalFixture, now time.Time) {
	t.Helper()
	today := now.UTC().Truncate(24 * time.Hour)
	e, err := st.ExperimentByID("checkout-btn")
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != storage.StatusActive || e.AllocationPercent != 80 || len(e.Variants) != 2 || !e.Variants[0].IsControl ||
		e.Variants[1].Config != `{"color":"#0a0"}` || !e.StartedAt.Equal(today.AddDate(0, 0, -19)) {
		t.Errorf("experiment checkout-btn imported as %+v", e)
	}
	if h, err := st.ExperimentByID("hero-copy"); err != nil || h.Status != storage.StatusCompleted || h.EndedAt.IsZero() || h.Variants[0].Weight != 2 {
		t.Errorf("experiment hero-copy imported as %+v (%v)", h, err)
	}
	c, ok, err := st.CampaignByID("autumn")
	if err != nil || !ok || c.Status != "paused" || c.SiteID != "blog" || c.CreatedAt != today.AddDate(0, 0, -60).Format(storage.TimeLayout) {
		t.Errorf("campaign autumn imported as %+v (%v)", c, err)
	}
	for _, id := range f.excluded {
		if !st.IsExcluded(id) {
			t.Errorf("visitor %s is not excluded", id)
		}
	}
	if ex, ok, _ := st.Exclusion(f.excluded[0]); !ok || ex.Label != "office" || !ex.CreatedAt.Equal(today.AddDate(0, 0, -30)) {
		t.Errorf("exclusion imported as %+v", ex)
	}
	perf, err := st.PerfMetrics(storage.PerfQuery{Category: "build", Metric: "bundle_size"})
	if err != nil || len(perf) != f.perfRows {
		t.Fatalf("%d perf metrics (%v), want %d", len(perf), err, f.perfRows)
	}
	newest := perf[0]
	if !newest.RecordedAt.Equal(today.AddDate(0, 0, -1).Add(9*time.Hour)) || newest.Value != 40000 || *newest.CommitHash != "0000000" {
		t.Errorf("newest perf metric %+v", newest)
	}
	if string(newest.Metadata) != `{"runner":"ci-0"}` {
		t.Errorf("perf metadata %s: the original's double encoding is not undone", newest.Metadata)
	}
}

func TestImportSQLite_RefusesBadFilesAndLeavesTheStoreUntouched(t *testing.T) {
	now := time.Now().UTC()
	f := writeOriginalDB(t, now)
	dir := t.TempDir()
	if out, err := runEchelon(t, "import-sqlite", "--db", dir, "--from", f.path); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	before := snapshot(t, dir)
	tmp := t.TempDir()
	garbage := filepath.Join(tmp, "garbage.db")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not sqlite at all "), 400), 0o600); err != nil {
		t.Fatal(err)
	}
	// A real SQLite file whose header survived but whose pages did not.
	damaged := filepath.Join(tmp, "damaged.db")
	raw, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 4096; i < len(raw); i += 7 {
		raw[i] ^= 0x5a
	}
	if err := os.WriteFile(damaged, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	wrong := filepath.Join(tmp, "other.db")
	db, err := sqlOpen(wrong)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE visitor_views (id INTEGER PRIMARY KEY, page TEXT); CREATE TABLE notes (body TEXT)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, c := range []struct{ name, from, want string }{
		{"not sqlite", garbage, "is not a readable SQLite database"},
		{"damaged", damaged, "SQLite database"},
		{"wrong schema", wrong, "does not have the schema of an Echelon (Deno + SQLite) database: missing visitor_views.visitor_id, path, site_id, created_at; table semantic_events"},
		{"missing", filepath.Join(tmp, "nope.db"), "no such file"},
	} {
		out, err := runEchelon(t, "import-sqlite", "--db", dir, "--from", c.from)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q\n%s", c.name, err, c.want, out)
		}
		if after := snapshot(t, dir); !reflect.DeepEqual(after, before) {
			t.Errorf("%s: the store's files changed", c.name)
		}
		empty := t.TempDir()
		if _, err := runEchelon(t, "import-sqlite", "--db", empty, "--from", c.from); err == nil {
			t.Errorf("%s: import into an empty directory succeeded", c.name)
		}
		if ents, _ := os.ReadDir(empty); len(ents) != 0 {
			t.Errorf("%s: a refused import created %d files in an empty directory", c.name, len(ents))
		}
	}
	if _, err := runEchelon(t, "import-sqlite", "--db", dir); err == nil || !strings.Contains(err.Error(), "--from") {
		t.Errorf("import without --from: %v", err)
	}

	// A store a running Caddy holds open.
	st, err := storage.Open(storage.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = runEchelon(t, "import-sqlite", "--db", dir, "--from", f.path)
	if err == nil || !strings.Contains(err.Error(), "is in use, most likely by a running Caddy") {
		t.Errorf("import into an open store: %v", err)
	}
}

// snapshot is every file of dir with its size and modification time.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out[p] = fmt.Sprint(fi.ModTime(), fi.Size())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
