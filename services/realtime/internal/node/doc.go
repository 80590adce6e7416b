// Package node is the core of one realtime instance, between the WebSocket transport and
// the outside world: it accepts a member's message, or the owner's deletion of one, as an
// event of the room (Kafka first, then the room's stream, exactly once per client message
// id), turns what the broker reads into frames encoded once per instance for the local
// hub, answers recovery, and keeps this instance's presence entries alive.
//
// It also holds each member's limits, shared by every instance: new messages, typing
// events and bytes of replayed history are charged to the member's Quota, which the
// broker keeps and charges in the same step as the work (so they cost no extra round
// trip). A replay is further bounded per join (messages and bytes) and by the joining
// connection's own budget; one that is refused replays nothing and the client reloads
// history over REST instead.
//
// The core owns its vocabulary: it declares the interfaces it consumes (Broker,
// PresenceStore, Producer) and the one-method Dispatcher through which a broker hands back
// what it reads, with the Entry, DedupKey, Quota, Reservation, RecoverLimits and Recovery they trade and
// pkg/wire's Position. The Redis broker and the Kafka producer import these and implement
// them; node imports neither. The WebSocket transport calls Node, never the hub directly
// (it only uses the hub's Subscriber and Frame types).
package node
