// Package hub is the local registry of one realtime instance: which subscribers (a socket's
// membership of a room) are in which room, and the last position delivered in each room so
// duplicates are dropped and gaps noticed. It is sharded by room with a lock per shard so
// fan-out in one room never waits on joins and leaves in most others.
package hub
