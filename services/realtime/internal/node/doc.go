// Package node is the core of one realtime instance, between the WebSocket transport and
// the outside world: it accepts a member's message (Kafka first, then the room's stream,
// exactly once per client message id), turns what the broker reads into frames encoded
// once per instance for the local hub, answers recovery, and keeps this instance's
// presence entries alive.
package node
