package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/event"
	"github.com/quickchat-go/quickchat/pkg/wire"
)

// Error is a protocol error to report in an error frame.
type Error struct {
	// Code is one of the wire.Code constants.
	Code string
	// Detail is for humans.
	Detail string
	// RetryAfter, for rate_limited errors, is how long until the frame would pass (0:
	// not said).
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Code + ": " + e.Detail }

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...)}
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
	// MaxAttachments is how many attachment references one send may carry, each at most
	// MaxAttachmentRefBytes (a reference with the longest file name is about 2 KiB).
	MaxAttachments        = event.MaxAttachments
	MaxAttachmentRefBytes = 3072
)

// Decode parses and validates one client frame. On error the returned frame still holds
// whatever could be parsed (notably Ref, so the error reply can carry it).
func Decode(data []byte, lim Limits) (wire.ClientFrame, *Error) {
	var f wire.ClientFrame
	// encoding/json silently replaces invalid UTF-8, so check the raw bytes first.
	if !utf8.Valid(data) {
		return f, errorf(wire.CodeBadFrame, "frame is not valid UTF-8")
	}
	if err := json.Unmarshal(data, &f); err != nil {
		// A wrongly typed field leaves the others decoded: answer with the ref and group id
		// when they were read, and name the field, so the client can tell which frame failed
		// and why.
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			if len(f.Ref) > MaxRefBytes {
				f.Ref = ""
			}
			if len(f.GroupID) > MaxGroupIDBytes {
				f.GroupID = ""
			}
			return f, errorf(wire.CodeBadFrame, "%s must be %s, not %s", typeErr.Field, jsonKind(typeErr.Type.Kind()), truncate(typeErr.Value, 32))
		}
		return wire.ClientFrame{}, errorf(wire.CodeBadFrame, "frame is not a valid JSON object")
	}
	if len(f.Ref) > MaxRefBytes {
		f.Ref = ""
		return f, errorf(wire.CodeBadFrame, "ref is longer than %d bytes", MaxRefBytes)
	}
	switch f.Type {
	case wire.TypePing:
		return f, nil
	case wire.TypeJoin, wire.TypeLeave, wire.TypeSend, wire.TypeDelete, wire.TypeTyping, wire.TypePresence:
	case "":
		return f, errorf(wire.CodeBadFrame, "frame has no type")
	default:
		return f, errorf(wire.CodeUnknownType, "unknown frame type %q", truncate(f.Type, 32))
	}
	if f.GroupID == "" {
		return f, errorf(wire.CodeBadFrame, "%s needs group_id", f.Type)
	}
	if len(f.GroupID) > MaxGroupIDBytes {
		return f, errorf(wire.CodeBadFrame, "group_id is longer than %d bytes", MaxGroupIDBytes)
	}
	switch f.Type {
	case wire.TypeJoin:
		if f.Token == "" {
			return f, errorf(wire.CodeBadFrame, "join needs token")
		}
		if len(f.Token) > MaxTokenBytes {
			return f, errorf(wire.CodeBadFrame, "token is longer than %d bytes", MaxTokenBytes)
		}
		if f.Since != nil && (f.Since.Epoch == "" || len(f.Since.Epoch) > MaxEpochBytes) {
			return f, errorf(wire.CodeBadFrame, "since.epoch must be 1..%d bytes", MaxEpochBytes)
		}
	case wire.TypeSend, wire.TypeDelete:
		if f.ClientMsgID == "" || len(f.ClientMsgID) > MaxClientIDBytes {
			return f, errorf(wire.CodeBadFrame, "client_msg_id must be 1..%d bytes", MaxClientIDBytes)
		}
		if strings.IndexByte(f.ClientMsgID, 0) >= 0 {
			return f, errorf(wire.CodeBadFrame, "client_msg_id must not contain NUL")
		}
	}
	switch f.Type {
	case wire.TypeDelete:
		// Only the canonical form, so one message has one id everywhere it is compared.
		if u, err := uuid.Parse(f.MessageID); err != nil || u.String() != f.MessageID {
			return f, errorf(wire.CodeBadFrame, "delete needs message_id, a message's UUID in canonical form")
		}
	case wire.TypeSend:
		if len(f.Attachments) > MaxAttachments {
			return f, errorf(wire.CodeBadFrame, "a message carries at most %d attachments", MaxAttachments)
		}
		for _, ref := range f.Attachments {
			if ref == "" || len(ref) > MaxAttachmentRefBytes {
				return f, errorf(wire.CodeBadFrame, "attachments must be references from the gateway, 1..%d bytes each", MaxAttachmentRefBytes)
			}
		}
		if strings.TrimSpace(f.Body) == "" && (f.Body != "" || len(f.Attachments) == 0) {
			return f, errorf(wire.CodeBadFrame, "body must not be empty or blank (it may be left out beside attachments)")
		}
		if len(f.Body) > lim.MaxBodyBytes {
			return f, errorf(wire.CodeTooLarge, "body is %d bytes; the limit is %d", len(f.Body), lim.MaxBodyBytes)
		}
		// PostgreSQL text cannot hold NUL; refuse it here rather than poison the topic.
		if strings.IndexByte(f.Body, 0) >= 0 {
			return f, errorf(wire.CodeBadFrame, "body must not contain NUL")
		}
	}
	return f, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary so the error detail stays valid UTF-8.
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// jsonKind names the JSON value a Go kind decodes from.
func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}
