// Package faults injects faults into a running Quick Chat system and checks the
// guarantees of DESIGN.md afterwards. A run drives continuous traffic from many reliable
// clients in several rooms (each reconnects, rejoins with its last position and resends
// what was not acknowledged, as docs/protocol.md tells clients to), injects one fault
// (a killed, paused or restarted process), then checks that every acknowledged message is
// stored in PostgreSQL exactly once, byte for byte, and reached every member in room
// order — live, through recovery on rejoin, or, where the server said continuity was lost
// (a reset), through the gateway's history.
//
// The tests in this package run two scenarios briefly on the shared test servers; with
// QC_FAULTS=full they run every scenario on servers of their own and, with
// QC_FAULTS_REPORT set, write the results as Markdown (docs/reliability.md). make
// test-faults does both.
//
// The full run also has an abuse section (RunAbuse): one attacker at a time (a replay
// loop, a multi-socket flood, a group-creation flood) abuses the system while a second,
// well-behaved room chats and a probe signs in, and the report compares their latency
// with an idle window just before. Latency is reported, never asserted; the section
// fails only if the well-behaved room's guarantees break.
package faults
