// Package testenv gives integration tests in any module real PostgreSQL, Redis and Kafka
// servers, shared by all tests of a process, and isolates each test on them: a fresh
// database, a Redis key prefix, a Kafka topic or consumer group of its own, each removed
// when the test ends. Tests using it can run in parallel.
//
// The servers come from the environment when set (the Makefile starts one devstack for the
// whole `make test` run and exports these):
//
//	QC_TEST_POSTGRES_URL   an admin URL on which tests may CREATE DATABASE
//	QC_TEST_REDIS_ADDR     host:port
//	QC_TEST_KAFKA_BROKERS  comma-separated host:port list
//	QC_TEST_S3_ENDPOINT    an S3 API URL, with QC_TEST_S3_ACCESS_KEY and QC_TEST_S3_SECRET_KEY
//	                       of an identity that may create buckets (S3Bucket gives each test one)
//
// Otherwise each server is started on first use (see package devstack) and stopped by
// Main, which the package's TestMain must call:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// With -short, every helper skips the test.
//
// PostgresURL returns an empty database; a test (or a module-specific helper such as the
// db module's) applies its migrations itself:
//
//	url := testenv.PostgresURL(t)
//	pool := connectAndMigrate(t, url)
package testenv
