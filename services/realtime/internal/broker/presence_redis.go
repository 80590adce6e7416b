package broker

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/rueidis"

	"github.com/quickchat-go/quickchat/services/realtime/internal/node"
)

// Presence lives in two keys per room in the room's slot: a sorted set of client ids
// scored by when their entry expires (Redis time, ms), and a hash of client id to the
// encoded client. Instances refresh their clients' scores well within the TTL; an
// instance that dies stops refreshing, its entries expire, and whichever instance sweeps
// the room first removes them and publishes the leave events (ZREM makes that exactly
// one). Scripts read the clock with TIME so instance clocks need not agree.

func (b *RedisBroker) presenceKeys(room string) []string {
	set, info := b.layout.Presence(room)
	return []string{set, info, b.layout.RoomStream(room)}
}

// AddPresence records that a client is in the room until ttl from now and, if it was not
// there, publishes a join event carrying client.
func (b *RedisBroker) AddPresence(ctx context.Context, room, clientID string, client []byte, ttl time.Duration) error {
	err := presenceAddScript.Exec(ctx, b.client, b.presenceKeys(room),
		[]string{clientID, rueidis.BinaryString(client), ms(ttl), room, b.streamMaxLen}).Error()
	if err != nil {
		return fmt.Errorf("broker: add presence in room %s: %w", room, err)
	}
	return nil
}

// RemovePresence removes a client from the room and publishes its leave event.
func (b *RedisBroker) RemovePresence(ctx context.Context, room, clientID string) error {
	err := presenceRemoveScript.Exec(ctx, b.client, b.presenceKeys(room),
		[]string{clientID, room, b.streamMaxLen}).Error()
	if err != nil {
		return fmt.Errorf("broker: remove presence in room %s: %w", room, err)
	}
	return nil
}

// RefreshPresence extends the entries of this instance's clients, per room, by ttl and
// sweeps the expired entries of those rooms. Rooms are handled in one pipeline.
func (b *RedisBroker) RefreshPresence(ctx context.Context, rooms map[string][]node.PresenceClient, ttl time.Duration) error {
	if len(rooms) == 0 {
		return nil
	}
	execs := make([]rueidis.LuaExec, 0, len(rooms))
	for room, clients := range rooms {
		args := make([]string, 0, 3+2*len(clients))
		args = append(args, ms(ttl), room, b.streamMaxLen)
		for _, c := range clients {
			args = append(args, c.ID, rueidis.BinaryString(c.Data))
		}
		execs = append(execs, rueidis.LuaExec{Keys: b.presenceKeys(room), Args: args})
	}
	for i, res := range presenceRefreshScript.ExecMulti(ctx, b.client, execs...) {
		if err := res.Error(); err != nil {
			return fmt.Errorf("broker: refresh presence (%d of %d rooms): %w", i, len(execs), err)
		}
	}
	return nil
}

// Presence returns the encoded clients currently in the room, at most limit.
func (b *RedisBroker) Presence(ctx context.Context, room string, limit int) ([][]byte, error) {
	keys := b.presenceKeys(room)[:2]
	res, err := presenceListScript.Exec(ctx, b.client, keys, []string{strconv.Itoa(limit)}).ToArray()
	if err != nil {
		return nil, fmt.Errorf("broker: presence of room %s: %w", room, err)
	}
	out := make([][]byte, 0, len(res))
	for _, m := range res {
		if s, err := m.ToString(); err == nil { // nil: removed between the two reads
			out = append(out, []byte(s))
		}
	}
	return out, nil
}
