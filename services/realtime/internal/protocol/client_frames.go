package protocol

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Client frame types.
const (
	TypeJoin     = "join"
	TypeLeave    = "leave"
	TypeSend     = "send"
	TypeTyping   = "typing"
	TypePresence = "presence"
	TypePing     = "ping"
)

// Position is where a client is in a room's message sequence. Offsets count up from 1
// within one epoch; a new epoch means the sequence was lost and restarted, so positions of
// an older epoch cannot be resumed from.
type Position struct {
	Epoch  string `json:"epoch"`
	Offset uint64 `json:"offset"`
}

// ClientFrame is any frame a client sends; which fields apply depends on Type.
type ClientFrame struct {
	Type string `json:"type"`
	// Ref is echoed in the reply so clients can match requests and replies.
	Ref string `json:"ref,omitempty"`
	// GroupID names the room (every type but ping).
	GroupID string `json:"group_id,omitempty"`
	// Token is a member token from the gateway (join).
	Token string `json:"token,omitempty"`
	// Since is the last position the client saw, to recover what it missed (join).
	Since *Position `json:"since,omitempty"`
	// ClientMsgID is the sender's idempotency key (send).
	ClientMsgID string `json:"client_msg_id,omitempty"`
	// Body is the message text (send).
	Body string `json:"body,omitempty"`
}

// Error is a protocol error to report in an error frame.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Limits bound what a frame may carry.
type Limits struct {
	// MaxBodyBytes bounds a message body in bytes of UTF-8.
	MaxBodyBytes int
}

// Field limits. Group ids are UUIDs, client message ids match event.MaxClientIDBytes.
const (
	MaxRefBytes      = 64
	MaxGroupIDBytes  = 64
	MaxClientIDBytes = 128
	MaxTokenBytes    = 4096
	MaxEpochBytes    = 32
)

// Decode parses and validates one client frame. On error the returned frame still holds
// whatever could be parsed (notably Ref, so the error reply can carry it).
func Decode(data []byte, lim Limits) (ClientFrame, *Error) {
	var f ClientFrame
	// encoding/json silently replaces invalid UTF-8, so check the raw bytes first.
	if !utf8.Valid(data) {
		return f, errorf(ErrBadFrame, "frame is not valid UTF-8")
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return ClientFrame{}, errorf(ErrBadFrame, "frame is not a valid JSON object")
	}
	if len(f.Ref) > MaxRefBytes {
		f.Ref = ""
		return f, errorf(ErrBadFrame, "ref is longer than %d bytes", MaxRefBytes)
	}
	switch f.Type {
	case TypePing:
		return f, nil
	case TypeJoin, TypeLeave, TypeSend, TypeTyping, TypePresence:
	case "":
		return f, errorf(ErrBadFrame, "frame has no type")
	default:
		return f, errorf(ErrUnknownType, "unknown frame type %q", truncate(f.Type, 32))
	}
	if f.GroupID == "" {
		return f, errorf(ErrBadFrame, "%s needs group_id", f.Type)
	}
	if len(f.GroupID) > MaxGroupIDBytes {
		return f, errorf(ErrBadFrame, "group_id is longer than %d bytes", MaxGroupIDBytes)
	}
	switch f.Type {
	case TypeJoin:
		if f.Token == "" {
			return f, errorf(ErrBadFrame, "join needs token")
		}
		if len(f.Token) > MaxTokenBytes {
			return f, errorf(ErrBadFrame, "token is longer than %d bytes", MaxTokenBytes)
		}
		if f.Since != nil && (f.Since.Epoch == "" || len(f.Since.Epoch) > MaxEpochBytes) {
			return f, errorf(ErrBadFrame, "since.epoch must be 1..%d bytes", MaxEpochBytes)
		}
	case TypeSend:
		if f.ClientMsgID == "" || len(f.ClientMsgID) > MaxClientIDBytes {
			return f, errorf(ErrBadFrame, "client_msg_id must be 1..%d bytes", MaxClientIDBytes)
		}
		if strings.IndexByte(f.ClientMsgID, 0) >= 0 {
			return f, errorf(ErrBadFrame, "client_msg_id must not contain NUL")
		}
		if strings.TrimSpace(f.Body) == "" {
			return f, errorf(ErrBadFrame, "body must not be empty or blank")
		}
		if len(f.Body) > lim.MaxBodyBytes {
			return f, errorf(ErrTooLarge, "body is %d bytes; the limit is %d", len(f.Body), lim.MaxBodyBytes)
		}
		// PostgreSQL text cannot hold NUL; refuse it here rather than poison the topic.
		if strings.IndexByte(f.Body, 0) >= 0 {
			return f, errorf(ErrBadFrame, "body must not contain NUL")
		}
	}
	return f, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary so the error message stays valid UTF-8.
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
