package roomredis

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/rueidis"

	"github.com/quickchat-go/quickchat/pkg/wire"
)

// RevokeTTL is how long a revoked mark lives. It must outlast every member token issued
// before the revocation (their lifetime is capped at 15 minutes), so no token of a
// revoked member can join or send again; after that the token is expired anyway, and the
// member id is never reused.
const RevokeTTL = 20 * time.Minute

// EntryKind is the kind field ("k") of a revocation's entry in the shard stream.
const EntryKind = "r"

// revokeBatch is the most members one script marks; more are revoked in several steps,
// one stream entry each, so no single script blocks Redis for long.
const revokeBatch = 500

// Revocation is the data ("d") of a stream entry of kind 'r': members of a room whose
// memberships ended, and why. Realtime removes their sockets from the room.
type Revocation struct {
	Room    string   `json:"room"`
	Members []string `json:"members"`
	// Reason is one of the wire.Reason values; the removed frame carries it.
	Reason string `json:"reason"`
}

//go:embed lua/revoke.lua
var revokeLua string

var revokeScript = rueidis.NewLuaScriptRetryable(revokeLua)

// Revoker ends memberships in realtime: the members' joins and sends are refused from
// then on, and their sockets are removed from the room on every instance.
type Revoker struct {
	client rueidis.Client
	layout Layout
}

// NewRevoker returns a Revoker writing with client in layout's keys.
func NewRevoker(client rueidis.Client, layout Layout) (*Revoker, error) {
	if err := layout.Validate(); err != nil {
		return nil, err
	}
	return &Revoker{client: client, layout: layout}, nil
}

// Revoke marks members (member ids) of room as revoked for RevokeTTL and publishes one
// Revocation to the room's shard stream (one per 500 members), atomically. reason is
// one of the wire.Reason values. Revoking a member again is harmless, so a failed call
// may be retried.
func (r *Revoker) Revoke(ctx context.Context, room string, members []string, reason string) error {
	if room == "" {
		return errors.New("roomredis: revoke needs a room")
	}
	if !wire.KnownReason(reason) {
		return fmt.Errorf("roomredis: unknown revocation reason %q", reason)
	}
	ttl := strconv.FormatInt(RevokeTTL.Milliseconds(), 10)
	for start := 0; start < len(members); start += revokeBatch {
		batch := members[start:min(start+revokeBatch, len(members))]
		data, err := json.Marshal(Revocation{Room: room, Members: batch, Reason: reason})
		if err != nil {
			return fmt.Errorf("roomredis: encode revocation: %w", err)
		}
		keys := make([]string, 0, 1+len(batch))
		keys = append(keys, r.layout.RoomStream(room))
		for _, m := range batch {
			if m == "" {
				return errors.New("roomredis: revoke of an empty member id")
			}
			keys = append(keys, r.layout.Revoked(room, m))
		}
		err = revokeScript.Exec(ctx, r.client, keys, []string{ttl, reason, room, string(data)}).Error()
		if err != nil {
			return fmt.Errorf("roomredis: revoke %d members of room %s: %w", len(batch), room, err)
		}
	}
	return nil
}
