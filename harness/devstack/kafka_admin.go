package devstack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// SaramaVersion is the protocol version devstack's Kafka clients announce. Kafka 4 removed
// the old request versions Sarama uses by default, so it must be set explicitly.
var SaramaVersion = sarama.V4_0_0_0

// defaultKafkaVersion is used when .ci/kafka-pom.xml cannot be read.
const defaultKafkaVersion = "4.4.0"

// newSaramaConfig returns a client config for admin work against a local broker.
func newSaramaConfig() *sarama.Config {
	c := sarama.NewConfig()
	c.ClientID = "devstack"
	c.Version = SaramaVersion
	c.Net.DialTimeout = 2 * time.Second
	c.Net.ReadTimeout = 10 * time.Second
	c.Net.WriteTimeout = 10 * time.Second
	c.Metadata.Retry.Max = 2
	c.Metadata.Retry.Backoff = 100 * time.Millisecond
	c.Admin.Timeout = 30 * time.Second
	c.Admin.Retry.Max = 10
	c.Admin.Retry.Backoff = 200 * time.Millisecond
	return c
}

// brokerReady fetches metadata once and checks that a broker and a controller answer.
func brokerReady(brokers []string) error {
	client, err := sarama.NewClient(brokers, newSaramaConfig())
	if err != nil {
		return fmt.Errorf("kafka: connect: %w", err)
	}
	defer client.Close()
	if err := client.RefreshMetadata(); err != nil {
		return fmt.Errorf("kafka: metadata: %w", err)
	}
	if len(client.Brokers()) == 0 {
		return errors.New("kafka: metadata lists no broker yet")
	}
	if _, err := client.Controller(); err != nil {
		return fmt.Errorf("kafka: controller: %w", err)
	}
	return nil
}

// CreateTopic creates topic name with the given partitions (replication factor 1) on the
// cluster at brokers, and waits until every partition has a leader so that producing to
// it right away succeeds. An existing topic is an error.
func CreateTopic(ctx context.Context, brokers []string, name string, partitions int) error {
	if partitions <= 0 {
		return fmt.Errorf("kafka: create topic %s: partitions must be positive, got %d", name, partitions)
	}
	client, err := sarama.NewClient(brokers, newSaramaConfig())
	if err != nil {
		return fmt.Errorf("kafka: connect to %v: %w", brokers, err)
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return fmt.Errorf("kafka: admin client: %w", err)
	}
	// Closing admin would close client twice; client.Close above is enough.
	detail := &sarama.TopicDetail{NumPartitions: int32(partitions), ReplicationFactor: 1}
	if err := admin.CreateTopic(name, detail, false); err != nil {
		return fmt.Errorf("kafka: create topic %s: %w", name, err)
	}
	for {
		err := topicHasLeaders(client, name, partitions)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kafka: topic %s has no leaders: %w (last error: %v)", name, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func topicHasLeaders(client sarama.Client, topic string, partitions int) error {
	if err := client.RefreshMetadata(topic); err != nil {
		return err
	}
	ids, err := client.Partitions(topic)
	if err != nil {
		return err
	}
	if len(ids) != partitions {
		return fmt.Errorf("%d of %d partitions known", len(ids), partitions)
	}
	for _, p := range ids {
		if _, err := client.Leader(topic, p); err != nil {
			return fmt.Errorf("partition %d: %w", p, err)
		}
	}
	return nil
}

// DeleteTopic deletes topic name from the cluster at brokers. A missing topic is not an
// error.
func DeleteTopic(ctx context.Context, brokers []string, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// Sarama's admin API takes no context; each call is bounded by its own timeouts.
	admin, err := sarama.NewClusterAdmin(brokers, newSaramaConfig())
	if err != nil {
		return fmt.Errorf("kafka: connect to %v: %w", brokers, err)
	}
	defer admin.Close()
	if err := admin.DeleteTopic(name); err != nil && !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		return fmt.Errorf("kafka: delete topic %s: %w", name, err)
	}
	return nil
}

// findKafkaJars returns the directory holding the broker jars and their Kafka version.
func findKafkaJars(dir string) (jarsDir, version string, err error) {
	if dir == "" {
		dir = os.Getenv("QC_KAFKA_JARS")
	}
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			return "", "", fmt.Errorf("kafka: locate broker jars: %w; run .ci/install-deps.sh or set QC_KAFKA_JARS", err)
		}
		dir = filepath.Join(root, ".dev", "kafka", pomKafkaVersion(root), "libs")
	}
	jars, _ := filepath.Glob(filepath.Join(dir, "kafka_*-*.jar"))
	for _, j := range jars {
		if m := kafkaJarRE.FindStringSubmatch(filepath.Base(j)); m != nil {
			return dir, m[1], nil
		}
	}
	return "", "", fmt.Errorf("kafka: no broker jars (kafka_<scala>-<version>.jar) in %s: run .ci/install-deps.sh to resolve them, or set QC_KAFKA_JARS", dir)
}

// kafkaJarRE matches the broker jar, kafka_2.13-4.4.0.jar, capturing the version.
var kafkaJarRE = regexp.MustCompile(`^kafka_[0-9.]+-([0-9][0-9A-Za-z.\-]*)\.jar$`)

// repoRoot is the nearest ancestor of the working directory that holds go.work.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d, nil
		}
		if d == filepath.Dir(d) {
			return "", fmt.Errorf("no go.work in %s or its parents", wd)
		}
	}
}

var pomVersionRE = regexp.MustCompile(`<kafka\.version>\s*([^<\s]+)\s*</kafka\.version>`)

// pomKafkaVersion reads kafka.version from .ci/kafka-pom.xml, the file install-deps.sh
// resolves the jars from.
func pomKafkaVersion(root string) string {
	b, err := os.ReadFile(filepath.Join(root, ".ci", "kafka-pom.xml"))
	if err != nil {
		return defaultKafkaVersion
	}
	if m := pomVersionRE.FindSubmatch(b); m != nil {
		return strings.TrimSpace(string(m[1]))
	}
	return defaultKafkaVersion
}
