package roomredis

import (
	"strings"
	"testing"
)

// hashTag is what Redis Cluster hashes of a key: the text between the first '{' and the
// next '}'.
func hashTag(key string) string {
	open := strings.IndexByte(key, '{')
	if open < 0 {
		return key
	}
	end := strings.IndexByte(key[open+1:], '}')
	if end <= 0 {
		return key
	}
	return key[open+1 : open+1+end]
}

// The expected keys are the ones realtime's broker used before Layout existed: a change
// here moves every room's state in a running deployment.
func TestLayoutKeepsRealtimesKeyNames(t *testing.T) {
	l := Layout{Prefix: "qc:", Shards: 16}
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"a room's meta is in its shard's slot", l.RoomKey("3f0e7c1e-0d5c-4a57-9d0a-1b1f3c7d2e90", "meta"), "qc:{stream.7}:room:3f0e7c1e-0d5c-4a57-9d0a-1b1f3c7d2e90:meta"},
		{"a shard's stream is its slot", l.Stream(7), "qc:{stream.7}"},
		{"a room's stream is its shard's", l.RoomStream("3f0e7c1e-0d5c-4a57-9d0a-1b1f3c7d2e90"), "qc:{stream.7}"},
		{"a revoked mark is a room key", l.Revoked("3f0e7c1e-0d5c-4a57-9d0a-1b1f3c7d2e90", "m1"), "qc:{stream.7}:room:3f0e7c1e-0d5c-4a57-9d0a-1b1f3c7d2e90:revoked:m1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("key = %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestEveryKeyOfARoomSharesItsStreamsSlot(t *testing.T) {
	l := Layout{Prefix: "p:", Shards: 8}
	for _, room := range []string{"a", "b", "0b8f6c59-5d36-4c0f-a3a2-2f4d8f1c0e11", "room with spaces"} {
		stream := hashTag(l.RoomStream(room))
		set, info := l.Presence(room)
		for _, key := range []string{l.RoomKey(room, "meta"), l.Revoked(room, "m"), set, info} {
			if got := hashTag(key); got != stream {
				t.Errorf("room %q: key %q hashes %q, its stream %q", room, key, got, stream)
			}
		}
	}
}

func TestLayoutValidate(t *testing.T) {
	tests := []struct {
		name   string
		layout Layout
		ok     bool
	}{
		{"a prefix and shards are valid", Layout{Prefix: "qc:", Shards: 4}, true},
		{"an empty prefix is valid", Layout{Shards: 1}, true},
		{"no shards is invalid", Layout{Prefix: "qc:"}, false},
		{"a brace in the prefix is invalid", Layout{Prefix: "q{c}:", Shards: 4}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.layout.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
