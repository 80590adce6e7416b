// Package report turns benchmark results into a human-readable table, JSON, and the
// generated part of docs/benchmarks.md (targets against medians of repeated runs).
package report
