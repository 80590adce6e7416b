package roomredis

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/redis/rueidis"

	"github.com/quickchat-go/quickchat/pkg/wire"
)

//go:embed lua/online.lua
var onlineLua string

var onlineScript = rueidis.NewLuaScriptRetryable(onlineLua)

// Presence reads which members of a room are connected, from realtime's presence
// entries.
type Presence struct {
	client rueidis.Client
	layout Layout
}

// NewPresence returns a Presence reading with client in layout's keys.
func NewPresence(client rueidis.Client, layout Layout) (*Presence, error) {
	if err := layout.Validate(); err != nil {
		return nil, err
	}
	return &Presence{client: client, layout: layout}, nil
}

// Online returns the ids of the room's members with at least one live connection in it,
// on any realtime instance.
func (p *Presence) Online(ctx context.Context, room string) (map[string]bool, error) {
	set, info := p.layout.Presence(room)
	res, err := onlineScript.Exec(ctx, p.client, []string{set, info}, nil).ToArray()
	if err != nil {
		return nil, fmt.Errorf("roomredis: presence of room %s: %w", room, err)
	}
	online := make(map[string]bool, len(res))
	for _, m := range res {
		s, err := m.ToString()
		if err != nil {
			continue // nil: the client left between the two reads
		}
		var c wire.Client
		if json.Unmarshal([]byte(s), &c) == nil && c.MemberID != "" {
			online[c.MemberID] = true
		}
	}
	return online, nil
}
