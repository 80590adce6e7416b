package devstack

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// startKafkaCluster starts a 3-node cluster for one test and closes it at the end.
func startKafkaCluster(t *testing.T) *KafkaCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: starts a 3-node Kafka cluster")
	}
	start := time.Now()
	c, err := StartKafkaCluster(t.Context(), KafkaClusterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("StartKafkaCluster %s took %v (dir %s)", c.Version(), time.Since(start), c.Dir())
	t.Cleanup(func() {
		start := time.Now()
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		t.Logf("Close took %v", time.Since(start))
	})
	return c
}

func TestKafkaClusterServesOnlyAuthenticatedTLSClientsWithReplicatedTopics(t *testing.T) {
	c := startKafkaCluster(t)
	ctx := t.Context()
	if got := len(c.Brokers()); got != 3 {
		t.Fatalf("Brokers() lists %d addresses, want 3", got)
	}

	const topic = "secure.test"
	if err := c.CreateTopic(ctx, topic, 3); err != nil {
		t.Fatal(err)
	}
	requireTopicSettings(t, c, topic, 3, "2")

	for _, u := range []KafkaUser{
		c.Users()[0],
		c.Users()[1],
		{Name: c.User().Name, Password: c.User().Password, Mechanism: SASLMechanismPlain},
	} {
		t.Run(u.Mechanism+" user produces and consumes", func(t *testing.T) {
			cfg := secureTestConfig(t, c, u)
			value := "hello over " + u.Mechanism
			produceWith(t, cfg, c.Brokers(), topic, value)
			consumeUntil(t, cfg, c.Brokers(), topic, value)
		})
	}

	t.Run("an auto-created topic is replicated three times with min.insync.replicas 2", func(t *testing.T) {
		cfg := secureTestConfig(t, c, c.User())
		produceWith(t, cfg, c.Brokers(), "secure.auto", "auto")
		requireTopicSettings(t, c, "secure.auto", 3, "2")
	})

	refusals := []struct {
		name   string
		mutate func(*sarama.Config)
		want   string
	}{
		{name: "a wrong password is refused", mutate: func(cfg *sarama.Config) {
			cfg.Net.SASL.Password = "wrong"
		}, want: "SASL"},
		{name: "a client without the CA refuses the brokers' certificates", mutate: func(cfg *sarama.Config) {
			cfg.Net.TLS.Config = &tls.Config{RootCAs: x509.NewCertPool()}
		}, want: "certificate"},
		{name: "a plaintext client is refused", mutate: func(cfg *sarama.Config) {
			cfg.Net.TLS.Enable = false
			cfg.Net.SASL.Enable = false
		}, want: ""},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			cfg := secureTestConfig(t, c, c.User())
			cfg.Metadata.Retry.Max = 0
			cfg.Net.ReadTimeout = 3 * time.Second
			tt.mutate(cfg)
			start := time.Now()
			client, err := sarama.NewClient(c.Brokers(), cfg)
			if err == nil {
				client.Close()
				t.Fatal("client connected")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
			t.Logf("refused after %v: %v", time.Since(start).Round(time.Millisecond), err)
			if d := time.Since(start); d > 15*time.Second {
				t.Fatalf("refusal took %v", d)
			}
		})
	}
}

func TestKafkaClusterStaysWritableWithAllAcksWhenALeaderIsKilled(t *testing.T) {
	c := startKafkaCluster(t)
	ctx := t.Context()
	const topic = "secure.failover"
	if err := c.CreateTopic(ctx, topic, 1); err != nil {
		t.Fatal(err)
	}
	cfg := secureTestConfig(t, c, c.User())
	produceWith(t, cfg, c.Brokers(), topic, "before kill")

	leader, err := c.Leader(ctx, topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := leader.Kill(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	produceWith(t, cfg, c.Brokers(), topic, "after kill")
	t.Logf("produced with acks=all %v after killing leader %d", time.Since(start), leader.ID())
	after, err := c.Leader(ctx, topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	if after.ID() == leader.ID() {
		t.Fatalf("node %d still leads after it was killed", leader.ID())
	}

	start = time.Now()
	if err := leader.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitInSync(ctx, topic); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed node back in sync %v after its start", time.Since(start))
	consumeUntil(t, cfg, c.Brokers(), topic, "before kill", "after kill")
}

// requireTopicSettings checks topic's replication factor (from its partitions) and
// min.insync.replicas (from its effective configuration).
func requireTopicSettings(tb testing.TB, c *KafkaCluster, topic string, wantRF int, wantMinISR string) {
	tb.Helper()
	cfg := secureTestConfig(tb, c, c.User())
	admin, err := sarama.NewClusterAdmin(c.Brokers(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	metas, err := admin.DescribeTopics([]string{topic})
	if err != nil || len(metas) != 1 || !errors.Is(metas[0].Err, sarama.ErrNoError) {
		tb.Fatalf("describe %s: %v %+v", topic, err, metas)
	}
	for _, p := range metas[0].Partitions {
		if len(p.Replicas) != wantRF {
			tb.Errorf("%s/%d has replicas %v, want %d", topic, p.ID, p.Replicas, wantRF)
		}
	}
	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic, ConfigNames: []string{"min.insync.replicas"}})
	if err != nil {
		tb.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Value != wantMinISR {
		tb.Fatalf("%s min.insync.replicas = %+v, want %s", topic, entries, wantMinISR)
	}
}

func secureTestConfig(tb testing.TB, c *KafkaCluster, u KafkaUser) *sarama.Config {
	tb.Helper()
	cfg, err := SecureSaramaConfig(c.CAFile(), u)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Retry.Max = 30
	cfg.Producer.Retry.Backoff = 250 * time.Millisecond
	cfg.Metadata.Retry.Max = 10
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	return cfg
}

func produceWith(tb testing.TB, cfg *sarama.Config, brokers []string, topic, value string) {
	tb.Helper()
	p, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		tb.Fatalf("producer: %v", err)
	}
	defer p.Close()
	if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(value)}); err != nil {
		tb.Fatalf("produce %q: %v", value, err)
	}
}

// consumeUntil reads every partition of topic from the oldest offset until each of want
// arrived, and fails tb if that takes more than 20 s.
func consumeUntil(tb testing.TB, cfg *sarama.Config, brokers []string, topic string, want ...string) {
	tb.Helper()
	c, err := sarama.NewConsumer(brokers, cfg)
	if err != nil {
		tb.Fatalf("consumer: %v", err)
	}
	defer c.Close()
	parts, err := c.Partitions(topic)
	if err != nil {
		tb.Fatalf("partitions of %s: %v", topic, err)
	}
	values := make(chan string, 100)
	done := make(chan struct{})
	defer close(done)
	for _, p := range parts {
		pc, err := c.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			tb.Fatalf("consume %s/%d: %v", topic, p, err)
		}
		defer pc.Close()
		go func() {
			for m := range pc.Messages() {
				select {
				case values <- string(m.Value):
				case <-done:
					return
				}
			}
		}()
	}
	missing := map[string]bool{}
	for _, w := range want {
		missing[w] = true
	}
	var got []string
	timeout := time.After(20 * time.Second)
	for len(missing) > 0 {
		select {
		case v := <-values:
			got = append(got, v)
			delete(missing, v)
		case <-timeout:
			tb.Fatalf("messages %v not consumed from %s within 20s; got %q", missing, topic, got)
		}
	}
}

func TestKafkaClusterRollingRestartKeepsEveryAcknowledgedMessage(t *testing.T) {
	c := startKafkaCluster(t)
	ctx := t.Context()
	const topic = "secure.rolling"
	if err := c.CreateTopic(ctx, topic, 3); err != nil {
		t.Fatal(err)
	}
	cfg := secureTestConfig(t, c, c.User())
	produceWith(t, cfg, c.Brokers(), topic, "before restart")
	pids := map[int32]int{}
	for _, n := range c.Nodes() {
		pids[n.ID()] = n.Pid()
	}
	start := time.Now()
	if err := c.RollingRestart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("rolling restart of %d nodes took %v", len(pids), time.Since(start))
	for _, n := range c.Nodes() {
		if n.Pid() == pids[n.ID()] || !n.Running() {
			t.Fatalf("node %d was not restarted (pid %d, running %v)", n.ID(), n.Pid(), n.Running())
		}
	}
	produceWith(t, cfg, c.Brokers(), topic, "after restart")
	consumeUntil(t, cfg, c.Brokers(), topic, "before restart", "after restart")
}
