package kafka

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/quickchat-go/quickchat/harness/devstack"
	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// failFast bounds how long a refused connection may take to be reported: Sarama's
// metadata retries, not a hang.
const failFast = 20 * time.Second

// newTopicName returns a topic name no other test uses, deleting the topic when tb ends.
func newTopicName(tb testing.TB, brokers []string) string {
	tb.Helper()
	name := "qctest." + testenv.UniqueName(tb)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = devstack.DeleteTopic(ctx, brokers, name)
	})
	return name
}

// describeTopic returns the topic's replication factor and min.insync.replicas.
func describeTopic(tb testing.TB, brokers []string, s Settings, topic string) (replicas int, minInsync string) {
	tb.Helper()
	cfg, err := s.NewConfig("test-admin")
	if err != nil {
		tb.Fatal(err)
	}
	admin, err := sarama.NewClusterAdmin(brokers, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	// A new topic's partitions reach the metadata a moment after it is created.
	var md []*sarama.TopicMetadata
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		md, err = admin.DescribeTopics([]string{topic})
		if err == nil && len(md) == 1 && md[0].Err == sarama.ErrNoError && len(md[0].Partitions) > 0 {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("describe %s: %v %+v", topic, err, md)
		}
	}
	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic, ConfigNames: []string{"min.insync.replicas"}})
	if err != nil || len(entries) != 1 {
		tb.Fatalf("describe config of %s: %v %+v", topic, err, entries)
	}
	return len(md[0].Partitions[0].Replicas), entries[0].Value
}

func ensure(tb testing.TB, brokers []string, s Settings, topic string) error {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return EnsureTopic(ctx, brokers, s, topic, 2)
}

func TestEnsureTopicOnTheOneBrokerStack(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	t.Run("a new topic gets one replica per broker and min.insync.replicas 1", func(t *testing.T) {
		topic := newTopicName(t, brokers)
		if err := ensure(t, brokers, Settings{}, topic); err != nil {
			t.Fatal(err)
		}
		if rf, mi := describeTopic(t, brokers, Settings{}, topic); rf != 1 || mi != "1" {
			t.Fatalf("replication %d, min.insync.replicas %s; want 1 and 1", rf, mi)
		}
		if err := ensure(t, brokers, Settings{}, topic); err != nil {
			t.Fatalf("ensuring an existing topic: %v", err)
		}
	})
	t.Run("explicit settings are used as given", func(t *testing.T) {
		topic := newTopicName(t, brokers)
		s := Settings{TopicReplication: 1, TopicMinInsync: 1}
		if err := ensure(t, brokers, s, topic); err != nil {
			t.Fatal(err)
		}
		if rf, mi := describeTopic(t, brokers, s, topic); rf != 1 || mi != "1" {
			t.Fatalf("replication %d, min.insync.replicas %s", rf, mi)
		}
	})
	t.Run("more replicas than brokers is an error that says how many", func(t *testing.T) {
		err := ensure(t, brokers, Settings{TopicReplication: 3}, newTopicName(t, brokers))
		if err == nil || !strings.Contains(err.Error(), "replication 3") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a managed topic that does not exist stops the service and is not created", func(t *testing.T) {
		topic := newTopicName(t, brokers)
		err := ensure(t, brokers, Settings{TopicManaged: true}, topic)
		if err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "KAFKA_TOPIC_MANAGED") {
			t.Fatalf("err = %v", err)
		}
		if err := ensure(t, brokers, Settings{TopicManaged: true}, topic); err == nil {
			t.Fatal("the managed topic was created")
		}
	})
	t.Run("a managed topic that exists is accepted", func(t *testing.T) {
		if err := ensure(t, brokers, Settings{TopicManaged: true}, testenv.Topic(t, 1)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestEnsureTopicFailsFastNamingTheCause(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	tests := []struct {
		name    string
		brokers []string
		s       Settings
		want    string
	}{
		{"no broker at the address", []string{"127.0.0.1:1"}, Settings{}, "nothing listens"},
		{"TLS towards a plaintext listener", brokers, Settings{TLS: true}, "TLS"},
		{"SASL towards a listener without SASL", brokers, Settings{SASLMechanism: "PLAIN", SASLUsername: "u", SASLPassword: "p", SASLWithoutTLS: true}, "SASL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			err := ensure(t, tt.brokers, tt.s, "qctest.never-created")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one naming %q", err, tt.want)
			}
			if d := time.Since(start); d > failFast {
				t.Fatalf("took %v to fail", d)
			}
			t.Logf("%v after %v", err, time.Since(start).Round(time.Millisecond))
		})
	}
}
