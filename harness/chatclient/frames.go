package chatclient

import "encoding/json"

// Position is a place in a room's message sequence: offsets count up within an epoch.
type Position struct {
	Epoch  string `json:"epoch"`
	Offset uint64 `json:"offset"`
}

// Message is a chat message as the realtime service delivers it.
type Message struct {
	ID          string `json:"id"`
	GroupID     string `json:"group_id"`
	SenderID    string `json:"sender_id"`
	SenderName  string `json:"sender_name"`
	ClientMsgID string `json:"client_msg_id"`
	Body        string `json:"body"`
	CreatedAt   int64  `json:"created_at"`
}

// Frame is any server frame; which fields are set depends on Type (see docs/protocol.md).
type Frame struct {
	Type        string          `json:"type"`
	Ref         string          `json:"ref"`
	GroupID     string          `json:"group_id"`
	ID          string          `json:"id"`
	ClientMsgID string          `json:"client_msg_id"`
	ClientID    string          `json:"client_id"`
	Epoch       string          `json:"epoch"`
	Offset      uint64          `json:"offset"`
	Duplicate   bool            `json:"duplicate"`
	Recovered   *bool           `json:"recovered"`
	Missed      *int            `json:"missed"`
	Message     *Message        `json:"message"`
	Code        string          `json:"code"`
	Text        string          `json:"-"`
	Clients     json.RawMessage `json:"clients"`
	Client      json.RawMessage `json:"client"`
	// Raw is the frame as received.
	Raw []byte `json:"-"`
}

// Position returns the frame's epoch and offset.
func (f Frame) Position() Position { return Position{Epoch: f.Epoch, Offset: f.Offset} }

// errorText carries the "message" field of error frames, which collides with the
// message object of message frames.
type errorText struct {
	Message json.RawMessage `json:"message"`
}

func decodeFrame(data []byte) (Frame, error) {
	var f Frame
	// Error frames carry a string in "message"; decode that case separately.
	var et errorText
	if err := json.Unmarshal(data, &et); err != nil {
		return f, err
	}
	if len(et.Message) > 0 && et.Message[0] == '"' {
		var alias struct {
			Type    string `json:"type"`
			Ref     string `json:"ref"`
			GroupID string `json:"group_id"`
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(data, &alias); err != nil {
			return f, err
		}
		f = Frame{Type: alias.Type, Ref: alias.Ref, GroupID: alias.GroupID, Code: alias.Code, Text: alias.Message}
	} else if err := json.Unmarshal(data, &f); err != nil {
		return f, err
	}
	f.Raw = data
	return f, nil
}
