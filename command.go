package echelon

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/echelon-analytics/caddy-echelon/auth"
	"github.com/echelon-analytics/caddy-echelon/mcpserver"
)

// mcpCommand is `caddy echelon mcp`: the stdio MCP server named
// echelon-analytics. Standard output carries only the protocol.
func mcpCommand(getenv func(string) string) *cobra.Command {
	return &cobra.Command{
		Use:   "mcp",
		Short: "Serve the read-only MCP tools over stdio (ECHELON_URL, ECHELON_SECRET)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			api, err := mcpserver.FromEnv(getenv)
			if err != nil {
				return fmt.Errorf("mcp: %w", err)
			}
			return mcpserver.RunStdio(c.Context(), api, io.NopCloser(c.InOrStdin()), nopWriteCloser{c.OutOrStdout()})
		},
	}
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "echelon",
		Usage: "hash-password | seed | backup | restore | import-sqlite | version | mcp",
		Short: "Echelon analytics tools",
		Long: `Tools for the echelon module.

hash-password reads a password from standard input (one line) and prints the
pbkdf2 line for the password_hash subdirective or ECHELON_PASSWORD_HASH.

seed writes realistic synthetic history into a data directory (not one a
running Caddy has open).

backup writes a consistent backup of a store, of a running Caddy's through
its admin endpoint or of a stopped one; restore puts one into a new
directory.

import-sqlite imports the history of the original Echelon's SQLite database
into a data directory (not one a running Caddy has open).

version prints the module's version and its storage layout.

mcp serves the read-only MCP tools over standard input and output for an
agent, reading a running Echelon's API at ECHELON_URL (the dashboard's base
URL, admin_path included) with ECHELON_SECRET as the bearer (docs/mcp.md).`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.AddCommand(seedCommand(), backupCommand(), restoreCommand(), importSQLiteCommand(), versionCommand(), mcpCommand(os.Getenv))
			cmd.AddCommand(&cobra.Command{
				Use:   "hash-password",
				Short: "Print a pbkdf2 password hash for password_hash",
				Args:  cobra.NoArgs,
				RunE: func(c *cobra.Command, _ []string) error {
					line, err := bufio.NewReader(c.InOrStdin()).ReadString('\n')
					if err != nil && line == "" {
						return errors.New("hash-password: read a password from standard input")
					}
					pw := strings.TrimRight(line, "\r\n")
					if pw == "" {
						return errors.New("hash-password: empty password")
					}
					h, err := auth.HashPassword(pw)
					if err != nil {
						return err
					}
					_, err = fmt.Fprintln(c.OutOrStdout(), h)
					return err
				},
			})
		},
	})
}
