package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// Config is the persister's configuration, read from PERSISTER_* variables.
type Config struct {
	// Addr is the listen address of the ops endpoints (/healthz, /readyz, /metrics).
	Addr string `envconfig:"ADDR" default:":8082"`
	// DatabaseURL is the PostgreSQL connection URL.
	DatabaseURL string `envconfig:"DATABASE_URL" required:"true"`
	// DatabaseMaxConns caps the connection pool.
	DatabaseMaxConns int32 `envconfig:"DATABASE_MAX_CONNS" default:"8"`
	// KafkaBrokers are the bootstrap brokers, comma-separated.
	KafkaBrokers []string `envconfig:"KAFKA_BROKERS" default:"127.0.0.1:9092"`
	// KafkaTopic is the chat-message topic to consume.
	KafkaTopic string `envconfig:"KAFKA_TOPIC" default:"chat-messages"`
	// KafkaTopicPartitions is used when the topic must be created.
	KafkaTopicPartitions int32 `envconfig:"KAFKA_TOPIC_PARTITIONS" default:"12"`
	// KafkaGroup is the consumer group shared by all persister instances.
	KafkaGroup string `envconfig:"KAFKA_GROUP" default:"persister"`
	// BatchSize is the most messages written in one transaction.
	BatchSize int `envconfig:"BATCH_SIZE" default:"1000"`
	// BatchLinger is how long a partial batch waits for more messages.
	BatchLinger time.Duration `envconfig:"BATCH_LINGER" default:"20ms"`
	// ShutdownGrace bounds graceful shutdown.
	ShutdownGrace time.Duration `envconfig:"SHUTDOWN_GRACE" default:"20s"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `envconfig:"LOG_LEVEL" default:"info"`
	// LogFormat is json or console.
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
	if len(c.KafkaBrokers) == 0 {
		errs = append(errs, errors.New("PERSISTER_KAFKA_BROKERS must not be empty"))
	}
	if c.BatchSize < 1 || c.BatchSize > 50000 {
		errs = append(errs, errors.New("PERSISTER_BATCH_SIZE must be 1..50000"))
	}
	if c.BatchLinger < 0 {
		errs = append(errs, errors.New("PERSISTER_BATCH_LINGER must not be negative"))
	}
	if c.DatabaseMaxConns < 1 || c.KafkaTopicPartitions < 1 || c.ShutdownGrace <= 0 {
		errs = append(errs, errors.New("PERSISTER pool size, partitions and grace must be positive"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}
