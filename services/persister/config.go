package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/quickchat-go/quickchat/pkg/kafka"
)

// Config is the persister's configuration, read from PERSISTER_* variables. Every default
// is in the struct tags.
type Config struct {
	// OpsAddr is the listen address of the ops endpoints (/healthz, /readyz, /metrics), for
	// probes and Prometheus only; the persister has no public listener. Default ":8092".
	OpsAddr string `envconfig:"OPS_ADDR" default:":8092"`
	// DatabaseURL is the PostgreSQL connection URL. Required.
	DatabaseURL string `envconfig:"DATABASE_URL" required:"true"`
	// DatabaseMaxConns caps the connection pool; at most this many batches are written at
	// once. A few per PostgreSQL core is plenty: more only contend for the same index pages.
	// Default 4.
	DatabaseMaxConns int32 `envconfig:"DATABASE_MAX_CONNS" default:"4"`
	// KafkaBrokers are the bootstrap brokers, comma-separated. Default "127.0.0.1:9092".
	KafkaBrokers []string `envconfig:"KAFKA_BROKERS" default:"127.0.0.1:9092"`
	// KafkaTopic is the chat-message topic to consume. Default "chat-messages".
	KafkaTopic string `envconfig:"KAFKA_TOPIC" default:"chat-messages"`
	// KafkaTopicPartitions is used when the topic must be created. Default 12.
	KafkaTopicPartitions int32 `envconfig:"KAFKA_TOPIC_PARTITIONS" default:"12"`
	// Kafka is how the brokers are reached (TLS, SASL) and how the topics are replicated
	// when this service creates them (PERSISTER_KAFKA_TLS, PERSISTER_KAFKA_SASL_MECHANISM,
	// PERSISTER_KAFKA_TOPIC_REPLICATION, ...; see pkg/kafka.Settings). The consumer group,
	// the dead-letter producer and the topic admin all use it.
	Kafka kafka.Settings `envconfig:"KAFKA"`
	// KafkaGroup is the consumer group shared by all persister instances. Default
	// "persister".
	KafkaGroup string `envconfig:"KAFKA_GROUP" default:"persister"`
	// KafkaFetchBytes is how many bytes one fetch asks each partition for; bigger fetches
	// keep a backlog flowing with fewer round trips. Default 4 MiB.
	KafkaFetchBytes int32 `envconfig:"KAFKA_FETCH_BYTES" default:"4194304"`
	// KafkaSessionTimeout is how long the group waits for a silent instance (one that was
	// killed, say) before giving its partitions to the others. Default 10s.
	KafkaSessionTimeout time.Duration `envconfig:"KAFKA_SESSION_TIMEOUT" default:"10s"`
	// DeadLetterTopic receives records that can never be stored, with the reason in the
	// "dead-letter-reason" header. Default "chat-messages.dead-letter".
	DeadLetterTopic string `envconfig:"DEAD_LETTER_TOPIC" default:"chat-messages.dead-letter"`
	// BatchSize is the most messages written in one transaction. Default 2000.
	BatchSize int `envconfig:"BATCH_SIZE" default:"2000"`
	// BatchLinger is how long a partial batch waits for more messages. Default 20ms.
	BatchLinger time.Duration `envconfig:"BATCH_LINGER" default:"20ms"`
	// WriteTimeout bounds one attempt to write a batch; a timed-out attempt is retried.
	// Default 15s.
	WriteTimeout time.Duration `envconfig:"WRITE_TIMEOUT" default:"15s"`
	// RetryBackoffMin is the first wait after a failed write; it doubles per failure.
	// Default 100ms.
	RetryBackoffMin time.Duration `envconfig:"RETRY_BACKOFF_MIN" default:"100ms"`
	// RetryBackoffMax caps the wait between retries. Default 5s.
	RetryBackoffMax time.Duration `envconfig:"RETRY_BACKOFF_MAX" default:"5s"`
	// ShutdownGrace bounds graceful shutdown. Default 20s.
	ShutdownGrace time.Duration `envconfig:"SHUTDOWN_GRACE" default:"20s"`
	// LogLevel is debug, info, warn or error. Default "info".
	LogLevel string `envconfig:"LOG_LEVEL" default:"info"`
	// LogFormat is json or console. Default "json".
	LogFormat string `envconfig:"LOG_FORMAT" default:"json"`
}

func loadConfig() (Config, error) {
	var c Config
	if err := envconfig.Process("PERSISTER", &c); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	return c, c.Validate()
}

// Validate checks values that envconfig cannot.
func (c Config) Validate() error {
	var errs []error
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("PERSISTER_DATABASE_URL must be set"))
	}
	if c.OpsAddr == "" {
		errs = append(errs, errors.New("PERSISTER_OPS_ADDR must be set"))
	}
	if len(c.KafkaBrokers) == 0 {
		errs = append(errs, errors.New("PERSISTER_KAFKA_BROKERS must not be empty"))
	}
	if c.KafkaTopic == "" || c.KafkaGroup == "" || c.DeadLetterTopic == "" {
		errs = append(errs, errors.New("PERSISTER_KAFKA_TOPIC, PERSISTER_KAFKA_GROUP and PERSISTER_DEAD_LETTER_TOPIC must be set"))
	}
	if err := c.Kafka.Validate("PERSISTER_KAFKA"); err != nil {
		errs = append(errs, err)
	}
	if c.DeadLetterTopic == c.KafkaTopic {
		errs = append(errs, errors.New("PERSISTER_DEAD_LETTER_TOPIC must differ from PERSISTER_KAFKA_TOPIC"))
	}
	if c.BatchSize < 1 || c.BatchSize > 50000 {
		errs = append(errs, errors.New("PERSISTER_BATCH_SIZE must be 1..50000"))
	}
	if c.BatchLinger < 0 {
		errs = append(errs, errors.New("PERSISTER_BATCH_LINGER must not be negative"))
	}
	if c.KafkaFetchBytes < 64<<10 {
		errs = append(errs, errors.New("PERSISTER_KAFKA_FETCH_BYTES must be at least 65536"))
	}
	if c.KafkaSessionTimeout < 6*time.Second {
		// Kafka brokers refuse shorter sessions by default (group.min.session.timeout.ms).
		errs = append(errs, errors.New("PERSISTER_KAFKA_SESSION_TIMEOUT must be at least 6s"))
	}
	if c.WriteTimeout <= 0 || c.RetryBackoffMin <= 0 || c.RetryBackoffMax < c.RetryBackoffMin {
		errs = append(errs, errors.New("PERSISTER_WRITE_TIMEOUT and PERSISTER_RETRY_BACKOFF_MIN must be positive and PERSISTER_RETRY_BACKOFF_MAX at least the minimum"))
	}
	if c.DatabaseMaxConns < 1 || c.KafkaTopicPartitions < 1 || c.ShutdownGrace <= 0 {
		errs = append(errs, errors.New("PERSISTER pool size, partitions and grace must be positive"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}
