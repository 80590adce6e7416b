package roomredis

import (
	"errors"
	"strconv"
	"strings"
)

// Layout names the Redis keys of rooms. Every realtime instance and every other reader of
// a deployment must use the same Prefix and Shards.
type Layout struct {
	// Prefix starts every key, so several deployments (or tests) can share one Redis. It
	// must not contain braces, which would change the keys' hash slot.
	Prefix string
	// Shards is the number of shard streams rooms are spread over.
	Shards int
}

// Validate reports whether the layout can name keys.
func (l Layout) Validate() error {
	switch {
	case l.Shards <= 0:
		return errors.New("roomredis: shards must be positive")
	case strings.ContainsAny(l.Prefix, "{}"):
		return errors.New("roomredis: prefix must not contain braces")
	}
	return nil
}

// Shard maps a room to its shard (32-bit FNV-1a of the room id, inlined to avoid
// allocating). Changing it moves every room to other keys.
func (l Layout) Shard(room string) int {
	h := uint32(2166136261)
	for i := 0; i < len(room); i++ {
		h ^= uint32(room[i])
		h *= 16777619
	}
	return int(h % uint32(l.Shards))
}

// Slot returns the key prefix of a shard: every key that starts with it lands in one
// cluster hash slot.
func (l Layout) Slot(shard int) string {
	return l.Prefix + "{stream." + strconv.Itoa(shard) + "}"
}

// Stream returns the key of a shard's stream, which every realtime instance reads.
func (l Layout) Stream(shard int) string { return l.Slot(shard) }

// RoomStream returns the key of the stream of the room's shard.
func (l Layout) RoomStream(room string) string { return l.Stream(l.Shard(room)) }

// RoomKey returns the key of one item (what) of a room's state, in the room's slot.
func (l Layout) RoomKey(room, what string) string {
	return l.Slot(l.Shard(room)) + ":room:" + room + ":" + what
}

// Revoked returns the key that marks member as revoked in the room.
func (l Layout) Revoked(room, member string) string { return l.RoomKey(room, "revoked:"+member) }

// Presence returns the keys of the room's presence: a sorted set of client ids scored by
// when their entry expires (Redis time, ms), and a hash of client id to the encoded
// wire.Client.
func (l Layout) Presence(room string) (set, info string) {
	return l.RoomKey(room, "presence"), l.RoomKey(room, "presence:info")
}
