// Package scenario runs load against a Quick Chat deployment: it creates rooms and
// members through the gateway, spreads connections over worker processes (package
// fleet), drives measurement windows and collects what a report needs — send→deliver
// latency, deliveries per second, lost, duplicated and out-of-order messages, time to
// PostgreSQL, and the CPU and memory of each service process. Standard defines the
// benchmark suite that `make bench` runs.
package scenario
