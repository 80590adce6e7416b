package kafka

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/IBM/sarama"

	"github.com/quickchat-go/quickchat/harness/devstack"
)

func TestSettingsValidate(t *testing.T) {
	scramTLS := Settings{TLS: true, SASLMechanism: "SCRAM-SHA-512", SASLUsername: "u", SASLPassword: "p"}
	tests := []struct {
		name   string
		mutate func(*Settings)
		// wantErr is a piece of the error, or "" for a valid setting.
		wantErr string
	}{
		{"the zero value (the dev stack) is valid", func(s *Settings) { *s = Settings{} }, ""},
		{"SCRAM over TLS is valid", nil, ""},
		{"a mechanism in lower case is valid", func(s *Settings) { s.SASLMechanism = "scram-sha-256" }, ""},
		{"PLAIN over TLS is valid", func(s *Settings) { s.SASLMechanism = "PLAIN" }, ""},
		{"a misspelt mechanism is refused naming the known ones", func(s *Settings) { s.SASLMechanism = "SCRAM_SHA_512" },
			`QC_KAFKA_SASL_MECHANISM: unknown SASL mechanism "SCRAM_SHA_512": want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`},
		{"SASL without TLS is refused", func(s *Settings) { s.TLS = false }, "QC_KAFKA_SASL_MECHANISM needs QC_KAFKA_TLS=true"},
		{"SASL without TLS is allowed when asked for", func(s *Settings) { s.TLS, s.SASLWithoutTLS = false, true }, ""},
		{"a mechanism without a password is refused", func(s *Settings) { s.SASLPassword = "" }, "needs QC_KAFKA_SASL_USERNAME and QC_KAFKA_SASL_PASSWORD"},
		{"credentials without a mechanism are refused", func(s *Settings) { s.SASLMechanism = "" }, "need QC_KAFKA_SASL_MECHANISM"},
		{"a CA file without TLS is refused", func(s *Settings) { *s = Settings{TLSCAFile: "ca.pem"} }, "need QC_KAFKA_TLS=true"},
		{"a client certificate without its key is refused", func(s *Settings) { s.TLSCertFile = "c.pem" }, "must be set together"},
		{"replication -1 (the brokers' default) is valid", func(s *Settings) { s.TopicReplication = -1 }, ""},
		{"replication below -1 is refused", func(s *Settings) { s.TopicReplication = -2 }, "QC_KAFKA_TOPIC_REPLICATION must be"},
		{"min.insync above the replication is refused", func(s *Settings) { s.TopicReplication, s.TopicMinInsync = 2, 3 }, "must not exceed"},
		{"a negative min.insync is refused", func(s *Settings) { s.TopicMinInsync = -1 }, "QC_KAFKA_TOPIC_MIN_INSYNC must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := scramTLS
			if tt.mutate != nil {
				tt.mutate(&s)
			}
			err := s.Validate("QC_KAFKA")
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate() = %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

func TestConfigureAppliesTLSAndSASLToSarama(t *testing.T) {
	ca, err := devstack.NewCertAuthority(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.Issue("client")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		s     Settings
		check func(t *testing.T, c *sarama.Config)
	}{
		{"the zero value leaves the connection plain", Settings{}, func(t *testing.T, c *sarama.Config) {
			if c.Net.TLS.Enable || c.Net.SASL.Enable {
				t.Fatal("TLS or SASL turned on")
			}
		}},
		{"TLS trusts the CA file and presents the client certificate", Settings{
			TLS: true, TLSCAFile: ca.CAFile(), TLSCertFile: client.CertFile, TLSKeyFile: client.KeyFile, TLSServerName: "kafka.internal",
		}, func(t *testing.T, c *sarama.Config) {
			tc := c.Net.TLS.Config
			if !c.Net.TLS.Enable || tc == nil || tc.RootCAs == nil || len(tc.Certificates) != 1 || tc.ServerName != "kafka.internal" {
				t.Fatalf("TLS = %v, %+v", c.Net.TLS.Enable, tc)
			}
		}},
		{"PLAIN sends the credentials in the SASL handshake", Settings{
			TLS: true, SASLMechanism: "plain", SASLUsername: "key", SASLPassword: "secret",
		}, func(t *testing.T, c *sarama.Config) {
			s := c.Net.SASL
			if !s.Enable || !s.Handshake || s.Mechanism != sarama.SASLTypePlaintext || s.User != "key" || s.Password != "secret" {
				t.Fatalf("SASL = %+v", s)
			}
		}},
		{"SCRAM-SHA-512 gets a SCRAM client of that hash", Settings{
			TLS: true, SASLMechanism: "SCRAM-SHA-512", SASLUsername: "u", SASLPassword: "p",
		}, func(t *testing.T, c *sarama.Config) {
			if c.Net.SASL.Mechanism != sarama.SASLTypeSCRAMSHA512 || c.Net.SASL.SCRAMClientGeneratorFunc == nil {
				t.Fatalf("SASL = %+v", c.Net.SASL)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("Sarama refuses the config: %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.s.NewDurableProducerConfig("test")
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
	t.Run("a missing CA file stops the service at start", func(t *testing.T) {
		_, err := Settings{TLS: true, TLSCAFile: "/nonexistent/ca.pem"}.NewConfig("test")
		if err == nil || !strings.Contains(err.Error(), "CA file") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestExplain(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil stays nil", nil, ""},
		{"a refused SASL login names the SASL settings", fmt.Errorf("x: %w", sarama.ErrSASLAuthenticationFailed), "check KAFKA_SASL_USERNAME"},
		{"errors Sarama joins stay on one line", sarama.Wrap(sarama.ErrOutOfBrokers, errors.New("a"), errors.New("b")), "kafka: client has run out of available brokers to talk to: a; b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Explain(tt.err)
			if tt.err == nil {
				if got != nil {
					t.Fatalf("Explain(nil) = %v", got)
				}
				return
			}
			if !strings.Contains(got.Error(), tt.want) || strings.Contains(got.Error(), "\n") || !errors.Is(got, tt.err) {
				t.Fatalf("Explain = %q, want one line with %q wrapping the error", got, tt.want)
			}
		})
	}
}
