package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// Config is the realtime service's configuration, read from REALTIME_* variables.
type Config struct {
	// Addr is the listen address for WebSocket (/ws) and ops endpoints.
	Addr string `envconfig:"ADDR" default:":8081"`
	// InstanceID names this instance in logs and Kafka client ids (default: host name).
	InstanceID string `envconfig:"INSTANCE_ID"`
	// JWKSURL is the gateway's JWKS endpoint; tokens are verified with these public keys only.
	JWKSURL string `envconfig:"JWKS_URL" required:"true"`
	// RedisAddrs are the Redis (or Redis Cluster seed) addresses, comma-separated.
	RedisAddrs []string `envconfig:"REDIS_ADDRS" default:"127.0.0.1:6379"`
	// RedisPrefix starts every Redis key.
	RedisPrefix string `envconfig:"REDIS_PREFIX" default:"qc:"`
	// StreamShards is how many Redis streams rooms are spread over. Every instance of a
	// deployment must use the same value.
	StreamShards int `envconfig:"STREAM_SHARDS" default:"16"`
	// StreamMaxLen is the approximate entries kept per stream (the recovery window).
	StreamMaxLen int64 `envconfig:"STREAM_MAX_LEN" default:"100000"`
	// KafkaBrokers are the bootstrap brokers, comma-separated.
	KafkaBrokers []string `envconfig:"KAFKA_BROKERS" default:"127.0.0.1:9092"`
	// KafkaTopic receives every accepted chat message.
	KafkaTopic string `envconfig:"KAFKA_TOPIC" default:"chat-messages"`
	// KafkaTopicPartitions is used when the topic must be created.
	KafkaTopicPartitions int32 `envconfig:"KAFKA_TOPIC_PARTITIONS" default:"12"`
	// AllowedOrigins are browser Origin host patterns allowed to connect, comma-separated.
	AllowedOrigins []string `envconfig:"ALLOWED_ORIGINS" default:"localhost:*,127.0.0.1:*"`
	// MaxBodyBytes bounds one message body.
	MaxBodyBytes int `envconfig:"MAX_BODY_BYTES" default:"4096"`
	// SendQueue bounds the frames queued for one connection before it is closed as slow.
	SendQueue int `envconfig:"SEND_QUEUE" default:"256"`
	// WriteTimeout bounds writing one frame to a client.
	WriteTimeout time.Duration `envconfig:"WRITE_TIMEOUT" default:"10s"`
	// SendTimeout bounds making one message durable and published.
	SendTimeout time.Duration `envconfig:"SEND_TIMEOUT" default:"10s"`
	// DedupTTL is how long client message ids are remembered for retries.
	DedupTTL time.Duration `envconfig:"DEDUP_TTL" default:"24h"`
	// RecoverLimit caps how many missed messages one rejoin replays.
	RecoverLimit int `envconfig:"RECOVER_LIMIT" default:"1000"`
	// ShutdownGrace bounds draining on SIGTERM.
	ShutdownGrace time.Duration `envconfig:"SHUTDOWN_GRACE" default:"20s"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `envconfig:"LOG_LEVEL" default:"info"`
	// LogFormat is json or console.
	LogFormat string `envconfig:"LOG_FORMAT" default:"json"`
}

func loadConfig() (Config, error) {
	var c Config
	if err := envconfig.Process("REALTIME", &c); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	return c, c.Validate()
}

// Validate checks values that envconfig cannot.
func (c Config) Validate() error {
	var errs []error
	if len(c.RedisAddrs) == 0 || len(c.KafkaBrokers) == 0 {
		errs = append(errs, errors.New("REALTIME_REDIS_ADDRS and REALTIME_KAFKA_BROKERS must not be empty"))
	}
	if c.StreamShards < 1 || c.StreamShards > 1024 {
		errs = append(errs, errors.New("REALTIME_STREAM_SHARDS must be 1..1024"))
	}
	if c.StreamMaxLen < 100 {
		errs = append(errs, errors.New("REALTIME_STREAM_MAX_LEN must be at least 100"))
	}
	if c.MaxBodyBytes < 1 || c.MaxBodyBytes > 64<<10 {
		errs = append(errs, errors.New("REALTIME_MAX_BODY_BYTES must be 1..65536"))
	}
	if c.SendQueue < 1 {
		errs = append(errs, errors.New("REALTIME_SEND_QUEUE must be positive"))
	}
	if c.WriteTimeout <= 0 || c.SendTimeout <= 0 || c.ShutdownGrace <= 0 || c.DedupTTL <= 0 {
		errs = append(errs, errors.New("REALTIME timeouts and TTLs must be positive"))
	}
	if c.KafkaTopicPartitions < 1 {
		errs = append(errs, errors.New("REALTIME_KAFKA_TOPIC_PARTITIONS must be positive"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}
