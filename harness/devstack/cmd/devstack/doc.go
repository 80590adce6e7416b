// Command devstack runs PostgreSQL, Redis and Kafka on free loopback ports until it is
// told to stop, for a whole `make test` run or for local development.
//
// Usage:
//
//	devstack up [-dir .dev/stack] [-env-file path] [-reset] [-exit-with-parent]
//	devstack up -secure [-dir .dev/secure-stack] [-env-file path] [-reset] [-exit-with-parent]
//
// up starts the three servers (package devstack) with their data and logs under -dir,
// then writes their connection settings to -env-file (default <dir>/env) as lines
// `export KEY='value'`: QC_TEST_POSTGRES_URL, QC_TEST_REDIS_ADDR, QC_TEST_KAFKA_BROKERS
// (read by package testenv) and DATABASE_URL, REDIS_ADDR, KAFKA_BROKERS. The file is
// written atomically once every server is ready, so its appearance means "ready"; it is
// removed on shutdown. The settings are also printed to stdout.
//
// SIGINT or SIGTERM stops every server (gracefully, then SIGKILL after a timeout) and
// exits 0. If devstack itself is killed, the servers die with it (parent-death signal).
// With -exit-with-parent, devstack also shuts down when its own parent exits, e.g. when it
// was started with `go run`, whose SIGTERM is not passed on.
//
// -reset deletes the servers' data under -dir before starting.
//
// up -secure starts, instead of the three servers, the secured and clustered stack of
// devstack.StartSecureStack: a 3-node KRaft Kafka cluster with SASL_SSL (SCRAM) client
// listeners, a plain and a TLS + ACL Redis Cluster (3 masters, 3 replicas each) and a
// TLS-only PostgreSQL, with certificates from one throwaway authority under <dir>/tls.
// The env file then holds the QC_TEST_SECURE_* variables and QC_TEST_CLUSTER_REDIS_ADDRS
// (see devstack.SecureStack.Env) and nothing else.
package main
