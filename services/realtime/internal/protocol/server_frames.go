package protocol

import (
	"encoding/json"
)

// Server frame types.
const (
	TypeJoined        = "joined"
	TypeLeft          = "left"
	TypeAck           = "ack"
	TypeMessage       = "message"
	TypeReset         = "reset"
	TypePresenceJoin  = "presence_join"
	TypePresenceLeave = "presence_leave"
	TypeError         = "error"
	TypePong          = "pong"
	// TypeTyping and TypePresence are also server frame types: the typing event and the
	// reply to a presence request.
)

// Message is a chat message as clients see it.
type Message struct {
	ID          string `json:"id"`
	GroupID     string `json:"group_id"`
	SenderID    string `json:"sender_id"`
	SenderName  string `json:"sender_name"`
	ClientMsgID string `json:"client_msg_id"`
	Body        string `json:"body"`
	CreatedAt   int64  `json:"created_at"` // Unix milliseconds
}

// Client describes one connection in a room's presence.
type Client struct {
	ClientID string `json:"client_id"`
	MemberID string `json:"member_id"`
	Name     string `json:"name"`
}

type joinedFrame struct {
	Type     string `json:"type"`
	Ref      string `json:"ref,omitempty"`
	GroupID  string `json:"group_id"`
	ClientID string `json:"client_id"`
	Epoch    string `json:"epoch"`
	Offset   uint64 `json:"offset"`
	// Recovered and Missed are present only when the join asked to recover.
	Recovered *bool `json:"recovered,omitempty"`
	Missed    *int  `json:"missed,omitempty"`
}

// Joined encodes the reply to a join. recovered is nil when the join did not ask to
// recover; missed is how many message frames follow as the replay.
func Joined(ref, groupID, clientID string, top Position, recovered *bool, missed int) []byte {
	f := joinedFrame{Type: TypeJoined, Ref: ref, GroupID: groupID, ClientID: clientID, Epoch: top.Epoch, Offset: top.Offset, Recovered: recovered}
	if recovered != nil {
		f.Missed = &missed
	}
	return encode(f)
}

type leftFrame struct {
	Type    string `json:"type"`
	Ref     string `json:"ref,omitempty"`
	GroupID string `json:"group_id"`
}

// Left encodes the reply to a leave.
func Left(ref, groupID string) []byte {
	return encode(leftFrame{Type: TypeLeft, Ref: ref, GroupID: groupID})
}

type ackFrame struct {
	Type        string `json:"type"`
	Ref         string `json:"ref,omitempty"`
	GroupID     string `json:"group_id"`
	ID          string `json:"id"`
	ClientMsgID string `json:"client_msg_id"`
	Epoch       string `json:"epoch"`
	Offset      uint64 `json:"offset"`
	Duplicate   bool   `json:"duplicate"`
}

// Ack encodes the acknowledgement of an accepted message. duplicate is true when the
// client message id had been accepted before and this ack repeats the original one.
func Ack(ref, groupID, id, clientMsgID string, pos Position, duplicate bool) []byte {
	return encode(ackFrame{Type: TypeAck, Ref: ref, GroupID: groupID, ID: id, ClientMsgID: clientMsgID, Epoch: pos.Epoch, Offset: pos.Offset, Duplicate: duplicate})
}

type messageFrame struct {
	Type    string   `json:"type"`
	GroupID string   `json:"group_id"`
	Epoch   string   `json:"epoch"`
	Offset  uint64   `json:"offset"`
	Message *Message `json:"message"`
}

// MessageFrame encodes a message delivered at pos.
func MessageFrame(pos Position, m *Message) []byte {
	return encode(messageFrame{Type: TypeMessage, GroupID: m.GroupID, Epoch: pos.Epoch, Offset: pos.Offset, Message: m})
}

type resetFrame struct {
	Type    string `json:"type"`
	GroupID string `json:"group_id"`
	Epoch   string `json:"epoch"`
	Offset  uint64 `json:"offset"`
}

// Reset encodes the notice that messages before pos may be missing from what the client
// received; the client reloads history and continues from pos.
func Reset(groupID string, pos Position) []byte {
	return encode(resetFrame{Type: TypeReset, GroupID: groupID, Epoch: pos.Epoch, Offset: pos.Offset})
}

type presenceFrame struct {
	Type    string            `json:"type"`
	Ref     string            `json:"ref,omitempty"`
	GroupID string            `json:"group_id"`
	Clients []json.RawMessage `json:"clients"`
}

// Presence encodes the reply to a presence request; clients are encoded Client objects.
func Presence(ref, groupID string, clients [][]byte) []byte {
	raw := make([]json.RawMessage, 0, len(clients))
	for _, c := range clients {
		if json.Valid(c) { // entries come from Redis; never let a bad one break the reply
			raw = append(raw, c)
		}
	}
	return encode(presenceFrame{Type: TypePresence, Ref: ref, GroupID: groupID, Clients: raw})
}

type clientEventFrame struct {
	Type    string          `json:"type"`
	GroupID string          `json:"group_id"`
	Client  json.RawMessage `json:"client"`
	TTLms   int64           `json:"ttl_ms,omitempty"`
}

// PresenceEvent encodes a presence_join or presence_leave event; client is an encoded Client.
func PresenceEvent(typ, groupID string, client []byte) []byte {
	return encode(clientEventFrame{Type: typ, GroupID: groupID, Client: rawOrNull(client)})
}

// Typing encodes a typing event: client is an encoded Client, shown as typing for ttlMs.
func Typing(groupID string, client []byte, ttlMs int64) []byte {
	return encode(clientEventFrame{Type: TypeTyping, GroupID: groupID, Client: rawOrNull(client), TTLms: ttlMs})
}

// EncodeClient encodes c for presence and typing events.
func EncodeClient(c Client) []byte { return encode(c) }

type errorFrame struct {
	Type    string `json:"type"`
	Ref     string `json:"ref,omitempty"`
	GroupID string `json:"group_id,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ErrorFrame encodes an error reply to the frame with the given ref and room.
func ErrorFrame(ref, groupID string, e *Error) []byte {
	return encode(errorFrame{Type: TypeError, Ref: ref, GroupID: groupID, Code: e.Code, Message: e.Message})
}

type pongFrame struct {
	Type string `json:"type"`
	Ref  string `json:"ref,omitempty"`
}

// Pong encodes the reply to a ping.
func Pong(ref string) []byte { return encode(pongFrame{Type: TypePong, Ref: ref}) }

func rawOrNull(b []byte) json.RawMessage {
	if !json.Valid(b) {
		return json.RawMessage("null")
	}
	return b
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only strings, numbers and already-valid JSON: marshaling cannot fail.
		panic("protocol: encode server frame: " + err.Error())
	}
	return b
}
