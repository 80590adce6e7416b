package devstack

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/quickchat-go/quickchat/harness/devstack/internal/resp"
)

// RedisAdminUsername is the ACL user devstack itself signs in as on a Redis Cluster with
// ACLs: it creates the cluster, replicas replicate as it, and health checks run as it.
const RedisAdminUsername = "devstack-admin"

// DefaultRedisUserRules are the ACL rules of a Redis Cluster's application user: every
// key and channel, every command but the dangerous ones (FLUSHALL, KEYS, CONFIG, DEBUG,
// CLUSTER's administrative subcommands, ...), which Quick Chat never sends.
const DefaultRedisUserRules = "~* &* +@all -@dangerous"

// RedisClusterConfig configures StartRedisCluster. The zero value is a plain cluster of 3
// masters with one replica each.
type RedisClusterConfig struct {
	// Dir holds one directory per node ("node-1", ...) with its data and log, and, when
	// TLS is on and CA unset, the certificate authority ("tls"). Every StartRedisCluster
	// creates a new cluster: data of an earlier one in Dir is removed. Empty means a new
	// temporary directory, which Close removes.
	Dir string
	// Masters is the number of masters the 16384 slots are spread over. Default 3.
	Masters int
	// ReplicasPerMaster is the number of replicas of each master. Default 1.
	ReplicasPerMaster int
	// TLS turns TLS on for clients (no plaintext port), the cluster bus and replication.
	TLS bool
	// CA issues the nodes' certificates when TLS is on. Default: the authority kept in
	// Dir/tls.
	CA *CertAuthority
	// Username and Password, when Password is set, turn ACLs on: the default user is
	// disabled, Username (default "quickchat") may run what UserRules allow, and
	// RedisAdminUsername (password AdminPassword) may run everything.
	Username, Password string
	// UserRules are Username's ACL rules. Default DefaultRedisUserRules.
	UserRules string
	// AdminPassword is RedisAdminUsername's password. Default Password + "-admin".
	AdminPassword string
	// NodeTimeout is cluster-node-timeout: how long a node may be unreachable before it
	// is considered failed and a replica takes over. Default 3s.
	NodeTimeout time.Duration
	// StopTimeout bounds a node's graceful shutdown before it is killed. Default 30s.
	StopTimeout time.Duration
}

// redisClusterReadyTimeout bounds the wait for a new cluster to be healthy.
const redisClusterReadyTimeout = 90 * time.Second

// RedisCluster is a Redis Cluster on 127.0.0.1 started by StartRedisCluster, optionally
// with TLS (tls-port only, tls-cluster, tls-replication) and ACLs. Its methods are safe
// for concurrent use.
type RedisCluster struct {
	cfg     RedisClusterConfig
	dir     string
	created bool
	bin     string
	caFile  string
	keyPair KeyPair
	nodes   []*RedisNode
}

// RedisNode is one redis-server of a RedisCluster. It can be stopped, killed and started
// again on the same data and ports; a restarted former master rejoins as a replica if
// another node took over its slots meanwhile.
type RedisNode struct {
	c       *RedisCluster
	index   int // 1-based
	dir     string
	logPath string
	port    int // the TLS port when TLS is on
	busPort int

	slot slot
}

// StartRedisCluster starts the nodes, joins them into a cluster with redis-cli --cluster
// create (the first Masters nodes get the slots, the others replicate them) and waits
// until every node reports the cluster ok and every replica is linked to its master.
func StartRedisCluster(ctx context.Context, cfg RedisClusterConfig) (*RedisCluster, error) {
	if cfg.Masters <= 0 {
		cfg.Masters = 3
	}
	if cfg.ReplicasPerMaster < 0 {
		return nil, errors.New("redis cluster: ReplicasPerMaster must not be negative")
	}
	if cfg.ReplicasPerMaster == 0 {
		cfg.ReplicasPerMaster = 1
	}
	if cfg.Masters < 3 {
		return nil, fmt.Errorf("redis cluster: redis-cli needs at least 3 masters, got %d", cfg.Masters)
	}
	if cfg.Password != "" {
		if cfg.Username == "" {
			cfg.Username = "quickchat"
		}
		if cfg.UserRules == "" {
			cfg.UserRules = DefaultRedisUserRules
		}
		if cfg.AdminPassword == "" {
			cfg.AdminPassword = cfg.Password + "-admin"
		}
		if strings.ContainsAny(cfg.Username+cfg.Password+cfg.AdminPassword, " \t\r\n\"'") {
			return nil, errors.New("redis cluster: username and passwords must not contain spaces or quotes")
		}
	}
	if cfg.NodeTimeout <= 0 {
		cfg.NodeTimeout = 3 * time.Second
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = defaultStopTimeout
	}
	bin, err := findRedisServer()
	if err != nil {
		return nil, err
	}
	dir, created, err := serverDir(cfg.Dir, "redis-cluster")
	if err != nil {
		return nil, err
	}
	c := &RedisCluster{cfg: cfg, dir: dir, created: created, bin: bin}
	if err := c.prepare(); err != nil {
		c.removeDir()
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		if err = c.pickPorts(); err == nil {
			err = startNodes(ctx, c.nodes)
		}
		if err == nil || attempt == 3 || !nodesMentionBindFailure(c.nodes) {
			break
		}
		_ = killNodes(c.nodes)
	}
	if err == nil {
		err = c.create(ctx)
	}
	if err == nil {
		wctx, cancel := context.WithTimeout(ctx, redisClusterReadyTimeout)
		err = c.WaitHealthy(wctx)
		cancel()
	}
	if err != nil {
		_ = killNodes(c.nodes)
		c.removeDir()
		return nil, err
	}
	return c, nil
}

// prepare makes empty node directories and, with TLS, the nodes' certificate.
func (c *RedisCluster) prepare() error {
	if c.cfg.TLS {
		ca := c.cfg.CA
		if ca == nil {
			var err error
			if ca, err = NewCertAuthority(filepath.Join(c.dir, "tls")); err != nil {
				return fmt.Errorf("redis cluster: %w", err)
			}
		}
		c.caFile = ca.CAFile()
		// One certificate for every node: they all serve 127.0.0.1, and each also shows
		// it as a client certificate on the cluster bus and to its master.
		kp, err := ca.Issue("redis-cluster-" + filepath.Base(c.dir))
		if err != nil {
			return fmt.Errorf("redis cluster: %w", err)
		}
		c.keyPair = kp
	}
	total := c.cfg.Masters * (1 + c.cfg.ReplicasPerMaster)
	for i := 1; i <= total; i++ {
		n := &RedisNode{c: c, index: i, dir: filepath.Join(c.dir, "node-"+strconv.Itoa(i)),
			slot: slot{name: "redis-node-" + strconv.Itoa(i)}}
		n.logPath = filepath.Join(n.dir, "redis.log")
		// A new cluster each time: an old nodes.conf would make the node refuse to join.
		if err := os.RemoveAll(n.dataDir()); err != nil {
			return fmt.Errorf("%s: clear data: %w", n.slot.name, err)
		}
		if err := os.MkdirAll(n.dataDir(), 0o755); err != nil {
			return fmt.Errorf("%s: create data dir: %w", n.slot.name, err)
		}
		c.nodes = append(c.nodes, n)
	}
	return nil
}

func (c *RedisCluster) pickPorts() error {
	for _, n := range c.nodes {
		var err error
		if n.port, err = FreePort(); err != nil {
			return err
		}
		if n.busPort, err = FreePort(); err != nil {
			return err
		}
		if err := os.WriteFile(n.confPath(), []byte(n.config()), 0o600); err != nil {
			return fmt.Errorf("%s: write redis.conf: %w", n.slot.name, err)
		}
	}
	return nil
}

// create runs redis-cli --cluster create over every node.
func (c *RedisCluster) create(ctx context.Context) error {
	cli, err := findRedisCLI(c.bin)
	if err != nil {
		return err
	}
	args := []string{"--cluster", "create"}
	for _, n := range c.nodes {
		args = append(args, n.Addr())
	}
	args = append(args, "--cluster-replicas", strconv.Itoa(c.cfg.ReplicasPerMaster), "--cluster-yes")
	if c.cfg.TLS {
		args = append(args, "--tls", "--cacert", c.caFile)
	}
	env := os.Environ()
	if c.cfg.Password != "" {
		args = append(args, "--user", RedisAdminUsername)
		// Not -a: redis-cli warns about passwords on the command line.
		env = append(env, "REDISCLI_AUTH="+c.cfg.AdminPassword)
	}
	logPath := filepath.Join(c.dir, "cluster-create.log")
	p, err := startProcess(procSpec{name: "redis-cli --cluster create", path: cli, args: args, dir: c.dir,
		env: env, logPath: logPath, stopSignal: syscall.SIGTERM})
	if err != nil {
		return err
	}
	select {
	case <-p.exited():
	case <-ctx.Done():
		_ = p.kill()
		return fmt.Errorf("redis cluster: create: %w", ctx.Err())
	}
	if p.err != nil {
		return fmt.Errorf("redis cluster: redis-cli --cluster create failed: %w; log %s:\n%s", p.err, logPath, tailFile(logPath, 20))
	}
	return nil
}

// findRedisCLI returns redis-cli beside redis-server, else on PATH.
func findRedisCLI(server string) (string, error) {
	if p := filepath.Join(filepath.Dir(server), "redis-cli"); fileExists(p) {
		return p, nil
	}
	if p, err := exec.LookPath("redis-cli"); err == nil {
		return p, nil
	}
	return "", errors.New("redis cluster: redis-cli not found (it comes with redis-server; run .ci/install-deps.sh)")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Close kills every node and removes the directory if StartRedisCluster created it. No
// graceful shutdown: a cluster's data does not outlive it, as StartRedisCluster always
// creates a new one.
func (c *RedisCluster) Close() error {
	var wg sync.WaitGroup
	errs := make([]error, len(c.nodes))
	for i, n := range c.nodes {
		wg.Go(func() {
			errs[i] = n.slot.kill()
			n.slot.close(0)
		})
	}
	wg.Wait()
	return errors.Join(errors.Join(errs...), c.removeDir())
}

func (c *RedisCluster) removeDir() error {
	if !c.created {
		return nil
	}
	c.created = false
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("redis cluster: remove %s: %w", c.dir, err)
	}
	return nil
}

// Nodes lists every node, masters first as the cluster was created; roles change with
// failovers (see Masters and RedisNode.Role).
func (c *RedisCluster) Nodes() []*RedisNode { return append([]*RedisNode(nil), c.nodes...) }

// Addrs lists every node's address, "127.0.0.1:port"; any of them is a seed for a
// cluster client.
func (c *RedisCluster) Addrs() []string {
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.Addr()
	}
	return out
}

// TLS reports whether the cluster serves TLS only.
func (c *RedisCluster) TLS() bool { return c.cfg.TLS }

// CAFile is the PEM file of the authority that signed the nodes' certificate, or "" when
// TLS is off.
func (c *RedisCluster) CAFile() string { return c.caFile }

// ClientTLSConfig returns a TLS config trusting the cluster's authority, or nil when TLS
// is off.
func (c *RedisCluster) ClientTLSConfig() (*tls.Config, error) {
	if !c.cfg.TLS {
		return nil, nil
	}
	pem, err := os.ReadFile(c.caFile)
	if err != nil {
		return nil, fmt.Errorf("redis cluster: read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("redis cluster: %s holds no PEM certificate", c.caFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// Username is the application user, or "" when ACLs are off.
func (c *RedisCluster) Username() string { return c.cfg.Username }

// Password is the application user's password, or "" when ACLs are off.
func (c *RedisCluster) Password() string { return c.cfg.Password }

// AdminPassword is RedisAdminUsername's password, or "" when ACLs are off.
func (c *RedisCluster) AdminPassword() string { return c.cfg.AdminPassword }

// Dir is the directory holding the nodes' directories.
func (c *RedisCluster) Dir() string { return c.dir }

// Addr is the node's address, "127.0.0.1:port" (its TLS port when TLS is on).
func (n *RedisNode) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.port)) }

// Port is the node's client port (its TLS port when TLS is on).
func (n *RedisNode) Port() int { return n.port }

// Dir is the directory holding the node's data, configuration and log.
func (n *RedisNode) Dir() string { return n.dir }

// LogPath is the file the node's output goes to.
func (n *RedisNode) LogPath() string { return n.logPath }

// Pid is the node's process id, or 0 before the first start.
func (n *RedisNode) Pid() int { return n.slot.pid() }

// Running reports whether the node's process is alive.
func (n *RedisNode) Running() bool {
	return n.slot.running()
}

// Start starts the node again on the same data and ports and waits until it answers
// PING; it does not wait for the cluster to take it back (see RedisCluster.WaitHealthy).
// Starting a running node is an error.
func (n *RedisNode) Start(ctx context.Context) error {
	return n.slot.start(ctx, func(bool) (*process, error) {
		return startProcess(procSpec{
			name:       n.slot.name,
			path:       n.c.bin,
			args:       []string{n.confPath()},
			dir:        n.dir,
			logPath:    n.logPath,
			stopSignal: syscall.SIGTERM,
		})
	}, n.waitReady)
}

// Stop shuts the node down gracefully and keeps its data; it kills the node if it has not
// exited after the stop timeout or when ctx ends. A master's replica does not take over
// before cluster-node-timeout, as after a crash.
func (n *RedisNode) Stop(ctx context.Context) error {
	// Redis ignores a SIGTERM that comes while it writes its first append-only file
	// (right after a replica's full sync), so ask again every second.
	if p := n.slot.current(); p != nil {
		deadline := time.After(n.c.cfg.StopTimeout)
	retry:
		for {
			select {
			case <-p.exited():
				break retry
			default:
			}
			_ = syscall.Kill(p.pid(), syscall.SIGTERM)
			select {
			case <-p.exited():
				break retry
			case <-time.After(time.Second):
			case <-deadline:
				break retry
			case <-ctx.Done():
				break retry
			}
		}
	}
	// Waits for the process group to be gone, and kills what is left.
	return n.slot.stop(ctx, time.Second)
}

// Kill kills the node with SIGKILL, as a crash would, and keeps its data.
func (n *RedisNode) Kill() error { return n.slot.kill() }

func (n *RedisNode) waitReady(ctx context.Context, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, redisReadyTimeout)
	defer cancel()
	var lastErr error
	for {
		cctx, ccancel := context.WithTimeout(ctx, time.Second)
		v, err := n.do(cctx, "PING")
		ccancel()
		if err == nil && v == "PONG" {
			select {
			case <-p.exited():
				// What answered was another server on the same port.
				return fmt.Errorf("%s: %w", n.slot.name, p.exitError())
			default:
				return nil
			}
		}
		if err == nil {
			err = fmt.Errorf("PING answered %v", v)
		}
		lastErr = err
		select {
		case <-p.exited():
			return fmt.Errorf("%s: %w", n.slot.name, p.exitError())
		case <-ctx.Done():
			return fmt.Errorf("%s: not ready on port %d: %w (last error: %v); log %s:\n%s",
				n.slot.name, n.port, ctx.Err(), lastErr, n.logPath, tailFile(n.logPath, 20))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// do runs one command on the node as the admin user (the default user without ACLs).
func (n *RedisNode) do(ctx context.Context, args ...string) (any, error) {
	conn, err := n.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.Do(ctx, args...)
}

// dial connects to the node, over TLS when it is on, and signs in as the admin user when
// ACLs are on.
func (n *RedisNode) dial(ctx context.Context) (*resp.Conn, error) {
	var (
		conn *resp.Conn
		err  error
	)
	if n.c.cfg.TLS {
		var cfg *tls.Config
		if cfg, err = n.c.ClientTLSConfig(); err != nil {
			return nil, err
		}
		conn, err = resp.DialTLS(ctx, n.Addr(), cfg)
	} else {
		conn, err = resp.Dial(ctx, n.Addr())
	}
	if err != nil {
		return nil, err
	}
	if n.c.cfg.Password != "" {
		if _, err := conn.Do(ctx, "AUTH", RedisAdminUsername, n.c.cfg.AdminPassword); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return conn, nil
}

func (n *RedisNode) dataDir() string  { return filepath.Join(n.dir, "data") }
func (n *RedisNode) confPath() string { return filepath.Join(n.dir, "redis.conf") }

func (n *RedisNode) config() string {
	cfg := n.c.cfg
	lines := []string{
		"bind 127.0.0.1",
		"daemonize no",
		`logfile ""`,
		"dir " + n.dataDir(),
		"maxclients 10000",
		`save ""`,
		"appendonly yes",
		"appendfsync everysec",
		// Replicas sync as soon as they connect, not 5 s later in case others follow.
		"repl-diskless-sync-delay 0",
		"cluster-enabled yes",
		"cluster-config-file nodes.conf",
		// An explicit bus port: port+10000 could fall into the ephemeral range.
		"cluster-port " + strconv.Itoa(n.busPort),
		"cluster-node-timeout " + strconv.FormatInt(cfg.NodeTimeout.Milliseconds(), 10),
		// A replica takes over however long it was disconnected: tests kill nodes freely.
		"cluster-replica-validity-factor 0",
	}
	if cfg.TLS {
		lines = append(lines,
			"port 0",
			"tls-port "+strconv.Itoa(n.port),
			"tls-cert-file "+n.c.keyPair.CertFile,
			"tls-key-file "+n.c.keyPair.KeyFile,
			"tls-ca-cert-file "+n.c.caFile,
			// Clients may present a certificate from the CA; none is required.
			"tls-auth-clients optional",
			"tls-cluster yes",
			"tls-replication yes",
		)
	} else {
		lines = append(lines, "port "+strconv.Itoa(n.port))
	}
	if cfg.Password != "" {
		lines = append(lines,
			"user default off",
			"user "+RedisAdminUsername+" on >"+cfg.AdminPassword+" ~* &* +@all",
			"user "+cfg.Username+" on >"+cfg.Password+" "+cfg.UserRules,
			"masteruser "+RedisAdminUsername,
			"masterauth "+cfg.AdminPassword,
		)
	}
	return "# Written by devstack; rewritten on every StartRedisCluster.\n" + strings.Join(lines, "\n") + "\n"
}
