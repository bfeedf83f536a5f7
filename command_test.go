package echelon

import (
	"bytes"
	"strings"
	"testing"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/echelon-analytics/caddy-echelon/auth"
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
