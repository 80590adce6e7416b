package protocol

import (
	"encoding/json"
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

// ServerFrame is any frame the server sends; which fields apply depends on Type.
type ServerFrame struct {
	Type    string `json:"type"`
	Ref     string `json:"ref,omitempty"`
	GroupID string `json:"group_id,omitempty"`
	// Pos is the room position of a message, or the room's current position (joined).
	Pos string `json:"pos,omitempty"`
	// ID is the server id of an acknowledged message (ack).
	ID      string   `json:"id,omitempty"`
	Message *Message `json:"message,omitempty"`
	// Code and Error describe an error frame.
	Code  string `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
}

// Encode marshals a server frame.
func Encode(f ServerFrame) []byte {
	b, err := json.Marshal(f)
	if err != nil {
		// Only plain strings and ints: marshaling cannot fail.
		panic("protocol: encode server frame: " + err.Error())
	}
	return b
}

// ErrorFrame encodes an error reply to the frame with the given ref.
func ErrorFrame(ref string, e *Error) []byte {
	return Encode(ServerFrame{Type: TypeError, Ref: ref, Code: e.Code, Error: e.Message})
}
