// Package broker moves accepted messages between realtime instances. RedisBroker appends
// each message to one of several Redis streams (a shard chosen by room), reads every shard
// with XREAD BLOCK, and hands entries to a Dispatcher; the stream entry id is the message's
// position in its room, which clients resume from. Redis Pub/Sub is not used: streams keep
// a bounded window of history that makes recovery possible.
package broker

// Dispatcher receives every entry read from the streams, in stream order per shard.
type Dispatcher interface {
	Dispatch(room, pos string, data []byte)
}

// Entry is one message read back from a room's history.
type Entry struct {
	Pos  string
	Data []byte
}
