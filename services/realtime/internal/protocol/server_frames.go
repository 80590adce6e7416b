package protocol

import (
	"encoding/json"
	"time"

	"github.com/quickchat-go/quickchat/pkg/wire"
)

// Joined encodes the reply to a join. recovered is nil when the join did not ask to
// recover; missed is how many message frames follow as the replay.
func Joined(ref, groupID, clientID string, top wire.Position, recovered *bool, missed int) []byte {
	f := wire.Joined{Head: wire.Head{Type: wire.TypeJoined, Ref: ref, GroupID: groupID}, ClientID: clientID, Position: top, Recovered: recovered}
	if recovered != nil {
		f.Missed = &missed
	}
	return encode(f)
}

// Left encodes the reply to a leave.
func Left(ref, groupID string) []byte {
	return encode(wire.Left{Head: wire.Head{Type: wire.TypeLeft, Ref: ref, GroupID: groupID}})
}

// Ack encodes the acknowledgement of an accepted message. duplicate is true when the
// client message id had been accepted before and this ack repeats the original one.
func Ack(ref, groupID, id, clientMsgID string, pos wire.Position, duplicate bool) []byte {
	return encode(wire.Ack{Head: wire.Head{Type: wire.TypeAck, Ref: ref, GroupID: groupID}, ID: id, ClientMsgID: clientMsgID, Position: pos, Duplicate: duplicate})
}

// MessageFrame encodes a message delivered at pos.
func MessageFrame(pos wire.Position, m *wire.Message) []byte {
	return encode(wire.MessageFrame{Head: wire.Head{Type: wire.TypeMessage, GroupID: m.GroupID}, Position: pos, Message: m})
}

// Deleted encodes the event that message messageID of the room was deleted by member
// deletedBy at deletedAt; id is the deletion event's id, delivered at pos.
func Deleted(pos wire.Position, groupID, id, messageID, deletedBy string, deletedAt time.Time) []byte {
	return encode(wire.MessageDeleted{Head: wire.Head{Type: wire.TypeDeleted, GroupID: groupID}, ID: id, MessageID: messageID,
		DeletedBy: deletedBy, DeletedAt: wire.Time{Time: deletedAt}, Position: pos})
}

// Reset encodes the notice that messages before pos may be missing from what the client
// received; the client reloads history and continues from pos.
func Reset(groupID string, pos wire.Position) []byte {
	return encode(wire.Reset{Head: wire.Head{Type: wire.TypeReset, GroupID: groupID}, Position: pos})
}

// Presence encodes the reply to a presence request; clients are encoded wire.Clients.
func Presence(ref, groupID string, clients [][]byte) []byte {
	raw := make([]json.RawMessage, 0, len(clients))
	for _, c := range clients {
		if json.Valid(c) { // entries come from Redis; never let a bad one break the reply
			raw = append(raw, c)
		}
	}
	return encode(wire.Presence{Head: wire.Head{Type: wire.TypePresence, Ref: ref, GroupID: groupID}, Clients: raw})
}

// PresenceEvent encodes a presence_join or presence_leave event; client is an encoded
// wire.Client.
func PresenceEvent(typ, groupID string, client []byte) []byte {
	return encode(wire.ClientEvent{Head: wire.Head{Type: typ, GroupID: groupID}, Client: rawOrNull(client)})
}

// Typing encodes a typing event: client is an encoded wire.Client, shown as typing for
// ttlMs.
func Typing(groupID string, client []byte, ttlMs int64) []byte {
	return encode(wire.ClientEvent{Head: wire.Head{Type: wire.TypeTyping, GroupID: groupID}, Client: rawOrNull(client), TTLms: ttlMs})
}

// EncodeClient encodes c for presence and typing events.
func EncodeClient(c wire.Client) []byte { return encode(c) }

// ErrorFrame encodes an error reply to the frame with the given ref and room.
func ErrorFrame(ref, groupID string, e *Error) []byte {
	f := wire.ErrorFrame{Head: wire.Head{Type: wire.TypeError, Ref: ref, GroupID: groupID}, Code: e.Code, Detail: e.Detail}
	if e.RetryAfter > 0 {
		// Rounded up, so a client that waits exactly this long is not refused again.
		f.RetryAfterMs = int64((e.RetryAfter + time.Millisecond - 1) / time.Millisecond)
	}
	return encode(f)
}

// Removed encodes the notice that the socket's member is out of the room: its
// membership ended for reason (a wire.Reason value; an unknown one reads as removed).
func Removed(groupID, reason string) []byte {
	if !wire.KnownReason(reason) {
		reason = wire.ReasonRemoved
	}
	return encode(wire.Removed{Head: wire.Head{Type: wire.TypeRemoved, GroupID: groupID}, Reason: reason})
}

// Pong encodes the reply to a ping.
func Pong(ref string) []byte {
	return encode(wire.Pong{Head: wire.Head{Type: wire.TypePong, Ref: ref}})
}

func rawOrNull(b []byte) json.RawMessage {
	if !json.Valid(b) {
		return json.RawMessage("null")
	}
	return b
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only strings, numbers, times and already-valid JSON: marshaling cannot fail.
		panic("protocol: encode server frame: " + err.Error())
	}
	return b
}
