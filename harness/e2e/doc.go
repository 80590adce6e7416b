// Package e2e holds end-to-end tests of the whole Quick Chat system: real PostgreSQL,
// Redis and Kafka, and the gateway, realtime and persister binaries built from this
// workspace, driven the way clients drive them.
package e2e
