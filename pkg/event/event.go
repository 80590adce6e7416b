// Package event defines the chat event shared by realtime (producer, fan-out) and
// persister (consumer): a message, or the deletion of one, in one envelope. It provides
// construction with a time-ordered id, validation, and the protobuf wire encoding used
// for both Kafka record values and Redis stream entries.
package event

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	chatv1 "github.com/quickchat-go/quickchat/proto/chat/v1"
)

// Limits on message fields; the realtime service may enforce tighter ones.
const (
	// MaxBodyBytes is the largest body any service accepts.
	MaxBodyBytes = 64 << 10
	// MaxClientIDBytes bounds the client-chosen idempotency key.
	MaxClientIDBytes = 128
	// MaxNameBytes bounds a display name.
	MaxNameBytes = 200
)

// Message is a chat event as it travels between services: a message, or, when its
// Deletion is set, the deletion of one (see IsDeletion).
type Message = chatv1.ChatMessage

// Deletion names the message a deletion event removes.
type Deletion = chatv1.Deletion

// IsDeletion reports whether m deletes a message rather than posts one. Events from
// before deletions existed have no Deletion and are messages.
func IsDeletion(m *Message) bool { return m.GetDeletion() != nil }

// NewID returns a new time-ordered message id (UUIDv7).
func NewID() (uuid.UUID, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.Nil, fmt.Errorf("event: new id: %w", err)
	}
	return id, nil
}

// Encode returns the wire form of m.
func Encode(m *Message) ([]byte, error) {
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("event: encode: %w", err)
	}
	return b, nil
}

// Decode parses and validates the wire form of a message.
func Decode(b []byte) (*Message, error) {
	m := &Message{}
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("event: decode: %w", err)
	}
	if err := Validate(m); err != nil {
		return nil, err
	}
	return m, nil
}

// Validate checks that m can be stored: ids are UUIDs, text fields are valid UTF-8 within
// their limits, and the timestamp is set. A message has a body; a deletion has none and
// names the deleted message by its UUID.
func Validate(m *Message) error {
	for name, v := range map[string]string{"id": m.GetId(), "group_id": m.GetGroupId(), "sender_id": m.GetSenderId()} {
		if _, err := uuid.Parse(v); err != nil {
			return fmt.Errorf("event: %s %q is not a UUID", name, v)
		}
	}
	if IsDeletion(m) {
		if m.GetBody() != "" {
			return fmt.Errorf("event: a deletion must have no body")
		}
		if _, err := uuid.Parse(m.GetDeletion().GetMessageId()); err != nil {
			return fmt.Errorf("event: deletion.message_id %q is not a UUID", m.GetDeletion().GetMessageId())
		}
	} else if m.GetBody() == "" || len(m.GetBody()) > MaxBodyBytes || !utf8.ValidString(m.GetBody()) {
		return fmt.Errorf("event: body must be 1..%d bytes of UTF-8", MaxBodyBytes)
	}
	switch {
	case m.GetClientMsgId() == "" || len(m.GetClientMsgId()) > MaxClientIDBytes || !utf8.ValidString(m.GetClientMsgId()):
		return fmt.Errorf("event: client_msg_id must be 1..%d bytes of UTF-8", MaxClientIDBytes)
	case len(m.GetSenderName()) > MaxNameBytes || !utf8.ValidString(m.GetSenderName()):
		return fmt.Errorf("event: sender_name must be at most %d bytes of UTF-8", MaxNameBytes)
	case m.GetCreatedAtUnixMs() <= 0:
		return fmt.Errorf("event: created_at_unix_ms must be set")
	}
	return nil
}

// CreatedAt returns the acceptance time of m.
func CreatedAt(m *Message) time.Time { return time.UnixMilli(m.GetCreatedAtUnixMs()).UTC() }
