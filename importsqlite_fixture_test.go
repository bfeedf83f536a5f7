package echelon

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// The original Echelon's schema (Deno + SQLite), table by table as it
// stores its rows.
const originalSchema = `
CREATE TABLE visitor_views (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	visitor_id TEXT NOT NULL, path TEXT NOT NULL, site_id TEXT NOT NULL,
	session_id TEXT, interaction_ms INTEGER, screen_width INTEGER, screen_height INTEGER,
	device_type TEXT, os_name TEXT, browser_name TEXT, browser_version TEXT, country_code TEXT,
	is_returning INTEGER NOT NULL DEFAULT 0, referrer TEXT, referrer_type TEXT,
	bot_score INTEGER NOT NULL DEFAULT 0, bot_score_detail TEXT, is_pwa INTEGER NOT NULL DEFAULT 0,
	utm_source TEXT, utm_medium TEXT, utm_campaign TEXT, utm_content TEXT, utm_term TEXT,
	created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
CREATE INDEX idx_views_site_time ON visitor_views(site_id, created_at);
CREATE TABLE visitor_views_daily (
	site_id TEXT NOT NULL, date TEXT NOT NULL, device_type TEXT NOT NULL DEFAULT 'unknown',
	country_code TEXT NOT NULL DEFAULT 'unknown', is_returning INTEGER NOT NULL DEFAULT 0,
	visits INTEGER NOT NULL DEFAULT 0, unique_visitors INTEGER NOT NULL DEFAULT 0, avg_interaction_ms INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (site_id, date, device_type, country_code, is_returning));
CREATE TABLE semantic_events (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	event_type TEXT NOT NULL, site_id TEXT NOT NULL, session_id TEXT, visitor_id TEXT, data TEXT,
	experiment_id TEXT, variant_id TEXT, utm_campaign TEXT, device_type TEXT, referrer TEXT,
	hour INTEGER, month INTEGER, day_of_week INTEGER, is_returning INTEGER NOT NULL DEFAULT 0,
	bot_score INTEGER NOT NULL DEFAULT 0, bot_score_detail TEXT,
	created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
CREATE TABLE excluded_visitors (visitor_id TEXT PRIMARY KEY, label TEXT, created_at TEXT NOT NULL);
CREATE TABLE experiments (
	experiment_id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT, metric_event_type TEXT NOT NULL,
	status TEXT NOT NULL DEFAULT 'draft', allocation_percent INTEGER NOT NULL DEFAULT 100,
	created_at TEXT NOT NULL, started_at TEXT, ended_at TEXT);
CREATE TABLE experiment_variants (
	experiment_id TEXT NOT NULL REFERENCES experiments(experiment_id) ON DELETE CASCADE,
	variant_id TEXT NOT NULL, name TEXT NOT NULL, weight REAL NOT NULL, is_control INTEGER NOT NULL DEFAULT 0, config TEXT,
	PRIMARY KEY (experiment_id, variant_id));
CREATE TABLE perf_metrics (
	id INTEGER PRIMARY KEY AUTOINCREMENT, recorded_at TEXT NOT NULL, commit_hash TEXT, branch TEXT,
	category TEXT NOT NULL, metric TEXT NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL, metadata TEXT);
CREATE TABLE maintenance_log (date TEXT PRIMARY KEY, status TEXT, rollup_rows INTEGER, purge_views INTEGER,
	purge_events INTEGER, started_at TEXT, completed_at TEXT);
CREATE TABLE utm_campaigns (
	id TEXT PRIMARY KEY, name TEXT NOT NULL, utm_campaign TEXT NOT NULL, site_id TEXT NOT NULL DEFAULT 'default',
	status TEXT NOT NULL DEFAULT 'active', created_at TEXT NOT NULL, UNIQUE (utm_campaign, site_id));
CREATE TABLE site_settings (site_id TEXT PRIMARY KEY, consent_css TEXT, updated_at TEXT);
CREATE TABLE instance_settings (key TEXT PRIMARY KEY, value TEXT, updated_at TEXT);
`

// originalFixture is what writeOriginalDB wrote: raw rows for the last
// rawDays days (today included), rollups only (their rows purged) for the
// rollupDays before those.
type originalFixture struct {
	path              string
	sites             []string
	excluded          []string
	rawDays           int
	rollupDays        int
	perfRows, badRows int
}

const originalTime = "2006-01-02T15:04:05.000Z"

// writeOriginalDB builds an original Echelon database with realistic rows
// relative to now.
func writeOriginalDB(t *testing.T, now time.Time) originalFixture {
	t.Helper()
	f := originalFixture{
		path:  filepath.Join(t.TempDir(), "echelon.db"),
		sites: []string{"shop", "blog", "docs"}, rawDays: 10, rollupDays: 35,
		excluded: []string{"00000000000000e1", "00000000000000e2"},
	}
	db, err := sql.Open("sqlite", f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(originalSchema)
	exec("BEGIN")
	rng := rand.New(rand.NewPCG(7, 11))
	pick := func(xs ...string) any {
		if s := xs[rng.IntN(len(xs))]; s != "" {
			return s
		}
		return nil
	}
	today := now.UTC().Truncate(24 * time.Hour)
	for i, id := range f.excluded {
		exec(`INSERT INTO excluded_visitors VALUES (?,?,?)`, id, []any{"office", nil}[i], today.AddDate(0, 0, -30).Format(originalTime))
	}
	paths := make([]string, 15)
	for i := range paths {
		paths[i] = fmt.Sprintf("/page/%d", i)
	}
	paths[3] = "/caf\u00e9?q=1"
	for _, site := range f.sites {
		for d := f.rawDays - 1; d >= 0; d-- {
			day := today.AddDate(0, 0, -d)
			span := 24 * time.Hour
			if d == 0 {
				span = max(time.Minute, now.Sub(day)-time.Minute)
			}
			views := 30 + rng.IntN(40)
			for i := 0; i < views; i++ {
				at := day.Add(time.Duration(rng.Int64N(int64(span))))
				visitor := fmt.Sprintf("%016x", rng.IntN(25)+1000*len(site))
				score := 0
				switch n := rng.IntN(20); {
				case n == 0:
					score = 60 + rng.IntN(40)
				case n == 1:
					score = 25
				}
				if d > 0 && rng.IntN(15) == 0 {
					visitor = f.excluded[rng.IntN(2)] // staff, excluded; never today
				}
				created := any(at.Format(originalTime))
				if i == 0 {
					created = at.Format(time.DateTime) // SQLite's own format
				}
				var utm []any
				if site == "shop" && rng.IntN(4) == 0 {
					utm = []any{pick("newsletter", ""), "email", "spring-sale", pick("a", "b"), nil}
				} else {
					utm = []any{nil, nil, nil, nil, nil}
				}
				exec(`INSERT INTO visitor_views (visitor_id, path, site_id, session_id, interaction_ms, screen_width, screen_height,
					device_type, os_name, browser_name, browser_version, country_code, is_returning, referrer, referrer_type,
					bot_score, bot_score_detail, is_pwa, utm_source, utm_medium, utm_campaign, utm_content, utm_term, created_at)
					VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
					visitor, paths[rng.IntN(len(paths))], site, fmt.Sprintf("%08x-0000-4000-8000-000000000000", rng.IntN(1<<20)),
					[]any{0, 350, 1200, 2500, nil}[rng.IntN(5)], pick("1920", "390", "0", ""), pick("1080", "844", ""),
					pick("desktop", "mobile", "tablet", ""), pick("Windows 10/11", "iOS 17.4", "Linux", ""),
					pick("Chrome", "Firefox", "Safari", ""), pick("126.0.0.0", ""), pick("FI", "DE", "US", "SE", ""),
					rng.IntN(2), pick("https://www.google.com", "direct_or_unknown", ""), pick("search", "direct_or_unknown", "social", ""),
					score, fmt.Sprintf(`{"pow_missing":%d}`, score), rng.IntN(10)/9,
					utm[0], utm[1], utm[2], utm[3], utm[4], created)
				if rng.IntN(2) == 0 {
					typ, data, exp, variant := "click", `{"tag":"a","text":"Buy"}`, any(nil), any(nil)
					switch rng.IntN(4) {
					case 0:
						typ, exp, variant = "experiment_exposure", "checkout-btn", pick("control", "green")
						data = fmt.Sprintf(`{"experiment_id":"checkout-btn","variant_id":%q}`, variant)
					case 1:
						typ, data = "purchase", `{"value":12.5}`
					}
					exec(`INSERT INTO semantic_events (event_type, site_id, session_id, visitor_id, data, experiment_id, variant_id,
						utm_campaign, device_type, referrer, hour, month, day_of_week, is_returning, bot_score, bot_score_detail, created_at)
						VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
						typ, site, "11111111-0000-4000-8000-000000000000", visitor, data, exp, variant, utm[2], pick("desktop", "mobile"),
						"https://"+site+".example", at.Hour(), int(at.Month()), int(at.Weekday()), 0, score, nil,
						at.Add(time.Second).Format(originalTime))
				}
			}
			// An event /api/ingest stored: no visitor, score −1.
			exec(`INSERT INTO semantic_events (event_type, site_id, session_id, data, bot_score, bot_score_detail, created_at)
				VALUES ('signup', ?, '22222222-0000-4000-8000-000000000000', '{"plan":"pro"}', -1, '{"source":"api_ingest"}', ?)`,
				site, day.Add(span/2).Format(originalTime))
			if d > 0 { // the original's rollup of a finished day, from its rows
				exec(`INSERT INTO visitor_views_daily SELECT site_id, substr(created_at, 1, 10), COALESCE(device_type, 'unknown'),
					COALESCE(country_code, 'unknown'), is_returning, count(*), count(DISTINCT visitor_id),
					COALESCE(CAST(avg(CASE WHEN interaction_ms > 0 THEN interaction_ms END) AS INTEGER), 0)
					FROM visitor_views WHERE site_id = ? AND substr(created_at, 1, 10) = ? AND bot_score BETWEEN 0 AND 49
					AND visitor_id NOT IN (SELECT visitor_id FROM excluded_visitors) GROUP BY 1, 2, 3, 4, 5`,
					site, day.Format(time.DateOnly))
			}
		}
		// Older days: only their rollups are left.
		for d := f.rawDays; d < f.rawDays+f.rollupDays; d++ {
			date := today.AddDate(0, 0, -d).Format(time.DateOnly)
			for _, dev := range []string{"desktop", "mobile", "unknown"} {
				for _, cc := range []string{"FI", "DE", "unknown"} {
					if rng.IntN(3) == 0 {
						continue
					}
					visits := 1 + rng.IntN(40)
					exec(`INSERT INTO visitor_views_daily VALUES (?,?,?,?,?,?,?,?)`, site, date, dev, cc, rng.IntN(2),
						visits, 1+rng.IntN(visits), []int{0, 800, 1500}[rng.IntN(3)])
				}
			}
		}
	}
	exec(`INSERT INTO experiments VALUES ('checkout-btn','Checkout button','Green or grey','purchase','active',80,?,?,NULL)`,
		today.AddDate(0, 0, -20).Format(originalTime), today.AddDate(0, 0, -19).Format(originalTime))
	exec(`INSERT INTO experiments VALUES ('hero-copy','Hero copy',NULL,'signup','completed',100,?,?,?)`,
		today.AddDate(0, 0, -40).Format(originalTime), today.AddDate(0, 0, -39).Format(originalTime), today.AddDate(0, 0, -25).Format(originalTime))
	exec(`INSERT INTO experiment_variants VALUES ('checkout-btn','control','Grey',1,1,NULL),('checkout-btn','green','Green',1,0,'{"color":"#0a0"}'),
		('hero-copy','a','A',2,1,NULL),('hero-copy','b','B',1,0,NULL)`)
	exec(`INSERT INTO utm_campaigns VALUES ('spring','Spring sale','spring-sale','shop','active',?),('autumn','Autumn','autumn','blog','paused',?)`,
		today.AddDate(0, 0, -15).Format(originalTime), today.AddDate(0, 0, -60).Format(originalTime))
	for i := 0; i < 12; i++ {
		meta, _ := json.Marshal(fmt.Sprintf(`{"runner":"ci-%d"}`, i)) // the original encoded it twice
		exec(`INSERT INTO perf_metrics (recorded_at, commit_hash, branch, category, metric, value, unit, metadata) VALUES (?,?,?,?,?,?,?,?)`,
			today.AddDate(0, 0, -i-1).Add(9*time.Hour).Format(originalTime), fmt.Sprintf("%07x", i), "main", "build", "bundle_size",
			40000+i*10, "bytes", string(meta))
		f.perfRows++
	}
	// Rows the import must skip, with a reason.
	exec(`INSERT INTO visitor_views (visitor_id, path, site_id, created_at) VALUES ('x', '/', 'bad site!', ?), ('y', '/', 'shop', 'not a time')`,
		today.Format(originalTime))
	f.badRows = 2
	exec("COMMIT")
	return f
}

func sqlOpen(path string) (*sql.DB, error) { return sql.Open("sqlite", path) }
