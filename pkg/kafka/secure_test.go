package kafka

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/quickchat-go/quickchat/harness/devstack"
	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
)

// secureKafka returns the brokers and settings of the secured three-broker cluster that
// `devstack up -secure` starts (SASL_SSL, SCRAM-SHA-512), or skips tb when the
// QC_TEST_SECURE_KAFKA_* variables are not set.
func secureKafka(tb testing.TB) ([]string, Settings) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("integration test: needs the secured Kafka cluster (skipped with -short)")
	}
	brokers := os.Getenv("QC_TEST_SECURE_KAFKA_BROKERS")
	if brokers == "" {
		tb.Skip("QC_TEST_SECURE_KAFKA_BROKERS is not set: start the secured stack with `devstack up -secure` and source its env file")
	}
	return strings.Split(brokers, ","), Settings{
		TLS: true, TLSCAFile: os.Getenv("QC_TEST_SECURE_KAFKA_CA_FILE"),
		SASLMechanism: os.Getenv("QC_TEST_SECURE_KAFKA_SASL_MECHANISM"),
		SASLUsername:  os.Getenv("QC_TEST_SECURE_KAFKA_USERNAME"),
		SASLPassword:  os.Getenv("QC_TEST_SECURE_KAFKA_PASSWORD"),
	}
}

// newSecureTopicName returns a topic name no other test uses, deleting the topic from
// the secured cluster when tb ends.
func newSecureTopicName(tb testing.TB, brokers []string, s Settings) string {
	tb.Helper()
	name := "qctest." + testenv.UniqueName(tb)
	tb.Cleanup(func() {
		cfg, err := s.NewConfig("test-admin")
		if err != nil {
			return
		}
		if admin, err := sarama.NewClusterAdmin(brokers, cfg); err == nil {
			_ = admin.DeleteTopic(name)
			_ = admin.Close()
		}
	})
	return name
}

func TestSecuredClusterTopicsAreReplicatedAndCarryRecords(t *testing.T) {
	brokers, s := secureKafka(t)
	topic := newSecureTopicName(t, brokers, s)
	if err := ensure(t, brokers, s, topic); err != nil {
		t.Fatal(err)
	}
	if rf, mi := describeTopic(t, brokers, s, topic); rf != 3 || mi != "2" {
		t.Fatalf("replication %d, min.insync.replicas %s on three brokers; want 3 and 2", rf, mi)
	}
	t.Run("a durable producer's record is read back over SASL_SSL", func(t *testing.T) {
		pcfg, err := s.NewDurableProducerConfig("test-producer")
		if err != nil {
			t.Fatal(err)
		}
		p, err := sarama.NewSyncProducer(brokers, pcfg)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		part, off, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder("k"), Value: sarama.StringEncoder("over TLS")})
		if err != nil {
			t.Fatal(err)
		}
		ccfg, err := s.NewConfig("test-consumer")
		if err != nil {
			t.Fatal(err)
		}
		c, err := sarama.NewConsumer(brokers, ccfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		pc, err := c.ConsumePartition(topic, part, off)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		select {
		case m := <-pc.Messages():
			if string(m.Value) != "over TLS" {
				t.Fatalf("read %q", m.Value)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the record never came back")
		}
	})
	t.Run("a managed topic that exists is accepted", func(t *testing.T) {
		managed := s
		managed.TopicManaged = true
		if err := ensure(t, brokers, managed, topic); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSecuredClusterRefusesWrongSettingsFast(t *testing.T) {
	brokers, s := secureKafka(t)
	otherCA, err := devstack.NewCertAuthority(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(*Settings)
		want   string
	}{
		{"a wrong password", func(s *Settings) { s.SASLPassword += "-wrong" }, "SASL authentication failed"},
		{"an unknown user", func(s *Settings) { s.SASLUsername = "nobody" }, "SASL authentication failed"},
		{"a CA that did not sign the brokers' certificates", func(s *Settings) { s.TLSCAFile = otherCA.CAFile() }, "not signed by a trusted authority"},
		{"the system roots instead of the private CA", func(s *Settings) { s.TLSCAFile = "" }, "not signed by a trusted authority"},
		{"a plaintext client on the TLS listener", func(s *Settings) { s.TLS, s.TLSCAFile, s.SASLWithoutTLS = false, "", true }, "closed the connection"},
		{"TLS without SASL on a SASL_SSL listener", func(s *Settings) { s.SASLMechanism, s.SASLUsername, s.SASLPassword = "", "", "" }, "SASL"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" fails fast naming the cause", func(t *testing.T) {
			bad := s
			tt.mutate(&bad)
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err := EnsureTopic(ctx, brokers, bad, "qctest.never-created", 1)
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
