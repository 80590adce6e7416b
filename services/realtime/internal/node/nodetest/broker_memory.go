package nodetest

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/quickchat-go/quickchat/pkg/wire"
	"github.com/quickchat-go/quickchat/services/realtime/internal/node"
)

// MemoryBroker is a node.Broker in memory, for one instance: it keeps dedup state, leases,
// room history and member quotas with the semantics of the Redis broker's scripts,
// without their TTLs. Events without a position are dropped (nothing reads them back).
type MemoryBroker struct {
	mu     sync.Mutex
	state  map[node.DedupKey]node.Reservation // Pending or Done
	leases map[node.DedupKey]string           // owner of the lease, if held
	rooms  map[string]*memoryRoom
	quotas map[string]time.Time // room, name, member → when the bucket is full again
	// revoked marks the members whose memberships were revoked, as a roomredis.Revoker
	// marks them in Redis: room, member.
	revoked map[[2]string]bool
	epochs  int
	now     func() time.Time
}

type memoryRoom struct {
	epoch   string
	history []node.Entry // offset i+1 at index i
	sizes   []int64      // the size each message was published with
}

var _ node.Broker = (*MemoryBroker)(nil)

// NewMemoryBroker returns an empty broker.
func NewMemoryBroker() *MemoryBroker {
	return &MemoryBroker{state: map[node.DedupKey]node.Reservation{}, leases: map[node.DedupKey]string{},
		rooms: map[string]*memoryRoom{}, quotas: map[string]time.Time{}, revoked: map[[2]string]bool{}, now: time.Now}
}

// take charges cost units to the room's quota q, as quota.lua does: it returns 0, or
// charges nothing and returns how long until the bucket could pay. b.mu is held.
func (b *MemoryBroker) take(room string, q node.Quota, cost float64) time.Duration {
	if !q.Limited() {
		return 0
	}
	key := room + "\x00" + q.Name + "\x00" + q.Member
	now := b.now()
	full := b.quotas[key]
	if full.Before(now) {
		full = now
	}
	perUnit := float64(time.Second) / q.Rate
	after := full.Add(time.Duration(cost * perUnit))
	if over := after.Sub(now) - time.Duration(q.Burst*perUnit); over > 0 {
		return max(over, time.Millisecond)
	}
	b.quotas[key] = after
	return 0
}

// room returns the room, giving a new one an epoch of its own. b.mu is held.
func (b *MemoryBroker) room(name string) *memoryRoom {
	r := b.rooms[name]
	if r == nil {
		b.epochs++
		r = &memoryRoom{epoch: "mem" + strconv.Itoa(b.epochs)}
		b.rooms[name] = r
	}
	return r
}

// Revoke marks members of room as revoked, as the gateway does through a
// roomredis.Revoker (which also tells every instance; nothing reads events here).
func (b *MemoryBroker) Revoke(room string, members ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range members {
		b.revoked[[2]string{room, m}] = true
	}
}

// Reserve implements node.Broker.
func (b *MemoryBroker) Reserve(_ context.Context, k node.DedupKey, id, owner string, _, _ time.Duration, q node.Quota) (node.Reservation, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.revoked[[2]string{k.Room, k.Sender}] {
		return node.Reservation{State: node.Revoked}, nil
	}
	r, ok := b.state[k]
	switch {
	case !ok:
		if wait := b.take(k.Room, q, 1); wait > 0 {
			return node.Reservation{State: node.Limited, RetryAfter: wait}, nil
		}
		b.state[k] = node.Reservation{State: node.Pending, ID: id}
		b.leases[k] = owner
		return node.Reservation{State: node.Owned, ID: id}, nil
	case r.State == node.Done:
		return r, nil
	case b.leases[k] == "" || b.leases[k] == owner:
		b.leases[k] = owner
		return node.Reservation{State: node.Owned, ID: r.ID}, nil
	}
	return node.Reservation{State: node.Pending, ID: r.ID}, nil
}

// Release implements node.Broker.
func (b *MemoryBroker) Release(_ context.Context, k node.DedupKey, owner string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.leases[k] == owner {
		delete(b.leases, k)
	}
	return nil
}

// Publish implements node.Broker.
func (b *MemoryBroker) Publish(_ context.Context, k node.DedupKey, id string, data []byte, size int, _ time.Duration) (wire.Position, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r := b.state[k]; r.State == node.Done {
		return r.Pos, false, nil
	}
	room := b.room(k.Room)
	pos := wire.Position{Epoch: room.epoch, Offset: uint64(len(room.history) + 1)}
	room.history = append(room.history, node.Entry{Kind: node.KindMessage, Room: k.Room, Pos: pos, Data: append([]byte(nil), data...)})
	room.sizes = append(room.sizes, int64(max(size, 0)))
	b.state[k] = node.Reservation{State: node.Done, ID: id, Pos: pos}
	delete(b.leases, k)
	return pos, true, nil
}

// Recover implements node.Broker.
func (b *MemoryBroker) Recover(_ context.Context, name string, since *wire.Position, lim node.RecoverLimits) (node.Recovery, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if lim.Member != "" && b.revoked[[2]string{name, lim.Member}] {
		return node.Recovery{Revoked: true}, nil
	}
	room := b.room(name)
	top := uint64(len(room.history))
	rec := node.Recovery{Top: wire.Position{Epoch: room.epoch, Offset: top}}
	if since == nil || since.Epoch != room.epoch || since.Offset > top || top-since.Offset > uint64(lim.Messages) {
		return rec, nil
	}
	var size int64
	for _, s := range room.sizes[since.Offset:] {
		size += s
	}
	rec.Bytes = size
	if size > lim.Bytes {
		rec.Refused = node.RefusedTooLarge
		return rec, nil
	}
	if size > 0 && b.take(name, lim.Quota, float64(size)) > 0 {
		rec.Refused = node.RefusedQuota
		return rec, nil
	}
	rec.Entries = append([]node.Entry(nil), room.history[since.Offset:]...)
	rec.Complete = true
	return rec, nil
}

// PublishEvent implements node.Broker: the event goes nowhere, but q is charged as the
// Redis broker charges it.
func (b *MemoryBroker) PublishEvent(_ context.Context, room string, _ node.Kind, _ []byte, q node.Quota) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.take(room, q, 1) == 0, nil
}
