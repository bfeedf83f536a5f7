package echelon

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/echelon-analytics/caddy-echelon/internal/sqliteimport"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// importSQLiteCommand is `caddy echelon import-sqlite`: the history of the
// original Echelon (Deno + SQLite) moved into a data directory
// (docs/operations.md, "Coming from the original Echelon").
func importSQLiteCommand() *cobra.Command {
	var db, from string
	c := &cobra.Command{
		Use:   "import-sqlite --db <dir> --from <echelon.db>",
		Short: "Import the history of the original Echelon's SQLite database",
		Long: `Imports views, events, experiments and variants, UTM campaigns, excluded
visitors, perf metrics and daily rollups from the original Echelon's SQLite
file, which is opened read-only. Running it again imports only rows not
imported before. The data directory must not be open in a running Caddy.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if db == "" || from == "" {
				return fmt.Errorf("import-sqlite: --db and --from are required")
			}
			return runImportSQLite(c.Context(), c.OutOrStdout(), db, from, time.Now())
		},
	}
	f := c.Flags()
	f.StringVar(&db, "db", "", "data directory (db_path) to import into")
	f.StringVar(&from, "from", "", "the original Echelon's SQLite database file")
	return c
}

// runImportSQLite checks the SQLite file before it opens the store, so a
// file that is not the original's database leaves the store untouched.
func runImportSQLite(ctx context.Context, out io.Writer, db, from string, now time.Time) error {
	if ctx == nil {
		ctx = context.Background()
	}
	src, err := sqliteimport.Open(ctx, from)
	if err != nil {
		return fmt.Errorf("import-sqlite: %w", err)
	}
	defer src.Close()
	st, err := storage.Open(storage.Options{Dir: db})
	if err != nil {
		if strings.Contains(err.Error(), "Cannot acquire directory lock") {
			return fmt.Errorf("import-sqlite: %s is in use, most likely by a running Caddy: stop it (or import into another directory) and run the import again", db)
		}
		return fmt.Errorf("import-sqlite: %w", err)
	}
	start := time.Now()
	rep, err := sqliteimport.Import(ctx, src, st, now)
	if cerr := st.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("import-sqlite: close %s: %w", db, cerr)
	}
	if rep != nil {
		writeImportReport(out, rep)
	}
	if err != nil {
		return fmt.Errorf("import-sqlite: %w", err)
	}
	_, err = fmt.Fprintf(out, "imported %s into %s in %s\n", from, db, time.Since(start).Round(time.Millisecond))
	return err
}

func writeImportReport(out io.Writer, rep *sqliteimport.Report) {
	for _, name := range slices.Sorted(maps.Keys(rep.Tables)) {
		c := rep.Tables[name]
		fmt.Fprintf(out, "%-20s %8d imported %8d already present %6d skipped\n", name, c.Imported, c.Present, c.Skipped)
	}
	for _, reason := range slices.Sorted(maps.Keys(rep.Skips)) {
		fmt.Fprintf(out, "  skipped %d: %s\n", rep.Skips[reason], reason)
	}
}
