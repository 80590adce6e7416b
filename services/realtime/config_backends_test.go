package main

import (
	"strings"
	"testing"

	"github.com/quickchat-go/quickchat/pkg/kafka"
	"github.com/quickchat-go/quickchat/pkg/redisconn"
)

// TestConfigReadsTheBackendSettings checks the names of the Kafka and Redis connection
// variables and that wrong combinations stop the service before it connects.
func TestConfigReadsTheBackendSettings(t *testing.T) {
	t.Setenv("REALTIME_JWKS_URL", "http://gateway:8080/.well-known/jwks.json")
	t.Run("every variable lands in its field", func(t *testing.T) {
		for k, v := range map[string]string{
			"REALTIME_KAFKA_TLS": "true", "REALTIME_KAFKA_TLS_CA_FILE": "/ca/kafka.pem", "REALTIME_KAFKA_TLS_SERVER_NAME": "kafka.internal",
			"REALTIME_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "REALTIME_KAFKA_SASL_USERNAME": "rt", "REALTIME_KAFKA_SASL_PASSWORD": "pw",
			"REALTIME_KAFKA_TOPIC_REPLICATION": "3", "REALTIME_KAFKA_TOPIC_MIN_INSYNC": "2", "REALTIME_KAFKA_TOPIC_MANAGED": "true",
			"REALTIME_REDIS_USERNAME": "qc", "REALTIME_REDIS_PASSWORD": "rpw", "REALTIME_REDIS_TLS": "true",
			"REALTIME_REDIS_TLS_CA_FILE": "/ca/redis.pem", "REALTIME_REDIS_TLS_CERT_FILE": "/c.pem", "REALTIME_REDIS_TLS_KEY_FILE": "/k.pem",
		} {
			t.Setenv(k, v)
		}
		cfg, err := loadConfig()
		if err != nil {
			t.Fatal(err)
		}
		wantKafka := kafka.Settings{
			TLS: true, TLSCAFile: "/ca/kafka.pem", TLSServerName: "kafka.internal",
			SASLMechanism: "SCRAM-SHA-512", SASLUsername: "rt", SASLPassword: "pw",
			TopicReplication: 3, TopicMinInsync: 2, TopicManaged: true,
		}
		wantRedis := redisconn.Settings{Username: "qc", Password: "rpw", TLS: true, TLSCAFile: "/ca/redis.pem", TLSCertFile: "/c.pem", TLSKeyFile: "/k.pem"}
		if cfg.Kafka != wantKafka || cfg.Redis != wantRedis {
			t.Fatalf("kafka %+v\nredis %+v", cfg.Kafka, cfg.Redis)
		}
	})
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"a misspelt SASL mechanism is refused", map[string]string{
			"REALTIME_KAFKA_TLS": "true", "REALTIME_KAFKA_SASL_MECHANISM": "SCRAM", "REALTIME_KAFKA_SASL_USERNAME": "u", "REALTIME_KAFKA_SASL_PASSWORD": "p",
		}, "REALTIME_KAFKA_SASL_MECHANISM: unknown SASL mechanism"},
		{"SASL without TLS is refused", map[string]string{
			"REALTIME_KAFKA_SASL_MECHANISM": "PLAIN", "REALTIME_KAFKA_SASL_USERNAME": "u", "REALTIME_KAFKA_SASL_PASSWORD": "p",
		}, "REALTIME_KAFKA_SASL_MECHANISM needs REALTIME_KAFKA_TLS=true"},
		{"a Redis CA file without TLS is refused", map[string]string{"REALTIME_REDIS_TLS_CA_FILE": "/ca.pem"}, "need REALTIME_REDIS_TLS=true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if _, err := loadConfig(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("loadConfig = %v, want an error with %q", err, tt.want)
			}
		})
	}
}
