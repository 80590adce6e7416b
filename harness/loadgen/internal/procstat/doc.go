// Package procstat reads a process's CPU time and resident memory from Linux /proc, so
// the load generator can report what each service process cost during a run.
package procstat
