package nodetest

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/quickchat-go/quickchat/pkg/wire"
	"github.com/quickchat-go/quickchat/services/realtime/internal/node"
)

// MemoryBroker is a node.Broker in memory, for one instance: it keeps dedup state, leases
// and room history with the semantics of the Redis broker's scripts, without their TTLs.
// Events without a position are dropped (nothing reads them back).
type MemoryBroker struct {
	mu     sync.Mutex
	state  map[node.DedupKey]node.Reservation // Pending or Done
	leases map[node.DedupKey]string           // owner of the lease, if held
	rooms  map[string]*memoryRoom
	epochs int
}

type memoryRoom struct {
	epoch   string
	history []node.Entry // offset i+1 at index i
}

var _ node.Broker = (*MemoryBroker)(nil)

// NewMemoryBroker returns an empty broker.
func NewMemoryBroker() *MemoryBroker {
	return &MemoryBroker{state: map[node.DedupKey]node.Reservation{}, leases: map[node.DedupKey]string{}, rooms: map[string]*memoryRoom{}}
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

// Reserve implements node.Broker.
func (b *MemoryBroker) Reserve(_ context.Context, k node.DedupKey, id, owner string, _, _ time.Duration) (node.Reservation, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.state[k]
	switch {
	case !ok:
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
func (b *MemoryBroker) Publish(_ context.Context, k node.DedupKey, id string, data []byte, _ time.Duration) (wire.Position, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r := b.state[k]; r.State == node.Done {
		return r.Pos, false, nil
	}
	room := b.room(k.Room)
	pos := wire.Position{Epoch: room.epoch, Offset: uint64(len(room.history) + 1)}
	room.history = append(room.history, node.Entry{Kind: node.KindMessage, Room: k.Room, Pos: pos, Data: append([]byte(nil), data...)})
	b.state[k] = node.Reservation{State: node.Done, ID: id, Pos: pos}
	delete(b.leases, k)
	return pos, true, nil
}

// Recover implements node.Broker.
func (b *MemoryBroker) Recover(_ context.Context, name string, since *wire.Position, limit int) (node.Recovery, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := b.room(name)
	top := uint64(len(room.history))
	rec := node.Recovery{Top: wire.Position{Epoch: room.epoch, Offset: top}}
	if since == nil || since.Epoch != room.epoch || since.Offset > top || top-since.Offset > uint64(limit) {
		return rec, nil
	}
	rec.Entries = append([]node.Entry(nil), room.history[since.Offset:]...)
	rec.Complete = true
	return rec, nil
}

// PublishEvent implements node.Broker.
func (b *MemoryBroker) PublishEvent(context.Context, string, node.Kind, []byte) error { return nil }
