package devstack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Names of the environment variables through which a running SecureStack is handed to
// tests (see SecureStack.Env).
const (
	// EnvSecureKafkaBrokers lists the Kafka cluster's SASL_SSL listeners, comma separated.
	EnvSecureKafkaBrokers = "QC_TEST_SECURE_KAFKA_BROKERS"
	// EnvSecureKafkaCAFile is the PEM file of the authority the brokers' certificates
	// come from.
	EnvSecureKafkaCAFile = "QC_TEST_SECURE_KAFKA_CA_FILE"
	// EnvSecureKafkaSASLMechanism is the SASL mechanism of the user below.
	EnvSecureKafkaSASLMechanism = "QC_TEST_SECURE_KAFKA_SASL_MECHANISM"
	// EnvSecureKafkaUsername and EnvSecureKafkaPassword are a SCRAM user's credentials.
	EnvSecureKafkaUsername = "QC_TEST_SECURE_KAFKA_USERNAME"
	EnvSecureKafkaPassword = "QC_TEST_SECURE_KAFKA_PASSWORD"
	// EnvSecureRedisAddrs lists the TLS + ACL Redis Cluster's nodes, comma separated.
	EnvSecureRedisAddrs = "QC_TEST_SECURE_REDIS_ADDRS"
	// EnvSecureRedisCAFile is the PEM file of the authority the nodes' certificate comes
	// from.
	EnvSecureRedisCAFile = "QC_TEST_SECURE_REDIS_CA_FILE"
	// EnvSecureRedisUsername and EnvSecureRedisPassword are the ACL user's credentials.
	EnvSecureRedisUsername = "QC_TEST_SECURE_REDIS_USERNAME"
	EnvSecureRedisPassword = "QC_TEST_SECURE_REDIS_PASSWORD"
	// EnvClusterRedisAddrs lists the plain (no TLS, no ACL) Redis Cluster's nodes.
	EnvClusterRedisAddrs = "QC_TEST_CLUSTER_REDIS_ADDRS"
	// EnvSecurePostgresURL is an admin URL of the TLS-only PostgreSQL with
	// sslmode=verify-full and sslrootcert; tests create their own databases on it.
	EnvSecurePostgresURL = "QC_TEST_SECURE_POSTGRES_URL"
	// EnvSecurePostgresCAFile is the PEM file of the authority of PostgreSQL's certificate.
	EnvSecurePostgresCAFile = "QC_TEST_SECURE_POSTGRES_CA_FILE"
)

// SecureStackConfig configures StartSecureStack. The zero value is ready to use.
type SecureStackConfig struct {
	// Dir, when set, holds the certificate authority ("tls") and one directory per server:
	// "kafka-cluster", "redis-cluster", "redis-cluster-tls" and "postgres-tls", unless the
	// server's own config names a Dir. Empty means temporary directories, removed by
	// Close.
	Dir string
	// Kafka configures the Kafka cluster; its CA is the stack's.
	Kafka KafkaClusterConfig
	// Redis configures the plain Redis Cluster; TLS and ACLs stay off.
	Redis RedisClusterConfig
	// SecureRedis configures the TLS + ACL Redis Cluster; TLS is always on, its CA is the
	// stack's and Password defaults to "quickchat-redis-secret".
	SecureRedis RedisClusterConfig
	// Postgres configures PostgreSQL; its TLS is the stack's CA.
	Postgres PostgresConfig
}

// SecureStack is the secured, clustered servers the production-like tests need: a
// SASL_SSL Kafka cluster, a plain and a TLS + ACL Redis Cluster, and a TLS-only
// PostgreSQL, all with certificates from one authority.
type SecureStack struct {
	CA          *CertAuthority
	Kafka       *KafkaCluster
	Redis       *RedisCluster
	SecureRedis *RedisCluster
	Postgres    *Postgres

	caTemp string // a temporary CA directory Close removes
}

// StartSecureStack starts every server of the stack concurrently. If any fails, the others
// are closed and the errors returned together.
func StartSecureStack(ctx context.Context, cfg SecureStackConfig) (*SecureStack, error) {
	s := &SecureStack{}
	caDir := ""
	if cfg.Dir != "" {
		caDir = filepath.Join(cfg.Dir, "tls")
		for _, c := range []struct {
			dir  *string
			name string
		}{
			{&cfg.Kafka.Dir, "kafka-cluster"}, {&cfg.Redis.Dir, "redis-cluster"},
			{&cfg.SecureRedis.Dir, "redis-cluster-tls"}, {&cfg.Postgres.Dir, "postgres-tls"},
		} {
			if *c.dir == "" {
				*c.dir = filepath.Join(cfg.Dir, c.name)
			}
		}
	} else {
		var err error
		if caDir, err = newTempDir("", "tls"); err != nil {
			return nil, err
		}
		s.caTemp = caDir
	}
	ca, err := NewCertAuthority(caDir)
	if err != nil {
		return nil, errors.Join(err, s.Close())
	}
	s.CA = ca
	cfg.Kafka.CA = ca
	cfg.Redis.TLS, cfg.Redis.Password = false, ""
	cfg.SecureRedis.TLS, cfg.SecureRedis.CA = true, ca
	if cfg.SecureRedis.Password == "" {
		cfg.SecureRedis.Password = "quickchat-redis-secret"
	}
	cfg.Postgres.TLS = ca

	var (
		wg   sync.WaitGroup
		errs [4]error
	)
	wg.Go(func() { s.Kafka, errs[0] = StartKafkaCluster(ctx, cfg.Kafka) })
	wg.Go(func() { s.Redis, errs[1] = StartRedisCluster(ctx, cfg.Redis) })
	wg.Go(func() { s.SecureRedis, errs[2] = StartRedisCluster(ctx, cfg.SecureRedis) })
	wg.Go(func() { s.Postgres, errs[3] = StartPostgres(ctx, cfg.Postgres) })
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

// Close stops every server that is running and removes the temporary directories.
func (s *SecureStack) Close() error {
	var (
		wg   sync.WaitGroup
		errs [5]error
	)
	if s.Kafka != nil {
		wg.Go(func() { errs[0] = s.Kafka.Close() })
	}
	if s.Redis != nil {
		wg.Go(func() { errs[1] = s.Redis.Close() })
	}
	if s.SecureRedis != nil {
		wg.Go(func() { errs[2] = s.SecureRedis.Close() })
	}
	if s.Postgres != nil {
		wg.Go(func() { errs[3] = s.Postgres.Close() })
	}
	wg.Wait()
	if s.caTemp != "" {
		errs[4] = os.RemoveAll(s.caTemp)
	}
	return errors.Join(errs[:]...)
}

// Env returns the stack's connection settings as KEY=value pairs, named by the
// EnvSecure... and EnvClusterRedisAddrs constants.
func (s *SecureStack) Env() []string {
	u := s.Kafka.User()
	return []string{
		EnvSecureKafkaBrokers + "=" + strings.Join(s.Kafka.Brokers(), ","),
		EnvSecureKafkaCAFile + "=" + s.Kafka.CAFile(),
		EnvSecureKafkaSASLMechanism + "=" + u.Mechanism,
		EnvSecureKafkaUsername + "=" + u.Name,
		EnvSecureKafkaPassword + "=" + u.Password,
		EnvSecureRedisAddrs + "=" + strings.Join(s.SecureRedis.Addrs(), ","),
		EnvSecureRedisCAFile + "=" + s.SecureRedis.CAFile(),
		EnvSecureRedisUsername + "=" + s.SecureRedis.Username(),
		EnvSecureRedisPassword + "=" + s.SecureRedis.Password(),
		EnvClusterRedisAddrs + "=" + strings.Join(s.Redis.Addrs(), ","),
		EnvSecurePostgresURL + "=" + s.Postgres.URL(),
		EnvSecurePostgresCAFile + "=" + s.Postgres.CAFile(),
	}
}

// ServiceEnv points every service of a System at s the way a production deployment
// reaches managed services: Kafka over SASL_SSL (SCRAM) with topics replicated 3 times
// and min.insync.replicas 2, the TLS + ACL Redis Cluster, and PostgreSQL over TLS (its
// URL, given to the System, carries sslmode=verify-full).
func (s *SecureStack) ServiceEnv() []string {
	u := s.Kafka.User()
	redisSeeds := strings.Join(s.SecureRedis.Addrs(), ",")
	var env []string
	for _, svc := range []string{"REALTIME", "PERSISTER"} {
		env = append(env,
			svc+"_KAFKA_TLS=true",
			svc+"_KAFKA_TLS_CA_FILE="+s.Kafka.CAFile(),
			svc+"_KAFKA_SASL_MECHANISM="+u.Mechanism,
			svc+"_KAFKA_SASL_USERNAME="+u.Name,
			svc+"_KAFKA_SASL_PASSWORD="+u.Password,
			fmt.Sprintf("%s_KAFKA_TOPIC_REPLICATION=%d", svc, s.Kafka.ReplicationFactor()),
			fmt.Sprintf("%s_KAFKA_TOPIC_MIN_INSYNC=%d", svc, s.Kafka.MinInsyncReplicas()),
		)
	}
	for _, svc := range []string{"REALTIME", "GATEWAY"} {
		env = append(env,
			svc+"_REDIS_USERNAME="+s.SecureRedis.Username(),
			svc+"_REDIS_PASSWORD="+s.SecureRedis.Password(),
			svc+"_REDIS_TLS=true",
			svc+"_REDIS_TLS_CA_FILE="+s.SecureRedis.CAFile(),
		)
	}
	return append(env, "REALTIME_REDIS_ADDRS="+redisSeeds, "GATEWAY_REDIS_ADDR="+redisSeeds)
}
