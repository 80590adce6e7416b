package main

import (
	"strings"
	"testing"
)

// TestConfigRefusesKafkaSettingsThatCannotWork checks that wrong Kafka connection
// settings stop the persister before it connects, naming the variable.
func TestConfigRefusesKafkaSettingsThatCannotWork(t *testing.T) {
	t.Setenv("PERSISTER_DATABASE_URL", "postgres://x@127.0.0.1/db")
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"a misspelt SASL mechanism", map[string]string{
			"PERSISTER_KAFKA_TLS": "true", "PERSISTER_KAFKA_SASL_MECHANISM": "SCRAM-SHA512", "PERSISTER_KAFKA_SASL_USERNAME": "u", "PERSISTER_KAFKA_SASL_PASSWORD": "p",
		}, "PERSISTER_KAFKA_SASL_MECHANISM: unknown SASL mechanism"},
		{"SASL without TLS", map[string]string{
			"PERSISTER_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "PERSISTER_KAFKA_SASL_USERNAME": "u", "PERSISTER_KAFKA_SASL_PASSWORD": "p",
		}, "PERSISTER_KAFKA_SASL_MECHANISM needs PERSISTER_KAFKA_TLS=true"},
		{"a min.insync above the replication", map[string]string{
			"PERSISTER_KAFKA_TOPIC_REPLICATION": "2", "PERSISTER_KAFKA_TOPIC_MIN_INSYNC": "3",
		}, "PERSISTER_KAFKA_TOPIC_MIN_INSYNC must not exceed"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if _, err := loadConfig(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("loadConfig = %v, want an error with %q", err, tt.want)
			}
		})
	}
}
