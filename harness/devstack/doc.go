// Package devstack starts real PostgreSQL, Redis, Kafka and S3-compatible (SeaweedFS)
// servers on free loopback ports for tests and local development, and stops them so that
// none outlives its parent.
//
// Every server runs as a child process in its own process group with a parent-death signal
// (SIGKILL), so a test binary that panics or is killed takes its servers with it. Stop asks
// a server to shut down gracefully and, after a timeout, kills its whole process group.
// Each server writes its output to a log file in its directory (see the LogPath methods).
//
// Binaries are found as follows:
//   - PostgreSQL: $QC_PG_BIN, else the newest /usr/lib/postgresql/*/bin, else initdb on PATH.
//     PostgreSQL refuses to run as root, so when the caller is root it runs as the
//     "postgres" OS user.
//   - Redis: $QC_REDIS_SERVER, else redis-server on PATH.
//   - Kafka: java from $JAVA_HOME or PATH, and the broker jars from KafkaConfig.JarsDir,
//     else $QC_KAFKA_JARS, else <repo>/.dev/kafka/<version>/libs as resolved by
//     .ci/install-deps.sh (the repo is the nearest ancestor of the working directory
//     holding go.work).
//   - S3: $QC_WEED, else <repo>/.dev/bin/weed as .ci/install-deps.sh builds it from the
//     SeaweedFS Go module at WeedVersion, else weed on PATH.
//
// Besides the single servers, the package starts secured and clustered ones for
// production-like tests: StartKafkaCluster (KRaft nodes that are broker and controller
// each, SASL_SSL client listeners with SCRAM users), StartRedisCluster (redis-cli
// --cluster create over masters and replicas, optionally TLS-only with ACLs), and
// StartPostgres with PostgresConfig.TLS (hostssl only). CertAuthority issues their
// certificates; StartSecureStack starts them all. Their nodes can be killed, stopped and
// started one at a time, for fault-injection tests.
//
// Package testenv builds on this package to give integration tests shared servers and
// isolated databases, key prefixes and topics; cmd/devstack runs a Stack for a whole
// `make test` run.
package devstack
