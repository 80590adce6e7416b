package devstack

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// SASL mechanisms a KafkaCluster accepts on its client listener.
const (
	SASLMechanismSCRAMSHA512 = "SCRAM-SHA-512"
	SASLMechanismSCRAMSHA256 = "SCRAM-SHA-256"
	SASLMechanismPlain       = "PLAIN"
)

// KafkaUser is a SASL user of a KafkaCluster.
type KafkaUser struct {
	// Name and Password are the user's credentials.
	Name, Password string
	// Mechanism is the SCRAM mechanism the credentials are stored for,
	// SASLMechanismSCRAMSHA512 or SASLMechanismSCRAMSHA256. Every user can also sign in
	// with SASLMechanismPlain.
	Mechanism string
}

// DefaultKafkaUsers are the users of a KafkaCluster whose config names none: one per
// SCRAM mechanism. The first is the one KafkaCluster.User returns.
var DefaultKafkaUsers = []KafkaUser{
	{Name: "quickchat", Password: "quickchat-kafka-secret", Mechanism: SASLMechanismSCRAMSHA512},
	{Name: "quickchat256", Password: "quickchat256-kafka-secret", Mechanism: SASLMechanismSCRAMSHA256},
}

// KafkaClusterConfig configures StartKafkaCluster. The zero value is ready to use once the
// broker jars have been resolved by .ci/install-deps.sh.
type KafkaClusterConfig struct {
	// Dir holds one directory per node ("node-1", ...) and, unless CA is set, the
	// certificate authority ("tls"). Already formatted log directories are reused. Empty
	// means a new temporary directory, which Close removes.
	Dir string
	// Nodes is the number of combined broker and controller nodes, all of them voters of
	// the controller quorum. Default 3.
	Nodes int
	// CA issues the nodes' certificates. Default: the authority kept in Dir/tls.
	CA *CertAuthority
	// Users are created when the log directories are formatted, and again on a start
	// that reuses them. Default DefaultKafkaUsers. Names and passwords must not contain
	// '"', ',', '=', '[' or ']'.
	Users []KafkaUser
	// JarsDir holds the broker jars; see KafkaConfig.JarsDir.
	JarsDir string
	// Partitions is the partition count of auto-created topics. Default 8.
	Partitions int
	// JavaOptions are each node's JVM options. Default DefaultKafkaJavaOptions.
	JavaOptions []string
	// StopTimeout bounds a node's graceful shutdown before it is killed. Default 30s.
	StopTimeout time.Duration
}

// kafkaClusterReadyTimeout bounds how long a node start waits to be ready: three JVMs
// starting at once on two cores are slow.
const kafkaClusterReadyTimeout = 3 * time.Minute

// KafkaCluster is a KRaft Kafka cluster on 127.0.0.1 started by StartKafkaCluster: every
// node is both broker and controller and the controller quorum is all of them. Clients
// connect to each node's CLIENT listener with SASL_SSL (SCRAM-SHA-512, SCRAM-SHA-256 or
// PLAIN; TLS from CA); the brokers replicate and the controllers vote over plaintext
// loopback listeners. Topics default to replication factor min(3, nodes) and
// min.insync.replicas min(2, nodes). Its methods are safe for concurrent use.
type KafkaCluster struct {
	cfg     KafkaClusterConfig
	dir     string
	created bool
	jarsDir string
	version string
	java    string
	caFile  string
	nodes   []*KafkaNode

	usersMu      sync.Mutex
	usersPending bool // a reused log directory may lack cfg.Users: upsert them once
}

// KafkaNode is one node of a KafkaCluster. It can be stopped, killed and started again on
// the same data and ports.
type KafkaNode struct {
	c       *KafkaCluster
	id      int32
	dir     string
	logPath string
	keyPair KeyPair
	// Ports on 127.0.0.1: SASL_SSL for clients, PLAINTEXT between brokers, PLAINTEXT
	// for the controller quorum.
	clientPort, internalPort, controllerPort int

	slot slot
}

// StartKafkaCluster formats the nodes' log directories if needed, starts every node and
// waits until each is registered with the controller and answers a metadata request
// over SASL_SSL as cfg's first user.
func StartKafkaCluster(ctx context.Context, cfg KafkaClusterConfig) (*KafkaCluster, error) {
	if cfg.Nodes <= 0 {
		cfg.Nodes = 3
	}
	if len(cfg.Users) == 0 {
		cfg.Users = DefaultKafkaUsers
	}
	for _, u := range cfg.Users {
		if err := u.validate(); err != nil {
			return nil, err
		}
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = 8
	}
	if len(cfg.JavaOptions) == 0 {
		cfg.JavaOptions = DefaultKafkaJavaOptions
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = defaultStopTimeout
	}
	jars, version, err := findKafkaJars(cfg.JarsDir)
	if err != nil {
		return nil, err
	}
	java, err := findJava()
	if err != nil {
		return nil, err
	}
	dir, created, err := serverDir(cfg.Dir, "kafka-cluster")
	if err != nil {
		return nil, err
	}
	c := &KafkaCluster{cfg: cfg, dir: dir, created: created, jarsDir: jars, version: version, java: java}
	if err := c.prepare(); err != nil {
		c.removeDir()
		return nil, err
	}
	fresh := !c.formatted()
	c.usersPending = !fresh
	for attempt := 1; ; attempt++ {
		if err = c.configure(ctx, fresh); err == nil {
			err = startNodes(ctx, c.nodes)
		}
		if err == nil || attempt == 3 || !nodesMentionBindFailure(c.nodes) {
			break
		}
		// Another program took one of the ports: pick new ones.
		_ = killNodes(c.nodes)
	}
	if err != nil {
		_ = killNodes(c.nodes)
		c.removeDir()
		return nil, err
	}
	return c, nil
}

func (u KafkaUser) validate() error {
	if u.Mechanism != SASLMechanismSCRAMSHA512 && u.Mechanism != SASLMechanismSCRAMSHA256 {
		return fmt.Errorf("kafka cluster: user %q: mechanism %q is not %s or %s", u.Name, u.Mechanism, SASLMechanismSCRAMSHA512, SASLMechanismSCRAMSHA256)
	}
	if u.Name == "" || u.Password == "" || strings.ContainsAny(u.Name+u.Password, "\"',=[]\\\n ") {
		return fmt.Errorf("kafka cluster: user %q: name and password must be non-empty, without quotes, spaces, ',', '=', '[' or ']'", u.Name)
	}
	return nil
}

// prepare creates the node directories, the certificate authority and each node's
// certificate.
func (c *KafkaCluster) prepare() error {
	ca := c.cfg.CA
	if ca == nil {
		var err error
		if ca, err = NewCertAuthority(filepath.Join(c.dir, "tls")); err != nil {
			return fmt.Errorf("kafka cluster: %w", err)
		}
	}
	c.caFile = ca.CAFile()
	for i := 1; i <= c.cfg.Nodes; i++ {
		name := "kafka-node-" + strconv.Itoa(i)
		n := &KafkaNode{c: c, id: int32(i), dir: filepath.Join(c.dir, "node-"+strconv.Itoa(i)), slot: slot{name: name}}
		n.logPath = filepath.Join(n.dir, "kafka.log")
		if err := os.MkdirAll(n.dir, 0o755); err != nil {
			return fmt.Errorf("%s: create dir: %w", name, err)
		}
		if err := os.WriteFile(n.log4jPath(), []byte(kafkaLog4j), 0o644); err != nil {
			return fmt.Errorf("%s: write log4j2 config: %w", name, err)
		}
		// Named after the cluster's directory too: clusters may share an authority.
		kp, err := ca.Issue(filepath.Base(c.dir) + "-node-" + strconv.Itoa(i))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		n.keyPair = kp
		c.nodes = append(c.nodes, n)
	}
	return nil
}

// formatted reports whether every node's log directory is formatted; a partly formatted
// cluster (an interrupted first start) is formatted again from scratch.
func (c *KafkaCluster) formatted() bool {
	for _, n := range c.nodes {
		if _, err := os.Stat(filepath.Join(n.dataDir(), "meta.properties")); err != nil {
			return false
		}
	}
	return true
}

// configure picks new ports, writes every node's server.properties and, for a fresh
// cluster, formats the log directories with one cluster id and the SCRAM users.
func (c *KafkaCluster) configure(ctx context.Context, fresh bool) error {
	for _, n := range c.nodes {
		for _, p := range []*int{&n.clientPort, &n.internalPort, &n.controllerPort} {
			var err error
			if *p, err = FreePort(); err != nil {
				return err
			}
		}
	}
	for _, n := range c.nodes {
		if err := os.WriteFile(n.propsPath(), []byte(n.serverProperties()), 0o600); err != nil {
			return fmt.Errorf("%s: write server.properties: %w", n.slot.name, err)
		}
	}
	if !fresh {
		return nil
	}
	clusterID, err := newClusterID(rand.Reader)
	if err != nil {
		return err
	}
	args := []string{"format", "-t", clusterID}
	for _, u := range c.cfg.Users {
		args = append(args, "--add-scram", u.Mechanism+"=[name="+u.Name+",password="+u.Password+"]")
	}
	var wg sync.WaitGroup
	errs := make([]error, len(c.nodes))
	for i, n := range c.nodes {
		wg.Go(func() {
			// A retry after a port clash formats again from scratch.
			if err := os.RemoveAll(n.dataDir()); err != nil {
				errs[i] = fmt.Errorf("%s: clear log dir: %w", n.slot.name, err)
				return
			}
			errs[i] = n.format(ctx, append(append([]string{}, args...), "-c", n.propsPath()))
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// format runs kafka-storage format for the node.
func (n *KafkaNode) format(ctx context.Context, args []string) error {
	p, err := startProcess(procSpec{
		name:       n.slot.name + "-format",
		path:       n.c.java,
		args:       n.javaArgs("kafka.tools.StorageTool", args...),
		dir:        n.dir,
		logPath:    n.logPath,
		stopSignal: syscall.SIGTERM,
	})
	if err != nil {
		return err
	}
	select {
	case <-p.exited():
	case <-ctx.Done():
		_ = p.kill()
		return fmt.Errorf("%s: format log dir: %w", n.slot.name, ctx.Err())
	}
	if p.err != nil {
		return fmt.Errorf("%s: format log dir failed: %w; log %s:\n%s", n.slot.name, p.err, n.logPath, tailFile(n.logPath, 20))
	}
	return nil
}

// Close stops every node and removes the directory if StartKafkaCluster created it.
func (c *KafkaCluster) Close() error {
	// All at once: stopped one by one, the last nodes would wait for a quorum that is
	// gone before giving up their controlled shutdown.
	var wg sync.WaitGroup
	errs := make([]error, len(c.nodes))
	for i, n := range c.nodes {
		wg.Go(func() { errs[i] = n.slot.close(c.cfg.StopTimeout) })
	}
	wg.Wait()
	return errors.Join(errors.Join(errs...), c.removeDir())
}

func (c *KafkaCluster) removeDir() error {
	if !c.created {
		return nil
	}
	c.created = false
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("kafka cluster: remove %s: %w", c.dir, err)
	}
	return nil
}

// Nodes lists the nodes in id order (ids start at 1).
func (c *KafkaCluster) Nodes() []*KafkaNode { return append([]*KafkaNode(nil), c.nodes...) }

// Node returns the node with the given id, or nil.
func (c *KafkaCluster) Node(id int32) *KafkaNode {
	if id < 1 || int(id) > len(c.nodes) {
		return nil
	}
	return c.nodes[id-1]
}

// Brokers lists every node's SASL_SSL client listener, "127.0.0.1:port", in id order.
func (c *KafkaCluster) Brokers() []string {
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.Addr()
	}
	return out
}

// CAFile is the PEM file of the authority that signed the nodes' certificates.
func (c *KafkaCluster) CAFile() string { return c.caFile }

// User is the first configured user (by default a SCRAM-SHA-512 one).
func (c *KafkaCluster) User() KafkaUser { return c.cfg.Users[0] }

// Users lists the configured users.
func (c *KafkaCluster) Users() []KafkaUser { return append([]KafkaUser(nil), c.cfg.Users...) }

// Version is the Kafka version of the broker jars, e.g. "4.4.0".
func (c *KafkaCluster) Version() string { return c.version }

// Dir is the directory holding the nodes' directories.
func (c *KafkaCluster) Dir() string { return c.dir }

// ReplicationFactor is the cluster's default.replication.factor.
func (c *KafkaCluster) ReplicationFactor() int { return min(3, len(c.nodes)) }

// MinInsyncReplicas is the cluster's default min.insync.replicas.
func (c *KafkaCluster) MinInsyncReplicas() int { return min(2, len(c.nodes)) }

// ID is the node's id, which is both its broker and its controller id.
func (n *KafkaNode) ID() int32 { return n.id }

// Addr is the node's SASL_SSL client listener, "127.0.0.1:port".
func (n *KafkaNode) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.clientPort)) }

// InternalAddr is the node's plaintext inter-broker listener. Only for tools that must
// reach a broker without credentials; services use Addr.
func (n *KafkaNode) InternalAddr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.internalPort))
}

// Dir is the directory holding the node's data, configuration and log.
func (n *KafkaNode) Dir() string { return n.dir }

// LogPath is the file the node's output goes to.
func (n *KafkaNode) LogPath() string { return n.logPath }

// Pid is the node's JVM process id, or 0 before the first start.
func (n *KafkaNode) Pid() int { return n.slot.pid() }

// Running reports whether the node's JVM is alive.
func (n *KafkaNode) Running() bool {
	return n.slot.running()
}

// Start starts the node again on the same log directory and ports, and waits until it is
// registered with the controller and serves metadata over SASL_SSL. It does not wait
// for the node's replicas to catch up; see KafkaCluster.WaitInSync. Starting a running
// node is an error.
func (n *KafkaNode) Start(ctx context.Context) error {
	return n.slot.start(ctx, func(bool) (*process, error) {
		return startProcess(procSpec{
			name:       n.slot.name,
			path:       n.c.java,
			args:       n.javaArgs("kafka.Kafka", n.propsPath()),
			dir:        n.dir,
			logPath:    n.logPath,
			stopSignal: syscall.SIGTERM,
		})
	}, n.waitReady)
}

// Stop shuts the node down gracefully (a controlled shutdown: its partition leaderships
// move to other nodes first) and keeps its data. It kills the node if it has not exited
// after the stop timeout or when ctx ends.
func (n *KafkaNode) Stop(ctx context.Context) error {
	return n.slot.stop(ctx, n.c.cfg.StopTimeout)
}

// Kill kills the node with SIGKILL, as a crash would, and keeps its data.
func (n *KafkaNode) Kill() error { return n.slot.kill() }

func (n *KafkaNode) dataDir() string   { return filepath.Join(n.dir, "data") }
func (n *KafkaNode) propsPath() string { return filepath.Join(n.dir, "server.properties") }
func (n *KafkaNode) log4jPath() string { return filepath.Join(n.dir, "log4j2.properties") }

func (n *KafkaNode) javaArgs(mainClass string, args ...string) []string {
	out := append([]string{}, n.c.cfg.JavaOptions...)
	out = append(out,
		"-Dlog4j2.configurationFile="+n.log4jPath(),
		"-cp", filepath.Join(n.c.jarsDir, "*"),
		mainClass)
	return append(out, args...)
}

func (n *KafkaNode) serverProperties() string {
	var voters []string
	for _, o := range n.c.nodes {
		voters = append(voters, fmt.Sprintf("%d@127.0.0.1:%d", o.id, o.controllerPort))
	}
	client := "127.0.0.1:" + strconv.Itoa(n.clientPort)
	internal := "127.0.0.1:" + strconv.Itoa(n.internalPort)
	controller := "127.0.0.1:" + strconv.Itoa(n.controllerPort)
	rf := strconv.Itoa(n.c.ReplicationFactor())
	minISR := strconv.Itoa(n.c.MinInsyncReplicas())
	plainUsers := ""
	for _, u := range n.c.cfg.Users {
		plainUsers += fmt.Sprintf(" user_%s=%q", u.Name, u.Password)
	}
	props := []string{
		"process.roles=broker,controller",
		"node.id=" + strconv.Itoa(int(n.id)),
		"controller.quorum.voters=" + strings.Join(voters, ","),
		"listeners=CLIENT://" + client + ",INTERNAL://" + internal + ",CONTROLLER://" + controller,
		"advertised.listeners=CLIENT://" + client + ",INTERNAL://" + internal,
		"controller.listener.names=CONTROLLER",
		"inter.broker.listener.name=INTERNAL",
		"listener.security.protocol.map=CLIENT:SASL_SSL,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
		// The client listener: TLS with a PEM key store, and SASL.
		"listener.name.client.ssl.keystore.type=PEM",
		"listener.name.client.ssl.keystore.location=" + n.keyPair.BundleFile,
		"listener.name.client.ssl.truststore.type=PEM",
		"listener.name.client.ssl.truststore.location=" + n.c.caFile,
		// Clients may present a certificate from the CA; none is required.
		"listener.name.client.ssl.client.auth=requested",
		"listener.name.client.sasl.enabled.mechanisms=" + SASLMechanismSCRAMSHA512 + "," + SASLMechanismSCRAMSHA256 + "," + SASLMechanismPlain,
		"listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
		"listener.name.client.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
		"listener.name.client.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required" + plainUsers + ";",
		"log.dirs=" + n.dataDir(),
		"num.partitions=" + strconv.Itoa(n.c.cfg.Partitions),
		"auto.create.topics.enable=true",
		"delete.topic.enable=true",
		"default.replication.factor=" + rf,
		"min.insync.replicas=" + minISR,
		"offsets.topic.replication.factor=" + rf,
		"offsets.topic.num.partitions=8",
		"transaction.state.log.replication.factor=" + rf,
		"transaction.state.log.min.isr=" + minISR,
		"transaction.state.log.num.partitions=8",
		"share.coordinator.state.topic.replication.factor=" + rf,
		"share.coordinator.state.topic.min.isr=" + minISR,
		"group.initial.rebalance.delay.ms=0",
		// A killed node is fenced (and dropped from every ISR) after 3 s instead of 9 s,
		// and a restarted one can register again as soon.
		"broker.heartbeat.interval.ms=500",
		"broker.session.timeout.ms=3000",
		// Sized for two cores shared by three nodes.
		"num.network.threads=2",
		"num.io.threads=2",
		"num.replica.fetchers=1",
		"background.threads=2",
		"num.recovery.threads.per.data.dir=1",
		"log.cleaner.threads=1",
		"log.cleaner.dedupe.buffer.size=16777216",
	}
	return "# Written by devstack; rewritten on every StartKafkaCluster.\n" + strings.Join(props, "\n") + "\n"
}
