// Package stats holds the load generator's bookkeeping that needs no network: latency
// histograms that merge across worker processes, and the per-receiver accounting of a
// room's message sequence that finds lost, duplicated and out-of-order messages.
package stats
