// Package ops is the operational plumbing every Quick Chat service shares: liveness and
// readiness endpoints backed by real dependency checks, the Prometheus metrics endpoint, and
// an HTTP server lifecycle that shuts down gracefully when its context ends.
//
// The operational endpoints (/healthz, /readyz, /metrics, and realtime's profiles when
// enabled) are served by a Server on an ops address of their own, never on a service's
// public listener: the Ingress and the compose proxy route only public ports, so readiness
// detail and metrics reach probes and Prometheus but never the public.
package ops
