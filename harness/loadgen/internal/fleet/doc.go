// Package fleet starts the load generator's worker processes (the load generator's own
// executable run with a "worker" argument) and talks to them: it hands each its share of
// connections, sends every worker the same command at once, and gathers the replies.
// Several processes are needed because one process may hold at most as many sockets as
// its open-file limit allows.
package fleet
