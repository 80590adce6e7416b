package devstack

import (
	"fmt"
	"os"
	"path/filepath"
)

// Files PostgresConfig.TLS puts into the data directory, where the server's OS user owns
// them: PostgreSQL refuses a key that others can read.
const (
	pgTLSCertFile = "devstack-server.crt"
	pgTLSKeyFile  = "devstack-server.key"
	pgTLSHBAFile  = "devstack-hba-tls.conf"
)

// pgTLSHBA lets TCP clients in over TLS only: a connection without it matches no line and
// is refused. The Unix socket, which devstack's own tools may use, stays trusted.
const pgTLSHBA = `# Written by devstack: TLS only over TCP.
local   all  all                 trust
hostssl all  all  127.0.0.1/32   scram-sha-256
hostssl all  all  ::1/128        scram-sha-256
`

// prepareTLS issues the server's certificate and copies it, its key and the TLS-only
// pg_hba.conf into the data directory, owned by the server's user with mode 0600.
func (pg *Postgres) prepareTLS() error {
	kp, err := pg.cfg.TLS.Issue("postgres-" + filepath.Base(pg.dir))
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	files := []struct {
		name string
		from string
		data []byte
	}{
		{name: pgTLSCertFile, from: kp.CertFile},
		{name: pgTLSKeyFile, from: kp.KeyFile},
		{name: pgTLSHBAFile, data: []byte(pgTLSHBA)},
	}
	for _, f := range files {
		data := f.data
		if f.from != "" {
			if data, err = os.ReadFile(f.from); err != nil {
				return fmt.Errorf("postgres: read %s: %w", f.from, err)
			}
		}
		path := filepath.Join(pg.dataDir(), f.name)
		// Remove first: WriteFile keeps the mode and owner of an existing file.
		_ = os.Remove(path)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return fmt.Errorf("postgres: write %s: %w", path, err)
		}
		if pg.cred != nil {
			if err := os.Chown(path, int(pg.cred.Uid), int(pg.cred.Gid)); err != nil {
				return fmt.Errorf("postgres: chown %s: %w", path, err)
			}
		}
	}
	pg.caFile = pg.cfg.TLS.CAFile()
	return nil
}

// tlsArgs are the server options that turn TLS on, or none.
func (pg *Postgres) tlsArgs() []string {
	if pg.caFile == "" {
		return nil
	}
	return []string{
		"-c", "ssl=on",
		"-c", "ssl_cert_file=" + filepath.Join(pg.dataDir(), pgTLSCertFile),
		"-c", "ssl_key_file=" + filepath.Join(pg.dataDir(), pgTLSKeyFile),
		"-c", "hba_file=" + filepath.Join(pg.dataDir(), pgTLSHBAFile),
	}
}
