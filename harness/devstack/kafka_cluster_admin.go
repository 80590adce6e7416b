package devstack

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/IBM/sarama"
	"github.com/quickchat-go/quickchat/pkg/scram"
)

// SecureSaramaConfig returns a Sarama client config for SASL_SSL listeners such as a
// KafkaCluster's: TLS trusting the authority in caFile, and SASL as user with
// user.Mechanism (SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN). Producer and consumer settings
// are Sarama's defaults.
func SecureSaramaConfig(caFile string, user KafkaUser) (*sarama.Config, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("kafka: read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("kafka: %s holds no PEM certificate", caFile)
	}
	c := newSaramaConfig()
	c.Net.TLS.Enable = true
	c.Net.TLS.Config = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	c.Net.SASL.Enable = true
	c.Net.SASL.Handshake = true
	c.Net.SASL.Version = sarama.SASLHandshakeV1
	c.Net.SASL.User = user.Name
	c.Net.SASL.Password = user.Password
	switch user.Mechanism {
	case SASLMechanismSCRAMSHA512:
		c.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
		c.Net.SASL.SCRAMClientGeneratorFunc = scram.SHA512
	case SASLMechanismSCRAMSHA256:
		c.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
		c.Net.SASL.SCRAMClientGeneratorFunc = scram.SHA256
	case SASLMechanismPlain:
		c.Net.SASL.Mechanism = sarama.SASLTypePlaintext
	default:
		return nil, fmt.Errorf("kafka: unknown SASL mechanism %q", user.Mechanism)
	}
	return c, nil
}

// SaramaConfig returns a client config for the cluster's SASL_SSL listeners, signed in as
// its first user (see SecureSaramaConfig).
func (c *KafkaCluster) SaramaConfig() (*sarama.Config, error) {
	return SecureSaramaConfig(c.caFile, c.User())
}

// client connects to the cluster's client listeners as its first user.
func (c *KafkaCluster) client() (sarama.Client, error) {
	cfg, err := c.SaramaConfig()
	if err != nil {
		return nil, err
	}
	client, err := sarama.NewClient(c.Brokers(), cfg)
	if err != nil {
		return nil, fmt.Errorf("kafka cluster: connect: %w", err)
	}
	return client, nil
}

// waitReady waits until the node is registered (listed in the metadata it serves) and a
// metadata request over SASL_SSL to it succeeds.
func (n *KafkaNode) waitReady(ctx context.Context, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, kafkaClusterReadyTimeout)
	defer cancel()
	var lastErr error
	for {
		err := n.readyOnce(ctx)
		if err == nil {
			select {
			case <-p.exited():
				// What answered was another server on the same port.
				return fmt.Errorf("%s: %w", n.slot.name, p.exitError())
			default:
				return nil
			}
		}
		lastErr = err
		select {
		case <-p.exited():
			return fmt.Errorf("%s: %w", n.slot.name, p.exitError())
		case <-ctx.Done():
			return fmt.Errorf("%s: not ready on port %d: %w (last error: %v); log %s:\n%s",
				n.slot.name, n.clientPort, ctx.Err(), lastErr, n.logPath, tailFile(n.logPath, 20))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (n *KafkaNode) readyOnce(ctx context.Context) error {
	// Skip the clients until the port is open: sarama's own retries are slow.
	if err := dialOnce(ctx, n.InternalAddr()); err != nil {
		return err
	}
	plain, err := sarama.NewClient([]string{n.InternalAddr()}, newSaramaConfig())
	if err != nil {
		return fmt.Errorf("connect to the internal listener: %w", err)
	}
	_, err = plain.Broker(n.id)
	plain.Close()
	if err != nil {
		return fmt.Errorf("not registered yet: %w", err)
	}
	if err := n.c.ensureUsers(); err != nil {
		return err
	}
	cfg, err := n.c.SaramaConfig()
	if err != nil {
		return err
	}
	secure, err := sarama.NewClient([]string{n.Addr()}, cfg)
	if err != nil {
		return fmt.Errorf("metadata over SASL_SSL: %w", err)
	}
	defer secure.Close()
	if _, err := secure.Controller(); err != nil {
		return fmt.Errorf("controller: %w", err)
	}
	return nil
}

// ensureUsers creates or updates the configured SCRAM users, once, when the cluster
// reuses log directories formatted earlier (perhaps with other users). It goes through
// the plaintext internal listeners, which need no credentials.
func (c *KafkaCluster) ensureUsers() error {
	c.usersMu.Lock()
	defer c.usersMu.Unlock()
	if !c.usersPending {
		return nil
	}
	var internal []string
	for _, n := range c.nodes {
		internal = append(internal, n.InternalAddr())
	}
	admin, err := sarama.NewClusterAdmin(internal, newSaramaConfig())
	if err != nil {
		return fmt.Errorf("kafka cluster: admin client for SCRAM users: %w", err)
	}
	defer admin.Close()
	var upserts []sarama.AlterUserScramCredentialsUpsert
	for _, u := range c.cfg.Users {
		salt := make([]byte, 16)
		if _, err := rand.Read(salt); err != nil {
			return fmt.Errorf("kafka cluster: salt: %w", err)
		}
		mech := sarama.SCRAM_MECHANISM_SHA_512
		if u.Mechanism == SASLMechanismSCRAMSHA256 {
			mech = sarama.SCRAM_MECHANISM_SHA_256
		}
		upserts = append(upserts, sarama.AlterUserScramCredentialsUpsert{
			Name: u.Name, Mechanism: mech, Iterations: 8192, Salt: salt, Password: []byte(u.Password),
		})
	}
	results, err := admin.UpsertUserScramCredentials(upserts)
	if err != nil {
		return fmt.Errorf("kafka cluster: upsert SCRAM users: %w", err)
	}
	for _, r := range results {
		if r.ErrorCode != sarama.ErrNoError {
			return fmt.Errorf("kafka cluster: upsert SCRAM user %s: %w", r.User, r.ErrorCode)
		}
	}
	c.usersPending = false
	return nil
}

// Leader returns the node that currently leads partition of topic.
func (c *KafkaCluster) Leader(ctx context.Context, topic string, partition int32) (*KafkaNode, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	client, err := c.client()
	if err != nil {
		return nil, err
	}
	defer client.Close()
	if err := client.RefreshMetadata(topic); err != nil {
		return nil, fmt.Errorf("kafka cluster: metadata of %s: %w", topic, err)
	}
	b, err := client.Leader(topic, partition)
	if err != nil {
		return nil, fmt.Errorf("kafka cluster: leader of %s/%d: %w", topic, partition, err)
	}
	n := c.Node(b.ID())
	if n == nil {
		return nil, fmt.Errorf("kafka cluster: leader of %s/%d is unknown node %d", topic, partition, b.ID())
	}
	return n, nil
}

// WaitInSync waits until every partition of topics (every topic, the internal ones
// included, when none is named) has a leader and all its replicas in sync. A node that
// is down keeps its partitions out of sync, so call it with every node running, e.g.
// between the steps of a rolling restart.
func (c *KafkaCluster) WaitInSync(ctx context.Context, topics ...string) error {
	client, err := c.client()
	if err != nil {
		return err
	}
	defer client.Close()
	for {
		err := inSync(client, topics)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kafka cluster: replicas not in sync: %w (last: %v)", ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func inSync(client sarama.Client, topics []string) error {
	if err := client.RefreshMetadata(topics...); err != nil {
		return err
	}
	if len(topics) == 0 {
		var err error
		if topics, err = client.Topics(); err != nil {
			return err
		}
	}
	for _, t := range topics {
		parts, err := client.Partitions(t)
		if err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
		for _, p := range parts {
			replicas, err := client.Replicas(t, p)
			if err != nil {
				return fmt.Errorf("%s/%d: %w", t, p, err)
			}
			isr, err := client.InSyncReplicas(t, p)
			if err != nil {
				return fmt.Errorf("%s/%d: %w", t, p, err)
			}
			if len(isr) < len(replicas) {
				return fmt.Errorf("%s/%d: in-sync replicas %v of %v", t, p, isr, replicas)
			}
		}
		if w, err := client.WritablePartitions(t); err != nil || len(w) < len(parts) {
			return fmt.Errorf("%s: %d of %d partitions have a leader (%v)", t, len(w), len(parts), err)
		}
	}
	return nil
}

// RollingRestart stops and starts every node in turn, as an upgrade would, waiting before
// each step until every partition is back in sync.
func (c *KafkaCluster) RollingRestart(ctx context.Context) error {
	for _, n := range c.nodes {
		if err := c.WaitInSync(ctx); err != nil {
			return err
		}
		if err := n.Stop(ctx); err != nil {
			return err
		}
		if err := n.Start(ctx); err != nil {
			return err
		}
	}
	return c.WaitInSync(ctx)
}

// CreateTopic creates topic name with the given partitions and the cluster's default
// replication factor and min.insync.replicas, and waits until every partition has a
// leader. An existing topic is an error.
func (c *KafkaCluster) CreateTopic(ctx context.Context, name string, partitions int) error {
	if partitions <= 0 {
		return fmt.Errorf("kafka cluster: create topic %s: partitions must be positive, got %d", name, partitions)
	}
	client, err := c.client()
	if err != nil {
		return err
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return fmt.Errorf("kafka cluster: admin client: %w", err)
	}
	// -1: the broker's default.replication.factor.
	detail := &sarama.TopicDetail{NumPartitions: int32(partitions), ReplicationFactor: -1}
	if err := admin.CreateTopic(name, detail, false); err != nil {
		return fmt.Errorf("kafka cluster: create topic %s: %w", name, err)
	}
	for {
		err := topicHasLeaders(client, name, partitions)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kafka cluster: topic %s has no leaders: %w (last error: %v)", name, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
