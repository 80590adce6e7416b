package hub

import (
	"hash/maphash"
	"sync"
)

// Frame is an encoded server frame on its way to the subscribers of a room. The same Frame
// (and the same bytes) goes to every local subscriber: it is encoded once per instance.
type Frame struct {
	// Data is the encoded frame. Subscribers must not modify it.
	Data []byte
	// Epoch and Offset are the room position of a message frame; Offset is 0 for frames
	// that carry no position (presence, typing).
	Epoch  string
	Offset uint64
	// From is the client id that caused the frame, which does not get it back ("" for none).
	From string
	// Revoked, set on a removed frame, holds the member ids whose memberships of the room
	// ended: only their subscribers take the frame, and they leave the room on it.
	Revoked map[string]bool
	// Reason is why, set with Revoked (a wire.Reason value).
	Reason string
}

// Subscriber receives the frames of a room. Deliver is called with a shard lock held and
// must not block: a subscriber that cannot keep up handles that itself (the WebSocket
// transport closes slow clients).
type Subscriber interface {
	Deliver(f *Frame)
}

// Verdict is what Check decides about a message at a position.
type Verdict int

const (
	// NoSubscribers: nobody on this instance is in the room; drop the message.
	NoSubscribers Verdict = iota
	// Deliver: the message is the next one (or the first seen, or starts a new epoch).
	Deliver
	// Duplicate: the message was delivered already; drop it.
	Duplicate
	// Gap: messages between the last delivered one and this one have not been seen.
	Gap
)

const numShards = 64

// Hub maps rooms to their local subscribers.
type Hub struct {
	seed   maphash.Seed
	shards [numShards]shard
}

type shard struct {
	mu    sync.RWMutex
	rooms map[string]*room
}

type room struct {
	subs map[Subscriber]struct{}
	// epoch and last are the position of the last message delivered; epoch is "" until
	// the first one.
	epoch string
	last  uint64
}

// New returns an empty hub.
func New() *Hub {
	h := &Hub{seed: maphash.MakeSeed()}
	for i := range h.shards {
		h.shards[i].rooms = make(map[string]*room)
	}
	return h
}

func (h *Hub) shard(name string) *shard {
	return &h.shards[maphash.String(h.seed, name)%numShards]
}

// Subscribe adds s to the room. It reports whether s was not subscribed before.
func (h *Hub) Subscribe(name string, s Subscriber) bool {
	sh := h.shard(name)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r := sh.rooms[name]
	if r == nil {
		r = &room{subs: make(map[Subscriber]struct{}, 1)}
		sh.rooms[name] = r
	}
	if _, ok := r.subs[s]; ok {
		return false
	}
	r.subs[s] = struct{}{}
	return true
}

// Unsubscribe removes s from the room. It reports whether s was subscribed. A room whose
// last subscriber leaves is forgotten, position included.
func (h *Hub) Unsubscribe(name string, s Subscriber) bool {
	sh := h.shard(name)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r := sh.rooms[name]
	if r == nil {
		return false
	}
	if _, ok := r.subs[s]; !ok {
		return false
	}
	delete(r.subs, s)
	if len(r.subs) == 0 {
		delete(sh.rooms, name)
	}
	return true
}

// HasSubscribers reports whether anyone on this instance is in the room.
func (h *Hub) HasSubscribers(name string) bool {
	sh := h.shard(name)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return sh.rooms[name] != nil
}

// Subscribers returns how many local subscribers the room has.
func (h *Hub) Subscribers(name string) int {
	sh := h.shard(name)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	if r := sh.rooms[name]; r != nil {
		return len(r.subs)
	}
	return 0
}

// Check decides what to do with the message at (epoch, offset) in the room and, for Gap,
// returns the last offset delivered. Check and Broadcast of one room must be called from
// one goroutine at a time (the broker reads each room from exactly one stream shard).
func (h *Hub) Check(name, epoch string, offset uint64) (Verdict, uint64) {
	sh := h.shard(name)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	r := sh.rooms[name]
	switch {
	case r == nil:
		return NoSubscribers, 0
	case r.epoch == "" || r.epoch != epoch || offset == r.last+1:
		return Deliver, 0
	case offset <= r.last:
		return Duplicate, 0
	default:
		return Gap, r.last
	}
}

// Broadcast hands f to every local subscriber of the room and returns how many there
// are (subscribers skip frames From themselves). A frame with a position becomes the room's last
// delivered position.
func (h *Hub) Broadcast(name string, f *Frame) int {
	sh := h.shard(name)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r := sh.rooms[name]
	if r == nil {
		return 0
	}
	if f.Offset > 0 {
		r.epoch, r.last = f.Epoch, f.Offset
	}
	for s := range r.subs {
		s.Deliver(f)
	}
	return len(r.subs)
}

// Stats returns the number of rooms with local subscribers and of subscriptions.
func (h *Hub) Stats() (rooms, subscriptions int) {
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		rooms += len(sh.rooms)
		for _, r := range sh.rooms {
			subscriptions += len(r.subs)
		}
		sh.mu.RUnlock()
	}
	return rooms, subscriptions
}
