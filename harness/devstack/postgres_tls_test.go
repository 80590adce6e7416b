package devstack

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestPostgresWithTLSAcceptsVerifiedTLSClientsOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts PostgreSQL")
	}
	t.Parallel()
	ctx := t.Context()
	ca, err := NewCertAuthority(filepath.Join(t.TempDir(), "tls"))
	if err != nil {
		t.Fatal(err)
	}
	pg, err := StartPostgres(ctx, PostgresConfig{TLS: ca})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Close() })

	u, err := url.Parse(pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	if q := u.Query(); q.Get("sslmode") != "verify-full" || q.Get("sslrootcert") != ca.CAFile() || pg.CAFile() != ca.CAFile() {
		t.Fatalf("URL %s does not ask for verify-full against %s", pg.URL(), ca.CAFile())
	}
	if !strings.Contains(pg.URL(), "sslrootcert="+ca.CAFile()) {
		t.Errorf("URL %s does not name the CA file plainly", pg.URL())
	}
	requireTLSSession(t, pg.URL())

	// The server must keep its certificate and TLS-only rules across a restart.
	if err := pg.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := pg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	dbURL, err := pg.CreateDatabase(ctx, "over_tls")
	if err != nil {
		t.Fatal(err)
	}
	requireTLSSession(t, dbURL)

	other, err := NewCertAuthority(filepath.Join(t.TempDir(), "other"))
	if err != nil {
		t.Fatal(err)
	}
	refusals := []struct {
		name  string
		query string
		want  string
	}{
		{name: "a plaintext connection is refused", query: "sslmode=disable", want: "no encryption"},
		{name: "a client trusting another CA refuses the server", query: "sslmode=verify-full&sslrootcert=" + other.CAFile(), want: "certificate signed by unknown authority"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			bad := *u
			bad.RawQuery = tt.query
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			conn, err := pgx.Connect(ctx, bad.String())
			if err == nil {
				conn.Close(ctx)
				t.Fatal("connected")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}

	t.Run("the key in the data directory is private to the server's user", func(t *testing.T) {
		st, err := os.Stat(filepath.Join(pg.DataDir(), pgTLSKeyFile))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Fatalf("key mode %v, want 0600", st.Mode().Perm())
		}
	})
}

// requireTLSSession connects to dbURL and checks that the session is encrypted.
func requireTLSSession(tb testing.TB, dbURL string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		tb.Fatalf("connect with verify-full: %v", err)
	}
	defer conn.Close(ctx)
	var ssl bool
	if err := conn.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil {
		tb.Fatal(err)
	}
	if !ssl {
		tb.Fatal("session is not encrypted")
	}
}
