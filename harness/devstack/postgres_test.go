package devstack

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestPostgresKeepsCommittedRowsAcrossStopAndKill(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	start := time.Now()
	pg, err := StartPostgres(ctx, PostgresConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("StartPostgres took %v (log %s)", time.Since(start), pg.LogPath())
	t.Cleanup(func() { _ = pg.Close() })

	execSQL(t, pg.URL(), "CREATE TABLE notes (body text NOT NULL)")
	execSQL(t, pg.URL(), "INSERT INTO notes VALUES ('before stop')")

	port := pg.Port()
	if err := pg.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := pg.Start(ctx); err != nil {
		t.Fatalf("start after stop: %v", err)
	}
	if pg.Port() != port {
		t.Fatalf("port changed from %d to %d", port, pg.Port())
	}
	execSQL(t, pg.URL(), "INSERT INTO notes VALUES ('before kill')")

	pid := pg.Pid()
	if err := pg.Kill(); err != nil {
		t.Fatalf("kill: %v", err)
	}
	requireGone(t, pid, pg.DataDir())
	if err := pg.Start(ctx); err != nil {
		t.Fatalf("start after kill: %v", err)
	}
	if got, want := count(t, pg.URL(), "SELECT count(*) FROM notes"), 2; got != want {
		t.Fatalf("rows after stop and kill = %d, want %d", got, want)
	}

	dbURL, err := pg.CreateDatabase(ctx, "fresh_one")
	if err != nil {
		t.Fatal(err)
	}
	if got := count(t, dbURL, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"); got != 0 {
		t.Fatalf("new database has %d tables, want 0", got)
	}

	dir, pid := pg.Dir(), pg.Pid()
	if err := pg.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	requireGone(t, pid, pg.DataDir())
	requireNoDir(t, dir)
}

func execSQL(tb testing.TB, url, sql string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

func count(tb testing.TB, url, sql string) int {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, sql).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestPostgresReusesItsDirAcrossStartsEvenWhenTheDirIsDeep(t *testing.T) {
	t.Parallel()
	base, err := os.MkdirTemp("", "devstack-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	// Too deep for a Unix socket path (107 bytes) inside it.
	dir := filepath.Join(base, strings.Repeat("deep-", 20), "pg")

	pg, err := StartPostgres(t.Context(), PostgresConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pg.DataDir(), dir) {
		t.Errorf("data dir %s is not under %s", pg.DataDir(), dir)
	}
	execSQL(t, pg.URL(), "CREATE TABLE kept (id int)")
	execSQL(t, pg.URL(), "INSERT INTO kept VALUES (1)")
	if err := pg.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pg.DataDir()); err != nil {
		t.Fatalf("Close removed a data dir the caller chose: %v", err)
	}

	again, err := StartPostgres(t.Context(), PostgresConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = again.Close() })
	if got := count(t, again.URL(), "SELECT count(*) FROM kept"); got != 1 {
		t.Fatalf("rows in reused data dir = %d, want 1", got)
	}
}

func TestPostgresTempDirIsReachableWhenTMPDIRIsPrivate(t *testing.T) {
	cred, err := postgresCredential()
	if err != nil {
		t.Fatal(err)
	}
	if cred == nil {
		t.Skip("not root: PostgreSQL runs as this user, which reaches its own directories")
	}
	private := filepath.Join(t.TempDir(), "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", private) // like a checkout inside `mktemp -d`
	pg := &Postgres{cred: cred}
	dir, err := pg.reachableTempDir("postgres")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if !traversableBy(dir, cred.Uid) {
		t.Fatalf("%s is not reachable by uid %d", dir, cred.Uid)
	}
	if left, _ := os.ReadDir(private); len(left) != 0 {
		t.Fatalf("the unreachable attempt was left in %s: %v", private, left)
	}
}
