// Package hub is the local registry of one realtime instance: which of its connections
// are in which room. It is sharded by room with a lock per shard so fan-out in one room
// never waits on joins and leaves in another.
package hub

import (
	"hash/maphash"
	"sync"
)

// Subscriber receives encoded frames. Send must not block: a subscriber that cannot keep
// up handles that itself (the WebSocket transport closes slow clients).
type Subscriber interface {
	Send(frame []byte)
}

const numShards = 64

// Hub maps rooms to their local subscribers.
type Hub struct {
	seed   maphash.Seed
	shards [numShards]shard
}

type shard struct {
	mu    sync.RWMutex
	rooms map[string]map[Subscriber]struct{}
}

// New returns an empty hub.
func New() *Hub {
	h := &Hub{seed: maphash.MakeSeed()}
	for i := range h.shards {
		h.shards[i].rooms = make(map[string]map[Subscriber]struct{})
	}
	return h
}

func (h *Hub) shard(room string) *shard {
	return &h.shards[maphash.String(h.seed, room)%numShards]
}

// Subscribe adds s to room. It reports whether s was not subscribed before.
func (h *Hub) Subscribe(room string, s Subscriber) bool {
	sh := h.shard(room)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	subs := sh.rooms[room]
	if subs == nil {
		subs = make(map[Subscriber]struct{})
		sh.rooms[room] = subs
	}
	if _, ok := subs[s]; ok {
		return false
	}
	subs[s] = struct{}{}
	return true
}

// Unsubscribe removes s from room. It reports whether s was subscribed.
func (h *Hub) Unsubscribe(room string, s Subscriber) bool {
	sh := h.shard(room)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	subs := sh.rooms[room]
	if _, ok := subs[s]; !ok {
		return false
	}
	delete(subs, s)
	if len(subs) == 0 {
		delete(sh.rooms, room)
	}
	return true
}

// HasSubscribers reports whether anyone on this instance is in room.
func (h *Hub) HasSubscribers(room string) bool {
	sh := h.shard(room)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return len(sh.rooms[room]) > 0
}

// Broadcast sends frame to every local subscriber of room and returns how many got it.
// The same byte slice goes to all of them: it is encoded once per instance.
func (h *Hub) Broadcast(room string, frame []byte) int {
	sh := h.shard(room)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	subs := sh.rooms[room]
	for s := range subs {
		s.Send(frame)
	}
	return len(subs)
}

// Stats returns the number of rooms with local subscribers and of subscriptions.
func (h *Hub) Stats() (rooms, subscriptions int) {
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		rooms += len(sh.rooms)
		for _, subs := range sh.rooms {
			subscriptions += len(subs)
		}
		sh.mu.RUnlock()
	}
	return rooms, subscriptions
}
