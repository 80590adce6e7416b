package node

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
)

// PresenceStore keeps who is in which room across instances. Adding and removing a client
// publishes its presence_join and presence_leave entries to the room.
type PresenceStore interface {
	// AddPresence records that a client (client is its encoded wire.Client) is in the
	// room until ttl from now.
	AddPresence(ctx context.Context, room, clientID string, client []byte, ttl time.Duration) error
	// RemovePresence removes a client from the room.
	RemovePresence(ctx context.Context, room, clientID string) error
	// RefreshPresence extends the entries of this instance's clients, per room, by ttl,
	// and sweeps the expired entries of those rooms.
	RefreshPresence(ctx context.Context, rooms map[string][]PresenceClient, ttl time.Duration) error
	// Presence returns the encoded clients in the room, at most limit.
	Presence(ctx context.Context, room string, limit int) ([][]byte, error)
}

// PresenceClient is one of this instance's clients in a room.
type PresenceClient struct {
	ID string
	// Data is the encoded wire.Client.
	Data []byte
}

// localPresence is this instance's share of presence: which of its clients are in which
// room, so their entries can be refreshed.
type localPresence struct {
	mu    sync.Mutex
	rooms map[string]map[string][]byte // room → client id → encoded client
}

// Enter records that a client (client is its encoded wire.Client) is in the room and
// announces it to the room.
func (n *Node) Enter(ctx context.Context, room, clientID string, client []byte) error {
	n.local.mu.Lock()
	clients := n.local.rooms[room]
	if clients == nil {
		clients = make(map[string][]byte, 1)
		n.local.rooms[room] = clients
	}
	clients[clientID] = client
	n.local.mu.Unlock()
	return n.presence.AddPresence(ctx, room, clientID, client, n.cfg.PresenceTTL)
}

// Exit removes a client from the room's presence and announces it.
func (n *Node) Exit(ctx context.Context, room, clientID string) error {
	n.local.mu.Lock()
	if clients := n.local.rooms[room]; clients != nil {
		delete(clients, clientID)
		if len(clients) == 0 {
			delete(n.local.rooms, room)
		}
	}
	n.local.mu.Unlock()
	return n.presence.RemovePresence(ctx, room, clientID)
}

// Presence returns the encoded clients in the room, across instances.
func (n *Node) Presence(ctx context.Context, room string) ([][]byte, error) {
	return n.presence.Presence(ctx, room, n.cfg.PresenceLimit)
}

// Typing tells the room that a client of member is typing. Receivers show it for
// TypingTTL; the typing client does not get its own event back. At most one event per
// member and room passes per TypingInterval, whichever connection or instance it comes
// from; sent is false for one that was dropped.
func (n *Node) Typing(ctx context.Context, room, member, clientID string, client []byte) (sent bool, err error) {
	data := make([]byte, 0, len(clientID)+1+len(client))
	data = append(append(append(data, clientID...), '\n'), client...)
	return n.broker.PublishEvent(ctx, room, KindTyping, data, n.quota(QuotaTyping, member))
}

// splitTyping undoes the encoding of Typing.
func splitTyping(data []byte) (clientID string, client []byte) {
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		return "", data
	}
	return string(data[:i]), data[i+1:]
}

// RunPresence refreshes this instance's presence entries every third of PresenceTTL, and
// sweeps entries that instances which died left behind, until ctx ends.
func (n *Node) RunPresence(ctx context.Context) {
	t := time.NewTicker(n.cfg.PresenceTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := n.refreshPresence(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("presence refresh failed", zap.Error(err))
		}
	}
}

func (n *Node) refreshPresence(ctx context.Context) error {
	n.local.mu.Lock()
	rooms := make(map[string][]PresenceClient, len(n.local.rooms))
	for room, clients := range n.local.rooms {
		list := make([]PresenceClient, 0, len(clients))
		for id, c := range clients {
			list = append(list, PresenceClient{ID: id, Data: c})
		}
		rooms[room] = list
	}
	n.local.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, n.cfg.PresenceTTL/3)
	defer cancel()
	if err := n.presence.RefreshPresence(ctx, rooms, n.cfg.PresenceTTL); err != nil {
		return fmt.Errorf("node: refresh presence of %d rooms: %w", len(rooms), err)
	}
	return nil
}
