// Package ops is the operational plumbing every Quick Chat service shares: liveness and
// readiness endpoints backed by real dependency checks, the Prometheus metrics endpoint, and
// an HTTP server lifecycle that shuts down gracefully when its context ends.
package ops
