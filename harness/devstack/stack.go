package devstack

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
)

// Names of the environment variables through which a running Stack is handed to tests
// (package testenv reads the QC_TEST_ ones) and to services.
const (
	// EnvPostgresURL is an admin URL on which tests create their own databases.
	EnvPostgresURL = "QC_TEST_POSTGRES_URL"
	// EnvRedisAddr is the Redis address, host:port.
	EnvRedisAddr = "QC_TEST_REDIS_ADDR"
	// EnvKafkaBrokers is the comma-separated list of Kafka bootstrap addresses.
	EnvKafkaBrokers = "QC_TEST_KAFKA_BROKERS"
)

// StackConfig configures StartStack. The zero value is ready to use.
type StackConfig struct {
	// Dir, when set, holds one directory per server: Dir/postgres, Dir/redis and
	// Dir/kafka, unless the server's own config names a Dir. Empty means a temporary
	// directory per server, removed by Close.
	Dir string
	// Postgres, Redis and Kafka configure each server; see their documentation.
	Postgres PostgresConfig
	Redis    RedisConfig
	Kafka    KafkaConfig
	// S3 configures the S3-compatible object store (SeaweedFS) of attachments; its Dir
	// defaults to Dir/s3.
	S3 S3Config
}

// Stack is the servers Quick Chat needs, started together: PostgreSQL, Redis, Kafka and
// the S3-compatible object store.
type Stack struct {
	Postgres *Postgres
	Redis    *Redis
	Kafka    *Kafka
	// S3 is the object store of attachments.
	S3 *S3
}

// StartStack starts PostgreSQL, Redis, Kafka and the object store concurrently. If any
// fails, the others are closed and the errors returned together.
func StartStack(ctx context.Context, cfg StackConfig) (*Stack, error) {
	if cfg.Dir != "" {
		for _, c := range []struct {
			dir  *string
			name string
		}{{&cfg.Postgres.Dir, "postgres"}, {&cfg.Redis.Dir, "redis"}, {&cfg.Kafka.Dir, "kafka"}, {&cfg.S3.Dir, "s3"}} {
			if *c.dir == "" {
				*c.dir = filepath.Join(cfg.Dir, c.name)
			}
		}
	}
	var (
		s                       Stack
		wg                      sync.WaitGroup
		pgErr, redisErr, kfkErr error
	)
	wg.Go(func() { s.Postgres, pgErr = StartPostgres(ctx, cfg.Postgres) })
	wg.Go(func() { s.Redis, redisErr = StartRedis(ctx, cfg.Redis) })
	wg.Go(func() { s.Kafka, kfkErr = StartKafka(ctx, cfg.Kafka) })
	var s3Err error
	wg.Go(func() { s.S3, s3Err = StartS3(ctx, cfg.S3) })
	wg.Wait()
	if err := errors.Join(pgErr, redisErr, kfkErr, s3Err); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return &s, nil
}

// Close stops every server that is running and removes the temporary directories.
func (s *Stack) Close() error {
	var (
		wg   sync.WaitGroup
		errs [4]error
	)
	if s.Postgres != nil {
		wg.Go(func() { errs[0] = s.Postgres.Close() })
	}
	if s.Redis != nil {
		wg.Go(func() { errs[1] = s.Redis.Close() })
	}
	if s.Kafka != nil {
		wg.Go(func() { errs[2] = s.Kafka.Close() })
	}
	if s.S3 != nil {
		wg.Go(func() { errs[3] = s.S3.Close() })
	}
	wg.Wait()
	return errors.Join(errs[:]...)
}

// Env returns the stack's connection settings as KEY=value pairs: the QC_TEST_ variables
// package testenv reads (the S3 server's too), and DATABASE_URL, REDIS_ADDR and
// KAFKA_BROKERS.
func (s *Stack) Env() []string {
	brokers := strings.Join(s.Kafka.Brokers(), ",")
	env := []string{
		EnvPostgresURL + "=" + s.Postgres.URL(),
		EnvRedisAddr + "=" + s.Redis.Addr(),
		EnvKafkaBrokers + "=" + brokers,
		"DATABASE_URL=" + s.Postgres.URL(),
		"REDIS_ADDR=" + s.Redis.Addr(),
		"KAFKA_BROKERS=" + brokers,
	}
	if s.S3 != nil {
		env = append(env, s.S3.Settings().Env()...)
	}
	return env
}
