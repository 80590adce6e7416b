// Package broker moves accepted messages, presence and typing events between realtime
// instances over Redis Streams, and keeps what recovery needs.
//
// Every room belongs to one of a configurable number of shards (a hash of the room id).
// Each shard has one stream that every instance reads with XREAD BLOCK; the braces in the
// key names ("{stream.N}") put a shard and all keys of its rooms in one Redis Cluster hash
// slot, so one Lua script may touch all of them and the shards spread over a cluster.
//
// Per room the broker keeps, in the shard's slot:
//   - a meta hash with the room's epoch (a random id set when the meta is created) and its
//     last offset (a counter from 1);
//   - a history stream whose entry ids are "<offset>-0", bounded by count and idle time,
//     which is what a rejoining client recovers from with one XRANGE; each entry keeps the
//     total size of the epoch's messages before it and the meta the total after the last,
//     so the size of any gap is known from two small reads before it is read;
//   - per client message id, a dedup key (the message id, and once published its position)
//     and a short lease held by the instance currently sending it;
//   - per member, its quotas (send, typing, replay): one key each holding when its token
//     bucket is full again, which expires by itself then. The script doing the work
//     charges the quota (reserve.lua a new message, recover.lua a replay, event.lua a
//     typing event), so limits shared by all instances cost no extra round trip.
//   - per member whose membership ended, a revoked mark (set with an entry of kind 'r' in
//     the shard stream by the gateway's roomredis.Revoker). reserve.lua refuses the
//     member's sends and recover.lua its joins, so the check costs no extra round trip;
//     the reader hands the 'r' entry on like the room's other entries.
//
// The key names come from roomredis.Layout, which the gateway uses too.
//
// Publishing a message is one Lua script: check the dedup key, bump the offset, append to
// the room history and the shard stream, record the position in the dedup key. The room's
// order is therefore the offset order, the same for every reader. If Redis loses the meta
// (restart without persistence, eviction), the next publish or join creates a new epoch,
// and positions of the old epoch are reported as not recoverable, never silently skipped.
// Redis Pub/Sub is not used.
//
// The broker speaks the core's words: it implements node.Broker and node.PresenceStore
// with node's entries, dedup keys and recoveries, and hands what it reads to a
// node.Dispatcher. The Lua scripts are in lua/, embedded at build time.
package broker
