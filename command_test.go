package echelon

import (
	"bytes"
	"strings"
	"testing"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/echelon-analytics/caddy-echelon/auth"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

func TestCommand_HashPasswordPrintsAVerifiableLine(t *testing.T) {
	cmd, ok := caddycmd.Commands()["echelon"]
	if !ok {
		t.Fatal("caddy echelon is not registered")
	}
	root := &cobra.Command{Use: "echelon"}
	cmd.CobraFunc(root)
	var out bytes.Buffer
	root.SetArgs([]string{"hash-password"})
	root.SetIn(strings.NewReader("correct horse\n"))
	root.SetOut(&out)
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(out.String())
	if !strings.HasPrefix(line, "pbkdf2$600000$") || !auth.VerifyPassword(line, "correct horse") || auth.VerifyPassword(line, "wrong") {
		t.Fatalf("hash-password printed %q", line)
	}
	if err := auth.ParsePasswordHash(line); err != nil {
		t.Fatalf("printed hash does not validate as password_hash: %v", err)
	}
}

func TestCommand_SeedWritesHistoryWithCounters(t *testing.T) {
	cmd := caddycmd.Commands()["echelon"]
	root := &cobra.Command{Use: "echelon"}
	cmd.CobraFunc(root)
	dir := t.TempDir()
	var out bytes.Buffer
	root.SetArgs([]string{"seed", "--db", dir, "--site", "demo", "--days", "5", "--views", "3000"})
	root.SetOut(&out)
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "3000 views") {
		t.Fatalf("output %q", out.String())
	}
	st, err := storage.Open(storage.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var raw, clean, bots int
	var days = map[string]bool{}
	if err := st.Views("demo", time.Unix(0, 0), time.Now().Add(time.Hour), func(v *storage.View) bool {
		raw++
		days[v.CreatedAt.Format(time.DateOnly)] = true
		if v.BotScore < 50 {
			clean++
		} else {
			bots++
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if raw != 3000 || len(days) != 5 || bots == 0 || bots > raw/10 {
		t.Fatalf("stored %d views on %d days, %d bots", raw, len(days), bots)
	}
	o, err := st.Overview("demo", 5, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if o.Visits != uint64(clean) || len(o.TopPaths) != 20 || len(o.DailyTrend) != 5 || len(o.Countries) == 0 {
		t.Errorf("overview of the seeded site: %d visits (want %d), %d paths, %d days", o.Visits, clean, len(o.TopPaths), len(o.DailyTrend))
	}
	root.SetArgs([]string{"seed", "--site", "demo"})
	if err := root.Execute(); err == nil {
		t.Error("seed without --db succeeded")
	}
}
