package wire

import "github.com/quickchat-go/quickchat/pkg/gatewayapi"

// Position is a place in a room's message sequence. Offsets count up by one from 1 within
// an epoch; a new epoch means the sequence was lost and restarted, so positions of an
// older epoch cannot be resumed from.
type Position struct {
	Epoch  string `json:"epoch"`
	Offset uint64 `json:"offset"`
}

// Message is a chat message as clients see it. It is the very object the gateway's
// history returns, declared once in gatewayapi, so a client merges history and live
// messages by id without converting; CreatedAt is when the server accepted it.
type Message = gatewayapi.Message

// Attachment is a file a message carries, as the gateway checked it; the very object
// history returns (gatewayapi.Attachment).
type Attachment = gatewayapi.Attachment

// Thumbnail gives the dimensions of an image attachment's preview.
type Thumbnail = gatewayapi.Thumbnail

// Time is an instant as frames (and REST bodies) carry it: RFC 3339 in UTC with
// millisecond precision, e.g. "2026-11-27T16:12:03.123Z" (gatewayapi.TimeLayout).
type Time = gatewayapi.Time

// Client is one connection in a room's presence: presence replies list them, presence and
// typing events carry one.
type Client struct {
	ClientID string `json:"client_id"`
	MemberID string `json:"member_id"`
	Name     string `json:"name"`
	// Guest is true for a member without an account.
	Guest bool `json:"guest"`
}
