package wire

import "encoding/json"

// Server frame types; the typing event and the presence reply are TypeTyping and
// TypePresence.
const (
	TypeJoined        = "joined"
	TypeLeft          = "left"
	TypeAck           = "ack"
	TypeMessage       = "message"
	TypeDeleted       = "message_deleted"
	TypeReset         = "reset"
	TypePresenceJoin  = "presence_join"
	TypePresenceLeave = "presence_leave"
	TypeError         = "error"
	TypePong          = "pong"
	TypeRemoved       = "removed"
)

// The server writes each frame type with its own struct below, so every frame carries
// exactly its documented fields. Clients read any of them into ServerFrame.

// Joined is the reply to a join.
type Joined struct {
	Head
	// ClientID is this connection's id in presence and typing events.
	ClientID string `json:"client_id"`
	// Position is the room's position at the join; after the replay, the client's.
	Position
	// Recovered and Missed are set only when the join asked to recover: whether the
	// Missed message frames that follow are exactly what the client missed.
	Recovered *bool `json:"recovered,omitempty"`
	Missed    *int  `json:"missed,omitempty"`
}

// Left is the reply to a leave.
type Left struct{ Head }

// Ack acknowledges an accepted message or deletion.
type Ack struct {
	Head
	// ID is the message id (UUIDv7); for a deletion, the deletion event's id.
	ID          string `json:"id"`
	ClientMsgID string `json:"client_msg_id"`
	Position
	// Duplicate is true when the client message id had been accepted before and this ack
	// repeats the original one.
	Duplicate bool `json:"duplicate"`
}

// MessageFrame delivers a message at its position, live or replayed.
type MessageFrame struct {
	Head
	Position
	Message *Message `json:"message"`
}

// MessageDeleted says that a message of the room was deleted. The deletion is an event of
// the room with its own id and position, delivered and replayed in order with messages,
// so a client that resumes from a position also gets the deletions it missed.
type MessageDeleted struct {
	Head
	// ID is the deletion event's id (UUIDv7).
	ID string `json:"id"`
	// MessageID is the id of the deleted message; clients replace it with a tombstone.
	MessageID string `json:"message_id"`
	// DeletedBy is the member id of who deleted it.
	DeletedBy string `json:"deleted_by"`
	// DeletedAt is when the server accepted the deletion.
	DeletedAt Time `json:"deleted_at"`
	Position
}

// Reset says that messages before its position may be missing from what the client got:
// the client reloads history and continues from the position.
type Reset struct {
	Head
	Position
}

// Presence is the reply to a presence request. The server stores clients encoded, so
// each entry of Clients is an encoded Client.
type Presence struct {
	Head
	Clients []json.RawMessage `json:"clients"`
}

// ClientEvent is a presence_join, presence_leave or typing event about Client, an
// encoded Client. TTLms, set for typing only, is how long to show the client as typing.
type ClientEvent struct {
	Head
	Client json.RawMessage `json:"client"`
	TTLms  int64           `json:"ttl_ms,omitempty"`
}

// ErrorFrame refuses the client frame with the same ref (and room, when it could be read).
type ErrorFrame struct {
	Head
	// Code is one of the Code constants.
	Code string `json:"code"`
	// Detail is for humans.
	Detail string `json:"detail"`
	// RetryAfterMs, set on some rate_limited errors, is how many milliseconds to wait before
	// the refused frame would be accepted.
	RetryAfterMs int64 `json:"retry_after_ms,omitempty"`
}

// Removed tells a socket that its member's membership of the room ended (Reason is one
// of the Reason values): the socket is out of the room, and its member token no longer
// joins or sends. A socket left in no room is then closed with CloseRemoved.
type Removed struct {
	Head
	Reason string `json:"reason"`
}

// Reasons a membership ended, the reason of removed frames.
const (
	ReasonRemoved         = "removed"          // the owner removed the member; they may join again with the passcode
	ReasonBanned          = "banned"           // the owner banned the member; joining again is refused
	ReasonPasscodeChanged = "passcode_changed" // the passcode changed and guest memberships ended; join again with the new one
	ReasonLeft            = "left"             // the member left the group
)

// KnownReason reports whether r is one of the Reason values.
func KnownReason(r string) bool {
	switch r {
	case ReasonRemoved, ReasonBanned, ReasonPasscodeChanged, ReasonLeft:
		return true
	}
	return false
}

// Pong is the reply to a ping.
type Pong struct{ Head }

// ServerFrame is any server frame, read without knowing its type first: it has the fields
// of every type, of which those of Type are set. It is for reading; the tests of this
// package check that every server frame reads back into it unchanged.
type ServerFrame struct {
	Head
	// Position is set in joined, ack, message, message_deleted and reset frames.
	Position
	ClientID     string   `json:"client_id,omitempty"`      // joined
	Recovered    *bool    `json:"recovered,omitempty"`      // joined, when recovering
	Missed       *int     `json:"missed,omitempty"`         // joined, when recovering
	ID           string   `json:"id,omitempty"`             // ack, message_deleted
	ClientMsgID  string   `json:"client_msg_id,omitempty"`  // ack
	Duplicate    bool     `json:"duplicate,omitempty"`      // ack
	Message      *Message `json:"message,omitempty"`        // message
	MessageID    string   `json:"message_id,omitempty"`     // message_deleted
	DeletedBy    string   `json:"deleted_by,omitempty"`     // message_deleted
	DeletedAt    *Time    `json:"deleted_at,omitempty"`     // message_deleted
	Clients      []Client `json:"clients,omitempty"`        // presence
	Client       *Client  `json:"client,omitempty"`         // presence_join, presence_leave, typing
	TTLms        int64    `json:"ttl_ms,omitempty"`         // typing
	Code         string   `json:"code,omitempty"`           // error
	Detail       string   `json:"detail,omitempty"`         // error
	RetryAfterMs int64    `json:"retry_after_ms,omitempty"` // error, some rate_limited ones
	Reason       string   `json:"reason,omitempty"`         // removed
}
