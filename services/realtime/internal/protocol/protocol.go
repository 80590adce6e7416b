// Package protocol defines the realtime WebSocket protocol: the JSON frames clients and
// server exchange, their validation, and the error and close codes. docs/protocol.md is
// the human-readable description of the same thing.
package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// Client frame types.
const (
	TypeJoin  = "join"
	TypeLeave = "leave"
	TypeSend  = "send"
	TypePing  = "ping"
)

// Server frame types.
const (
	TypeJoined  = "joined"
	TypeLeft    = "left"
	TypeAck     = "ack"
	TypeMessage = "message"
	TypeError   = "error"
	TypePong    = "pong"
)

// Error codes carried by error frames.
const (
	ErrBadFrame     = "bad_frame"     // not JSON, or fields missing or malformed
	ErrUnknownType  = "unknown_type"  // the type is not one this server knows
	ErrTooLarge     = "too_large"     // body over the size limit
	ErrUnauthorized = "unauthorized"  // token missing, expired, forged
	ErrForbidden    = "forbidden"     // token valid but not for this room
	ErrNotJoined    = "not_joined"    // send or leave for a room the socket has not joined
	ErrRateLimited  = "rate_limited"  // too many frames; slow down
	ErrUnavailable  = "unavailable"   // a dependency failed; retry with the same client_msg_id
	ErrInternal     = "internal"      // a bug
)

// Close codes (4000-4999 are application codes).
const (
	CloseSlowConsumer websocket.StatusCode = 4008 // the client did not read fast enough
	CloseReconnect    websocket.StatusCode = 4012 // server shutting down; reconnect elsewhere
	ClosePolicy       websocket.StatusCode = websocket.StatusPolicyViolation
)

// ClientFrame is any frame a client sends; which fields apply depends on Type.
type ClientFrame struct {
	Type string `json:"type"`
	// Ref is echoed in the reply so clients can match requests and replies.
	Ref string `json:"ref,omitempty"`
	// GroupID names the room (join, leave, send).
	GroupID string `json:"group_id,omitempty"`
	// Token is a member token from the gateway (join).
	Token string `json:"token,omitempty"`
	// Since is the last position the client saw, for recovery (join).
	Since string `json:"since,omitempty"`
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
	// MaxBodyBytes bounds a message body.
	MaxBodyBytes int
}

const (
	maxRefBytes      = 64
	maxClientIDBytes = 128
	maxTokenBytes    = 4096
	maxPosBytes      = 64
)

// Decode parses and validates one client frame.
func Decode(data []byte, lim Limits) (ClientFrame, *Error) {
	var f ClientFrame
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return f, errorf(ErrBadFrame, "frame is not a valid JSON object: %v", err)
	}
	if dec.More() {
		return f, errorf(ErrBadFrame, "frame has data after the JSON object")
	}
	if len(f.Ref) > maxRefBytes {
		return f, errorf(ErrBadFrame, "ref longer than %d bytes", maxRefBytes)
	}
	switch f.Type {
	case TypePing:
		return f, nil
	case TypeJoin:
		if f.GroupID == "" || f.Token == "" {
			return f, errorf(ErrBadFrame, "join needs group_id and token")
		}
		if len(f.Token) > maxTokenBytes || len(f.Since) > maxPosBytes {
			return f, errorf(ErrBadFrame, "token or since too long")
		}
	case TypeLeave:
		if f.GroupID == "" {
			return f, errorf(ErrBadFrame, "leave needs group_id")
		}
	case TypeSend:
		if f.GroupID == "" || f.ClientMsgID == "" {
			return f, errorf(ErrBadFrame, "send needs group_id and client_msg_id")
		}
		if len(f.ClientMsgID) > maxClientIDBytes {
			return f, errorf(ErrBadFrame, "client_msg_id longer than %d bytes", maxClientIDBytes)
		}
		if f.Body == "" {
			return f, errorf(ErrBadFrame, "body must not be empty")
		}
		if len(f.Body) > lim.MaxBodyBytes {
			return f, errorf(ErrTooLarge, "body is %d bytes; the limit is %d", len(f.Body), lim.MaxBodyBytes)
		}
		if !utf8.ValidString(f.Body) {
			return f, errorf(ErrBadFrame, "body is not valid UTF-8")
		}
	case "":
		return f, errorf(ErrBadFrame, "frame has no type")
	default:
		return f, errorf(ErrUnknownType, "unknown frame type %q", f.Type)
	}
	return f, nil
}
