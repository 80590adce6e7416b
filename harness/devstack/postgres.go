package devstack

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresConfig configures StartPostgres. The zero value is ready to use.
type PostgresConfig struct {
	// Dir holds the data directory ("data"), the Unix socket directory ("sock") and the log
	// ("postgres.log"). An existing data directory is reused. Empty means a new temporary
	// directory, which Close removes.
	Dir string
	// Port is the TCP port on 127.0.0.1. Default 0: a free port.
	Port int
	// User is the superuser initdb creates. Default "quickchat".
	User string
	// Password is User's password (SCRAM over TCP). Default "quickchat".
	Password string
	// Database is created on the first start. Default "quickchat".
	Database string
	// StopTimeout bounds a graceful shutdown before the server is killed. Default 30s.
	StopTimeout time.Duration
	// TLS, when set, turns SSL on with a server certificate from this authority and lets
	// TCP clients in over TLS only (hostssl in pg_hba.conf; a plaintext connection is
	// refused). URL then asks for sslmode=verify-full against the authority's CA file.
	// Connections over the Unix socket stay as they are. Default nil: no TLS.
	TLS *CertAuthority
}

func (c *PostgresConfig) setDefaults() {
	if c.User == "" {
		c.User = "quickchat"
	}
	if c.Password == "" {
		c.Password = "quickchat"
	}
	if c.Database == "" {
		c.Database = "quickchat"
	}
	if c.StopTimeout == 0 {
		c.StopTimeout = defaultStopTimeout
	}
}

// postgresReadyTimeout bounds how long a start waits for connections to be accepted.
const postgresReadyTimeout = 60 * time.Second

// postgresConf is appended to postgresql.conf after initdb. fsync stays on: tests check
// durability across restarts and kills.
const postgresConf = `
# --- added by devstack ---
listen_addresses = '127.0.0.1'
max_connections = 300
shared_buffers = 128MB
synchronous_commit = on
fsync = on
logging_collector = off
log_destination = 'stderr'
log_line_prefix = '%m [%p] %q%u@%d '
log_min_messages = warning
lc_messages = 'C'
`

// Postgres is a PostgreSQL server started by StartPostgres. Its methods are safe for
// concurrent use.
type Postgres struct {
	cfg     PostgresConfig
	dir     string   // holds the log
	root    string   // holds data and sock; dir unless the postgres user cannot reach dir
	sock    string   // Unix socket directory
	temps   []string // directories Close removes
	binDir  string
	cred    *syscall.Credential
	logPath string
	caFile  string // set when TLS is on

	slot slot
}

// StartPostgres initialises a data directory if needed, starts PostgreSQL on 127.0.0.1 and
// waits until it accepts connections and cfg.Database exists.
func StartPostgres(ctx context.Context, cfg PostgresConfig) (*Postgres, error) {
	cfg.setDefaults()
	binDir, err := findPostgresBin()
	if err != nil {
		return nil, err
	}
	cred, err := postgresCredential()
	if err != nil {
		return nil, err
	}
	dir, created, err := serverDir(cfg.Dir, "postgres")
	if err != nil {
		return nil, err
	}
	pg := &Postgres{slot: slot{name: "postgres"}, cfg: cfg, dir: dir, root: dir, binDir: binDir, cred: cred,
		logPath: filepath.Join(dir, "postgres.log")}
	if created {
		pg.temps = append(pg.temps, dir)
	}
	if err := pg.prepare(ctx); err != nil {
		pg.removeTemps()
		return nil, err
	}
	pickPort := cfg.Port == 0
	for attempt := 1; ; attempt++ {
		if pickPort {
			if pg.cfg.Port, err = FreePort(); err != nil {
				pg.removeTemps()
				return nil, err
			}
		}
		err = pg.Start(ctx)
		if err == nil || !pickPort || attempt == 3 || !logMentionsBindFailure(pg.logPath) {
			break
		}
	}
	if err != nil {
		pg.removeTemps()
		return nil, err
	}
	if err := pg.ensureDatabase(ctx); err != nil {
		_ = pg.Close()
		return nil, err
	}
	return pg, nil
}

// prepare creates the data and socket directories and runs initdb unless the data
// directory is already initialised.
// reachableTempDir makes a temporary directory the server's user can reach: under
// os.TempDir(), or under /tmp when TMPDIR itself lies below a directory private to us.
func (pg *Postgres) reachableTempDir(kind string) (string, error) {
	dir, err := newTempDir("", kind)
	if err != nil || pg.cred == nil || traversableBy(dir, pg.cred.Uid) {
		return dir, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("%s: remove unreachable temp dir: %w", kind, err)
	}
	return newTempDir("/tmp", kind)
}

func (pg *Postgres) prepare(ctx context.Context) error {
	if pg.cred != nil && !traversableBy(pg.dir, pg.cred.Uid) {
		// t.TempDir() and checkouts under /root are not reachable by the postgres user;
		// keep the log in dir but the cluster in a temporary directory it can reach.
		root, err := pg.reachableTempDir("postgres")
		if err != nil {
			return err
		}
		pg.root = root
		pg.temps = append(pg.temps, root)
	}
	pg.sock = filepath.Join(pg.root, "sock")
	if len(pg.sock)+len("/.s.PGSQL.65535") > maxSocketPath {
		// Deep checkouts overflow sun_path; the socket only needs a short private home.
		sock, err := pg.reachableTempDir("pgsock")
		if err != nil {
			return err
		}
		pg.sock = sock
		pg.temps = append(pg.temps, sock)
	}
	for _, d := range []string{pg.root, pg.dataDir(), pg.sockDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("postgres: create %s: %w", d, err)
		}
	}
	if err := os.Chmod(pg.dataDir(), 0o700); err != nil {
		return fmt.Errorf("postgres: chmod data dir: %w", err)
	}
	if pg.cred != nil {
		for _, d := range []string{pg.root, pg.dataDir(), pg.sockDir()} {
			if err := os.Chown(d, int(pg.cred.Uid), int(pg.cred.Gid)); err != nil {
				return fmt.Errorf("postgres: chown %s: %w", d, err)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(pg.dataDir(), "PG_VERSION")); err != nil {
		if err := pg.initdb(ctx); err != nil {
			return err
		}
	}
	if pg.cfg.TLS != nil {
		return pg.prepareTLS()
	}
	return nil
}

func (pg *Postgres) initdb(ctx context.Context) error {
	pwFile := filepath.Join(pg.root, "pwfile")
	if err := os.WriteFile(pwFile, []byte(pg.cfg.Password+"\n"), 0o600); err != nil {
		return fmt.Errorf("postgres: write password file: %w", err)
	}
	defer os.Remove(pwFile)
	if pg.cred != nil {
		if err := os.Chown(pwFile, int(pg.cred.Uid), int(pg.cred.Gid)); err != nil {
			return fmt.Errorf("postgres: chown password file: %w", err)
		}
	}
	p, err := startProcess(procSpec{
		name: "initdb",
		path: filepath.Join(pg.binDir, "initdb"),
		args: []string{"-D", pg.dataDir(), "-U", pg.cfg.User, "--pwfile=" + pwFile,
			"--auth-local=trust", "--auth-host=scram-sha-256",
			"--encoding=UTF8", "--no-locale",
			// Only skips the fsyncs of initdb itself; the running server keeps fsync on.
			"--no-sync"},
		dir:        pg.root,
		env:        append(os.Environ(), "LC_ALL=C"),
		logPath:    pg.logPath,
		cred:       pg.cred,
		stopSignal: syscall.SIGTERM,
	})
	if err != nil {
		return err
	}
	select {
	case <-p.exited():
	case <-ctx.Done():
		_ = p.kill()
		return fmt.Errorf("postgres: initdb: %w", ctx.Err())
	}
	if p.err != nil {
		return fmt.Errorf("postgres: initdb failed: %w; log %s:\n%s", p.err, pg.logPath, tailFile(pg.logPath, 20))
	}
	f, err := os.OpenFile(filepath.Join(pg.dataDir(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("postgres: open postgresql.conf: %w", err)
	}
	_, err = f.WriteString(postgresConf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("postgres: write postgresql.conf: %w", err)
	}
	return nil
}

// Start starts the server again on the same directory and port, and waits until it
// accepts connections. Starting a running server is an error.
func (pg *Postgres) Start(ctx context.Context) error {
	return pg.slot.start(ctx, func(restarting bool) (*process, error) {
		if restarting {
			// The old group is gone (Stop and Kill wait for it), so its lock file is stale
			// even if its pid has been reused meanwhile.
			_ = os.Remove(filepath.Join(pg.dataDir(), "postmaster.pid"))
		}
		return startProcess(procSpec{
			name: "postgres",
			path: filepath.Join(pg.binDir, "postgres"),
			args: append([]string{"-D", pg.dataDir(), "-p", strconv.Itoa(pg.cfg.Port), "-k", pg.sockDir()}, pg.tlsArgs()...),
			dir:  pg.root,
			env:  append(os.Environ(), "LC_ALL=C"),
			// Fast shutdown: roll back open transactions, checkpoint, exit.
			stopSignal: syscall.SIGINT,
			logPath:    pg.logPath,
			cred:       pg.cred,
		})
	}, pg.waitReady)
}

// waitReady connects until the server answers, the process exits or the deadline passes.
func (pg *Postgres) waitReady(ctx context.Context, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, postgresReadyTimeout)
	defer cancel()
	var lastErr error
	for {
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(cctx, pg.urlFor("postgres"))
		if err == nil {
			err = conn.Ping(cctx)
			conn.Close(context.Background())
		}
		ccancel()
		if err == nil {
			select {
			case <-p.exited():
				// What answered was another server on the same port.
				return fmt.Errorf("postgres: %w", p.exitError())
			default:
				return nil
			}
		}
		lastErr = err
		select {
		case <-p.exited():
			return fmt.Errorf("postgres: %w", p.exitError())
		case <-ctx.Done():
			return fmt.Errorf("postgres: not ready on port %d: %w (last error: %v); log %s:\n%s",
				pg.cfg.Port, ctx.Err(), lastErr, pg.logPath, tailFile(pg.logPath, 20))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ensureDatabase creates cfg.Database unless it exists.
func (pg *Postgres) ensureDatabase(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, pg.urlFor("postgres"))
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	defer conn.Close(context.Background())
	var exists bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", pg.cfg.Database).Scan(&exists)
	if err != nil {
		return fmt.Errorf("postgres: look up database %s: %w", pg.cfg.Database, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{pg.cfg.Database}.Sanitize()); err != nil {
		return fmt.Errorf("postgres: create database %s: %w", pg.cfg.Database, err)
	}
	return nil
}

// Stop shuts the server down (fast shutdown: open transactions are rolled back) and keeps
// its data. It kills the server if it has not exited after the stop timeout or when ctx
// ends. Stopping a stopped server does nothing.
func (pg *Postgres) Stop(ctx context.Context) error {
	return pg.slot.stop(ctx, pg.cfg.StopTimeout)
}

// Kill kills the server and all its backends with SIGKILL, as a crash would, and keeps its
// data. The next Start runs crash recovery.
func (pg *Postgres) Kill() error {
	return pg.slot.kill()
}

// Close stops the server and removes its directory if StartPostgres created it.
func (pg *Postgres) Close() error {
	return errors.Join(pg.slot.close(pg.cfg.StopTimeout), pg.removeTemps())
}

func (pg *Postgres) removeTemps() error {
	var errs []error
	for _, d := range pg.temps {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, fmt.Errorf("postgres: remove %s: %w", d, err))
		}
	}
	pg.temps = nil
	return errors.Join(errs...)
}

// URL is the connection URL of the configured database:
// postgres://user:password@127.0.0.1:port/database?sslmode=disable, or with TLS on
// ?sslmode=verify-full&sslrootcert=<CA file>.
func (pg *Postgres) URL() string { return pg.urlFor(pg.cfg.Database) }

func (pg *Postgres) urlFor(database string) string {
	query := "sslmode=disable"
	if pg.caFile != "" {
		// Slashes stay readable; anything that would end the value is escaped.
		query = "sslmode=verify-full&sslrootcert=" + strings.ReplaceAll(url.QueryEscape(pg.caFile), "%2F", "/")
	}
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(pg.cfg.User, pg.cfg.Password),
		Host:     "127.0.0.1:" + strconv.Itoa(pg.cfg.Port),
		Path:     "/" + database,
		RawQuery: query,
	}
	return u.String()
}

// CAFile is the PEM file clients verify the server's certificate with, or "" when TLS is
// off.
func (pg *Postgres) CAFile() string { return pg.caFile }

// Port is the TCP port the server listens on.
func (pg *Postgres) Port() int { return pg.cfg.Port }

// Dir is the directory holding the server's log (and, usually, its data).
func (pg *Postgres) Dir() string { return pg.dir }

// DataDir is the PostgreSQL data directory.
func (pg *Postgres) DataDir() string { return pg.dataDir() }

// LogPath is the file the server's output goes to.
func (pg *Postgres) LogPath() string { return pg.logPath }

// Pid is the postmaster's process id (its process group id too), or 0 before the first
// start.
func (pg *Postgres) Pid() int {
	return pg.slot.pid()
}

// CreateDatabase creates an empty database called name and returns its URL.
func (pg *Postgres) CreateDatabase(ctx context.Context, name string) (string, error) {
	return CreateDatabase(ctx, pg.URL(), name)
}

func (pg *Postgres) dataDir() string { return filepath.Join(pg.root, "data") }
func (pg *Postgres) sockDir() string { return pg.sock }

// maxSocketPath is the longest Unix socket path Linux accepts (sun_path less its NUL).
const maxSocketPath = 107
