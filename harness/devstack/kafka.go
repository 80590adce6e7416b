package devstack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// KafkaConfig configures StartKafka. The zero value is ready to use once the broker jars
// have been resolved by .ci/install-deps.sh.
type KafkaConfig struct {
	// Dir holds the log directory ("data"), server.properties and the log ("kafka.log").
	// An already formatted log directory is reused. Empty means a new temporary directory,
	// which Close removes.
	Dir string
	// Port is the broker's PLAINTEXT port on 127.0.0.1. Default 0: a free port.
	Port int
	// ControllerPort is the KRaft controller's port on 127.0.0.1. Default 0: a free port.
	ControllerPort int
	// JarsDir holds the broker jars. Default: $QC_KAFKA_JARS, else
	// <repo>/.dev/kafka/<version>/libs, the repo being the nearest ancestor of the working
	// directory that holds go.work and <version> the kafka.version of .ci/kafka-pom.xml.
	JarsDir string
	// Partitions is the partition count of auto-created topics. Default 8.
	Partitions int
	// JavaOptions are the JVM options. Default: a 256–512 MiB heap, the serial collector
	// and the C1 compiler only, which start fastest on a small machine.
	JavaOptions []string
	// StopTimeout bounds a graceful shutdown before the broker is killed. Default 30s.
	StopTimeout time.Duration
}

// DefaultKafkaJavaOptions are the JVM options used when KafkaConfig.JavaOptions is empty.
var DefaultKafkaJavaOptions = []string{
	"-Xms256m", "-Xmx512m",
	"-XX:+UseSerialGC",
	"-XX:TieredStopAtLevel=1",
	"-XX:-UsePerfData", // no hsperfdata files left in /tmp
	"-Djava.awt.headless=true",
}

// ServingKafkaJavaOptions are the JVM options of a broker that runs for hours (make dev):
// the optimizing C2 compiler, which the defaults leave out to start fast. make bench keeps
// the defaults: its windows start while C2 would still be compiling, and the compiling
// took CPU the rest of the system needed (docs/benchmarks.md). Measured on the 2-core reference machine after a 20 s warm-up, producing
// with acks=all at 1,000/2,000/5,000 records/s, it takes Kafka's CPU per record from
// 486/352/222 µs to 598/270/142 µs and the produce p50 from 2.7/1.7/1.6 ms to
// 0.6/0.4/0.9 ms, for a start of 12 s instead of 6 s. The serial collector stays: the
// default G1 measured the same p50 with worse tails on 2 cores.
var ServingKafkaJavaOptions = []string{
	"-Xms256m", "-Xmx512m",
	"-XX:+UseSerialGC",
	"-XX:-UsePerfData",
	"-Djava.awt.headless=true",
}

// kafkaReadyTimeout bounds how long a start waits for the broker to serve metadata.
const kafkaReadyTimeout = 90 * time.Second

// Kafka is a single-node KRaft Kafka (broker and controller in one JVM) started by
// StartKafka. Its methods are safe for concurrent use.
type Kafka struct {
	cfg     KafkaConfig
	dir     string
	created bool
	jarsDir string
	version string
	java    string
	logPath string

	slot slot
}

// StartKafka formats a log directory if needed, starts a combined broker and controller
// on 127.0.0.1 and waits until the broker serves metadata.
func StartKafka(ctx context.Context, cfg KafkaConfig) (*Kafka, error) {
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
	dir, created, err := serverDir(cfg.Dir, "kafka")
	if err != nil {
		return nil, err
	}
	k := &Kafka{slot: slot{name: "kafka"}, cfg: cfg, dir: dir, created: created, jarsDir: jars, version: version, java: java,
		logPath: filepath.Join(dir, "kafka.log")}
	if err := os.WriteFile(k.log4jPath(), []byte(kafkaLog4j), 0o644); err != nil {
		k.removeDir()
		return nil, fmt.Errorf("kafka: write log4j2 config: %w", err)
	}
	_, statErr := os.Stat(filepath.Join(k.dataDir(), "meta.properties"))
	fresh := errors.Is(statErr, os.ErrNotExist)
	pickPorts := cfg.Port == 0 || cfg.ControllerPort == 0
	for attempt := 1; ; attempt++ {
		if err = k.configure(ctx, fresh, cfg); err == nil {
			err = k.Start(ctx)
		}
		if err == nil || !pickPorts || attempt == 3 || !logMentionsBindFailure(k.logPath) {
			break
		}
	}
	if err != nil {
		k.removeDir()
		return nil, err
	}
	return k, nil
}

// configure picks the ports still unset in want, writes server.properties and, for a new
// log directory, formats it.
func (k *Kafka) configure(ctx context.Context, fresh bool, want KafkaConfig) error {
	var err error
	if want.Port == 0 {
		if k.cfg.Port, err = FreePort(); err != nil {
			return err
		}
	}
	if want.ControllerPort == 0 {
		if k.cfg.ControllerPort, err = FreePort(); err != nil {
			return err
		}
	}
	if err := os.WriteFile(k.propsPath(), []byte(k.serverProperties()), 0o644); err != nil {
		return fmt.Errorf("kafka: write server.properties: %w", err)
	}
	if !fresh {
		return nil
	}
	// A retry after a port clash formats again from scratch.
	if err := os.RemoveAll(k.dataDir()); err != nil {
		return fmt.Errorf("kafka: clear log dir: %w", err)
	}
	return k.format(ctx)
}

// newClusterID returns a random Kafka cluster id: 16 bytes, base64url without padding. An
// id starting with '-' would be read as an option by kafka-storage's argument parser, so
// such ids are drawn again, as Kafka's own Uuid.randomUuid does.
func newClusterID(r io.Reader) (string, error) {
	id := make([]byte, 16)
	for {
		if _, err := io.ReadFull(r, id); err != nil {
			return "", fmt.Errorf("kafka: cluster id: %w", err)
		}
		if s := base64.RawURLEncoding.EncodeToString(id); s[0] != '-' {
			return s, nil
		}
	}
}

// format runs kafka-storage format with a new cluster id.
func (k *Kafka) format(ctx context.Context) error {
	clusterID, err := newClusterID(rand.Reader)
	if err != nil {
		return err
	}
	p, err := startProcess(procSpec{
		name:       "kafka-storage-format",
		path:       k.java,
		args:       k.javaArgs("kafka.tools.StorageTool", "format", "-t", clusterID, "-c", k.propsPath()),
		dir:        k.dir,
		logPath:    k.logPath,
		stopSignal: syscall.SIGTERM,
	})
	if err != nil {
		return err
	}
	select {
	case <-p.exited():
	case <-ctx.Done():
		_ = p.kill()
		return fmt.Errorf("kafka: format log dir: %w", ctx.Err())
	}
	if p.err != nil {
		return fmt.Errorf("kafka: format log dir failed: %w; log %s:\n%s", p.err, k.logPath, tailFile(k.logPath, 20))
	}
	return nil
}

func (k *Kafka) javaArgs(mainClass string, args ...string) []string {
	out := append([]string{}, k.cfg.JavaOptions...)
	out = append(out,
		"-Dlog4j2.configurationFile="+k.log4jPath(),
		"-cp", filepath.Join(k.jarsDir, "*"),
		mainClass)
	return append(out, args...)
}

// Start starts the broker again on the same log directory and ports, and waits until it
// serves metadata. Starting a running broker is an error.
func (k *Kafka) Start(ctx context.Context) error {
	return k.slot.start(ctx, func(bool) (*process, error) {
		return startProcess(procSpec{
			name:       "kafka",
			path:       k.java,
			args:       k.javaArgs("kafka.Kafka", k.propsPath()),
			dir:        k.dir,
			logPath:    k.logPath,
			stopSignal: syscall.SIGTERM,
		})
	}, k.waitReady)
}

func (k *Kafka) waitReady(ctx context.Context, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, kafkaReadyTimeout)
	defer cancel()
	var lastErr error
	for {
		// Skip the client until the port is open: sarama's own retries are slow.
		err := dialOnce(ctx, k.Brokers()[0])
		if err == nil {
			err = brokerReady(k.Brokers())
		}
		if err == nil {
			select {
			case <-p.exited():
				// What answered was another server on the same port.
				return fmt.Errorf("kafka: %w", p.exitError())
			default:
				return nil
			}
		}
		lastErr = err
		select {
		case <-p.exited():
			return fmt.Errorf("kafka: %w", p.exitError())
		case <-ctx.Done():
			return fmt.Errorf("kafka: not ready on port %d: %w (last error: %v); log %s:\n%s",
				k.cfg.Port, ctx.Err(), lastErr, k.logPath, tailFile(k.logPath, 20))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func dialOnce(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// Stop shuts the broker down gracefully and keeps its data. It kills the broker if it has
// not exited after the stop timeout or when ctx ends.
func (k *Kafka) Stop(ctx context.Context) error {
	return k.slot.stop(ctx, k.cfg.StopTimeout)
}

// Kill kills the broker with SIGKILL, as a crash would, and keeps its data.
func (k *Kafka) Kill() error {
	return k.slot.kill()
}

// Close stops the broker and removes its directory if StartKafka created it.
func (k *Kafka) Close() error {
	return errors.Join(k.slot.close(k.cfg.StopTimeout), k.removeDir())
}

func (k *Kafka) removeDir() error {
	if !k.created {
		return nil
	}
	k.created = false
	if err := os.RemoveAll(k.dir); err != nil {
		return fmt.Errorf("kafka: remove %s: %w", k.dir, err)
	}
	return nil
}

// Brokers lists the bootstrap addresses: the one broker, "127.0.0.1:port".
func (k *Kafka) Brokers() []string {
	return []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(k.cfg.Port))}
}

// Port is the broker's PLAINTEXT port.
func (k *Kafka) Port() int { return k.cfg.Port }

// Version is the Kafka version of the broker jars, e.g. "4.4.0".
func (k *Kafka) Version() string { return k.version }

// Dir is the directory holding the broker's data, configuration and log.
func (k *Kafka) Dir() string { return k.dir }

// LogPath is the file the broker's output goes to.
func (k *Kafka) LogPath() string { return k.logPath }

// Pid is the JVM's process id, or 0 before the first start.
func (k *Kafka) Pid() int {
	return k.slot.pid()
}

// CreateTopic creates topic name with the given number of partitions and waits until
// every partition has a leader.
func (k *Kafka) CreateTopic(ctx context.Context, name string, partitions int) error {
	return CreateTopic(ctx, k.Brokers(), name, partitions)
}

func (k *Kafka) dataDir() string   { return filepath.Join(k.dir, "data") }
func (k *Kafka) propsPath() string { return filepath.Join(k.dir, "server.properties") }
func (k *Kafka) log4jPath() string { return filepath.Join(k.dir, "log4j2.properties") }

func (k *Kafka) serverProperties() string {
	controller := "127.0.0.1:" + strconv.Itoa(k.cfg.ControllerPort)
	broker := "127.0.0.1:" + strconv.Itoa(k.cfg.Port)
	props := []string{
		"process.roles=broker,controller",
		"node.id=1",
		"controller.quorum.voters=1@" + controller,
		"listeners=PLAINTEXT://" + broker + ",CONTROLLER://" + controller,
		"advertised.listeners=PLAINTEXT://" + broker,
		"controller.listener.names=CONTROLLER",
		"inter.broker.listener.name=PLAINTEXT",
		"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
		"log.dirs=" + k.dataDir(),
		"num.partitions=" + strconv.Itoa(k.cfg.Partitions),
		"auto.create.topics.enable=true",
		"delete.topic.enable=true",
		"default.replication.factor=1",
		"min.insync.replicas=1",
		"offsets.topic.replication.factor=1",
		// Fewer internal partitions make the first consumer group much faster to set up.
		"offsets.topic.num.partitions=8",
		"transaction.state.log.replication.factor=1",
		"transaction.state.log.min.isr=1",
		"transaction.state.log.num.partitions=8",
		"share.coordinator.state.topic.replication.factor=1",
		"share.coordinator.state.topic.min.isr=1",
		"group.initial.rebalance.delay.ms=0",
		// After a Kill, the restarted broker cannot register until the old session expires
		// (9 s by default).
		"broker.heartbeat.interval.ms=500",
		"broker.session.timeout.ms=3000",
		// Sized for two cores and a 512 MiB heap.
		"num.network.threads=2",
		"num.io.threads=4",
		"num.recovery.threads.per.data.dir=1",
		"log.cleaner.threads=1",
		"log.cleaner.dedupe.buffer.size=16777216",
	}
	return "# Written by devstack; rewritten on every StartKafka.\n" + strings.Join(props, "\n") + "\n"
}

// kafkaLog4j sends the broker's log to stdout (the log file), without the per-partition
// and configuration chatter.
const kafkaLog4j = `status = warn
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.config.name = org.apache.kafka.common.config
logger.config.level = WARN
logger.storage.name = org.apache.kafka.storage.internals
logger.storage.level = WARN
logger.log.name = kafka.log
logger.log.level = WARN
logger.utils.name = org.apache.kafka.common.utils.AppInfoParser
logger.utils.level = WARN
`

// findJava returns the java executable: $JAVA_HOME/bin/java, else java on PATH.
func findJava() (string, error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		p := filepath.Join(home, "bin", "java")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("java")
	if err != nil {
		return "", errors.New("kafka: java not found (set JAVA_HOME, or run .ci/install-deps.sh)")
	}
	return p, nil
}
