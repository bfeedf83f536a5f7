package echelon

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

func init() {
	caddy.RegisterModule(adminBackup{})
}

// adminBackup adds GET /echelon/backup to Caddy's admin endpoint: a
// consistent backup of a running store, streamed while it keeps taking
// beacons. `caddy echelon backup` calls it the way `caddy reload` reaches
// a running Caddy, so it has the admin endpoint's access rules.
type adminBackup struct{}

func (adminBackup) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.echelon",
		New: func() caddy.Module { return adminBackup{} },
	}
}

func (adminBackup) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: "/echelon/backup", Handler: caddy.AdminHandlerFunc(serveBackup)}}
}

// serveBackup writes the backup of the store named by ?db= (its db_path),
// or of the only store open. Buffered records are flushed first, so the
// backup holds everything accepted before the request.
func serveBackup(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errors.New("backup: GET only")}
	}
	key, err := openStoreKey(r.URL.Query().Get("db"))
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: err}
	}
	// A reference of our own keeps the store open through a config
	// reload that drops its last handler.
	v, _, err := pool.LoadOrNew(key, func() (caddy.Destructor, error) {
		return nil, fmt.Errorf("backup: the store of %s was closed", key)
	})
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: err}
	}
	defer pool.Delete(key)
	sh := v.(*shared)
	if err := sh.writer.Flush(); err != nil {
		return caddy.APIError{HTTPStatus: http.StatusInternalServerError, Err: fmt.Errorf("backup: flush: %w", err)}
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if _, err := sh.store.Backup(w); err != nil {
		// The body has begun: cut the connection, so that the client
		// sees a truncated file (which restore refuses), not an error
		// message appended to it.
		caddy.Log().Named("echelon").Error("backup failed", zap.Error(err))
		panic(http.ErrAbortHandler)
	}
	return nil
}

// openStoreKey is the pool key of the open store whose db_path is db
// (compared as absolute paths), or of the only open store when db is "".
func openStoreKey(db string) (string, error) {
	want := ""
	if db != "" {
		want = absPath(db)
	}
	var keys []string
	pool.Range(func(k, _ any) bool {
		if key := k.(string); want == "" || absPath(key) == want {
			keys = append(keys, key)
		}
		return true
	})
	switch {
	case len(keys) == 1:
		return keys[0], nil
	case len(keys) == 0 && db != "":
		return "", fmt.Errorf("backup: no open store has db_path %s", db)
	case len(keys) == 0:
		return "", errors.New("backup: no echelon store is open in this Caddy")
	}
	return "", fmt.Errorf("backup: %d stores are open; name one with --store (db_path)", len(keys))
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}

// backupCommand is `caddy echelon backup`.
func backupCommand() *cobra.Command {
	var out, db, store, address, config, adapter string
	c := &cobra.Command{
		Use:   "backup --out <file> [--db <dir> | --store <db_path>] [--address <admin>]",
		Short: "Write a consistent backup of a store, online through Caddy's admin endpoint or offline",
		Long: `Writes a backup of an Echelon store to --out.

Without --db, asks the running Caddy (its admin endpoint, found like
caddy reload finds it: --address, or --config, or localhost:2019) for a
backup of its open store; beacons keep being stored meanwhile. With
several stores open, --store names one by its db_path.

With --db, opens a store that no Caddy is running (Badger's directory lock
refuses one that is open) and backs it up.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("backup: --out is required")
			}
			write := func(w io.Writer) error {
				if db != "" {
					return backupOffline(db, w)
				}
				return backupOnline(address, config, adapter, store, w)
			}
			n, err := writeFileAtomic(out, write)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.OutOrStdout(), "backup written to %s (%d bytes)\n", out, n)
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&out, "out", "", "backup file to write")
	f.StringVar(&db, "db", "", "data directory of a store no Caddy has open")
	f.StringVar(&store, "store", "", "db_path of the running store, when Caddy has several")
	f.StringVar(&address, "address", "", "admin endpoint of the running Caddy")
	f.StringVar(&config, "config", "", "Caddy config file, to find its admin endpoint")
	f.StringVar(&adapter, "adapter", "", "adapter of --config")
	return c
}

func backupOffline(db string, w io.Writer) error {
	st, err := storage.Open(storage.Options{Dir: db})
	if err != nil {
		return fmt.Errorf("backup: %w (is a running Caddy using it? then leave out --db)", err)
	}
	_, err = st.Backup(w)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	return err
}

func backupOnline(address, config, adapter, store string, w io.Writer) error {
	addr, err := caddycmd.DetermineAdminAPIAddress(address, nil, config, adapter)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	uri := "/echelon/backup"
	if store != "" {
		uri += "?db=" + url.QueryEscape(store)
	}
	res, err := caddycmd.AdminAPIRequest(addr, http.MethodGet, uri, nil, nil)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer res.Body.Close()
	if _, err := io.Copy(w, res.Body); err != nil {
		return fmt.Errorf("backup: reading from Caddy: %w", err)
	}
	return nil
}

// writeFileAtomic writes name through a temporary file beside it, renamed
// into place only when write succeeded; it returns the bytes written.
func writeFileAtomic(name string, write func(io.Writer) error) (int64, error) {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	err = write(f)
	n, _ := f.Seek(0, io.SeekCurrent)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
		return 0, err
	}
	return n, nil
}

// restoreCommand is `caddy echelon restore`.
func restoreCommand() *cobra.Command {
	var db, in string
	c := &cobra.Command{
		Use:   "restore --db <dir> --in <file>",
		Short: "Restore a backup into a new, empty data directory",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if db == "" || in == "" {
				return errors.New("restore: --db and --in are required")
			}
			f, err := os.Open(in)
			if err != nil {
				return fmt.Errorf("restore: %w", err)
			}
			defer f.Close()
			info, err := storage.Restore(db, f)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.OutOrStdout(), "restored %d keys (layout %d) into %s\n", info.Entries, info.Layout, db)
			return err
		},
	}
	c.Flags().StringVar(&db, "db", "", "new, empty data directory")
	c.Flags().StringVar(&in, "in", "", "backup file")
	return c
}

// modulePath is this module's import path, as xcaddy's --with names it.
const modulePath = "github.com/echelon-analytics/caddy-echelon"

// versionCommand is `caddy echelon version`.
func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the echelon module's version and its storage layout",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(c.OutOrStdout(), "echelon %s\nstorage layout %d, backup format %d\n",
				moduleVersion(), storage.LayoutVersion, storage.BackupFormat)
			return err
		},
	}
}

// moduleVersion is the version the binary was built with: the module's
// version when xcaddy built it as a dependency, "(devel)" from a checkout.
func moduleVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if bi.Main.Path == modulePath {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == modulePath {
			if d.Replace != nil && d.Replace.Version == "" {
				return "(devel, replaced by " + d.Replace.Path + ")"
			}
			return d.Version
		}
	}
	return "unknown"
}
