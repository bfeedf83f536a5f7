package echelon

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/echelon-analytics/caddy-echelon/internal/seed"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// seedCommand is `caddy echelon seed`: synthetic history for demos and
// benchmarks, stored with the same counters as live traffic.
func seedCommand() *cobra.Command {
	var opt seed.Options
	var db string
	c := &cobra.Command{
		Use:   "seed --db <dir> --site <id> --days N --views N",
		Short: "Write realistic synthetic analytics history into a data directory",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if db == "" {
				return fmt.Errorf("seed: --db is required")
			}
			st, err := storage.Open(storage.Options{Dir: db})
			if err != nil {
				return err
			}
			start := time.Now()
			res, err := seed.Write(st, opt)
			if cerr := st.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.OutOrStdout(), "seeded %s: %d views (%d bots), %d events over %d days in %s\n",
				opt.Site, res.Views, res.BotViews, res.Events, opt.Days, time.Since(start).Round(time.Millisecond))
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&db, "db", "", "data directory (db_path)")
	f.StringVar(&opt.Site, "site", "demo", "site id")
	f.IntVar(&opt.Days, "days", 30, "days of history, ending now")
	f.IntVar(&opt.Views, "views", 10000, "pageviews in total, a few bots included")
	f.IntVar(&opt.Pages, "pages", 400, "distinct pages of the site")
	f.Uint64Var(&opt.Seed, "seed", 1, "random seed: the same flags write the same data")
	return c
}
