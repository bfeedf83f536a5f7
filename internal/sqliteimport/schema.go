package sqliteimport

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver (pure Go)
)

// table is one table of the original's schema: the columns read, those
// without which the table cannot be imported, and whether the file must
// have the table at all. Optional columns the file lacks read as NULL, so
// files of older versions import too.
type table struct {
	name     string
	required bool
	core     []string // must exist
	columns  []string // read, in this order; core ones included
}

var tables = []table{
	{name: "visitor_views", required: true,
		core: []string{"id", "visitor_id", "path", "site_id", "created_at"},
		columns: []string{"id", "visitor_id", "path", "site_id", "session_id", "interaction_ms", "screen_width", "screen_height",
			"device_type", "os_name", "browser_name", "browser_version", "country_code", "is_returning", "referrer", "referrer_type",
			"bot_score", "bot_score_detail", "is_pwa", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "created_at"}},
	{name: "semantic_events", required: true,
		core: []string{"id", "event_type", "site_id", "created_at"},
		columns: []string{"id", "event_type", "site_id", "session_id", "visitor_id", "data", "experiment_id", "variant_id",
			"utm_campaign", "device_type", "referrer", "hour", "month", "day_of_week", "is_returning", "bot_score",
			"bot_score_detail", "created_at"}},
	{name: "visitor_views_daily",
		core:    []string{"site_id", "date", "visits"},
		columns: []string{"site_id", "date", "device_type", "country_code", "is_returning", "visits", "unique_visitors", "avg_interaction_ms"}},
	{name: "excluded_visitors",
		core:    []string{"visitor_id"},
		columns: []string{"visitor_id", "label", "created_at"}},
	{name: "experiments",
		core: []string{"experiment_id", "name", "metric_event_type"},
		columns: []string{"experiment_id", "name", "description", "metric_event_type", "status", "allocation_percent",
			"created_at", "started_at", "ended_at"}},
	{name: "experiment_variants",
		core:    []string{"experiment_id", "variant_id", "name"},
		columns: []string{"experiment_id", "variant_id", "name", "weight", "is_control", "config"}},
	{name: "utm_campaigns",
		core:    []string{"id", "name", "utm_campaign"},
		columns: []string{"id", "name", "utm_campaign", "site_id", "status", "created_at"}},
	{name: "perf_metrics",
		core:    []string{"id", "category", "metric", "value", "unit"},
		columns: []string{"id", "recorded_at", "commit_hash", "branch", "category", "metric", "value", "unit", "metadata"}},
}

// Source is an original Echelon database opened read-only, its schema
// checked.
type Source struct {
	db   *sql.DB
	path string
	// selects are the SELECT of each table present, by name.
	selects map[string]string
}

// Open opens path read-only and checks that it is an intact SQLite
// database with the original's schema. Nothing is written to it (SQLite's
// read-only mode: no journal, no WAL checkpoint).
func Open(ctx context.Context, path string) (*Source, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("open %s: not a regular file", path)
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?mode=ro&_pragma=query_only(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	s := &Source{db: db, path: path, selects: map[string]string{}}
	if err := s.check(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Source) Close() error { return s.db.Close() }

// check runs SQLite's quick integrity check and reads the schema.
func (s *Source) check(ctx context.Context) error {
	var res string
	if err := s.db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&res); err != nil {
		return fmt.Errorf("%s is not a readable SQLite database: %w", s.path, err)
	}
	if res != "ok" {
		return fmt.Errorf("%s is a damaged SQLite database: %s", s.path, res)
	}
	var missing []string
	for _, t := range tables {
		cols, err := s.columns(ctx, t.name)
		if err != nil {
			return err
		}
		if len(cols) == 0 {
			if t.required {
				missing = append(missing, "table "+t.name)
			}
			continue
		}
		var lack []string
		for _, c := range t.core {
			if !cols[c] {
				lack = append(lack, c)
			}
		}
		if len(lack) > 0 {
			missing = append(missing, fmt.Sprintf("%s.%s", t.name, strings.Join(lack, ", ")))
			continue
		}
		exprs := make([]string, len(t.columns))
		for i, c := range t.columns {
			exprs[i] = `"` + c + `"`
			if !cols[c] {
				exprs[i] = "NULL"
			}
		}
		s.selects[t.name] = "SELECT " + strings.Join(exprs, ", ") + ` FROM "` + t.name + `"`
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s does not have the schema of an Echelon (Deno + SQLite) database: missing %s", s.path, strings.Join(missing, "; "))
	}
	return nil
}

// columns are the columns of table name, none if there is no such table.
func (s *Source) columns(ctx context.Context, name string) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT name FROM pragma_table_info(?)", name)
	if err != nil {
		return nil, fmt.Errorf("read the schema of %s: %w", s.path, err)
	}
	defer rows.Close()
	cols := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols[strings.ToLower(c)] = true
	}
	return cols, rows.Err()
}

// errNoTable is a table the file does not have.
var errNoTable = errors.New("no such table")

// each calls fn with the values of every row of table name (in the order
// of its columns), ordered by order (SQL, may be empty).
func (s *Source) each(ctx context.Context, name, order string, fn func(vals []any) error) error {
	q, ok := s.selects[name]
	if !ok {
		return errNoTable
	}
	if order != "" {
		q += " ORDER BY " + order
	}
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		if err := fn(vals); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}
