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
	// MaxAttachments bounds the attachments of one message.
	MaxAttachments = 4
	// MaxFileNameBytes bounds an attachment's file name.
	MaxFileNameBytes = 1024
	// MaxContentTypeBytes bounds an attachment's media type.
	MaxContentTypeBytes = 255
)

// Message is a chat event as it travels between services: a message, or, when its
// Deletion is set, the deletion of one (see IsDeletion).
type Message = chatv1.ChatMessage

// Deletion names the message a deletion event removes.
type Deletion = chatv1.Deletion

// Attachment is the metadata of a file a message carries.
type Attachment = chatv1.Attachment

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
// their limits, and the timestamp is set. A message has a body, attachments or both; a
// deletion has neither and names the deleted message by its UUID.
func Validate(m *Message) error {
	for name, v := range map[string]string{"id": m.GetId(), "group_id": m.GetGroupId(), "sender_id": m.GetSenderId()} {
		if _, err := uuid.Parse(v); err != nil {
			return fmt.Errorf("event: %s %q is not a UUID", name, v)
		}
	}
	if IsDeletion(m) {
		if m.GetBody() != "" || len(m.GetAttachments()) > 0 {
			return fmt.Errorf("event: a deletion must have no body and no attachments")
		}
		if _, err := uuid.Parse(m.GetDeletion().GetMessageId()); err != nil {
			return fmt.Errorf("event: deletion.message_id %q is not a UUID", m.GetDeletion().GetMessageId())
		}
	} else {
		if err := validateAttachments(m.GetAttachments()); err != nil {
			return err
		}
		if (m.GetBody() == "" && len(m.GetAttachments()) == 0) || len(m.GetBody()) > MaxBodyBytes || !utf8.ValidString(m.GetBody()) {
			return fmt.Errorf("event: body must be 1..%d bytes of UTF-8 (or empty beside attachments)", MaxBodyBytes)
		}
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

// validateAttachments checks the attachments of a message: at most MaxAttachments, each
// named by a UUID, with a file name and a media type of UTF-8 within their limits, and
// sizes and dimensions that are not negative.
func validateAttachments(as []*Attachment) error {
	if len(as) > MaxAttachments {
		return fmt.Errorf("event: at most %d attachments per message", MaxAttachments)
	}
	for i, a := range as {
		switch _, err := uuid.Parse(a.GetId()); {
		case err != nil:
			return fmt.Errorf("event: attachment %d: id %q is not a UUID", i, a.GetId())
		case a.GetName() == "" || len(a.GetName()) > MaxFileNameBytes || !utf8.ValidString(a.GetName()):
			return fmt.Errorf("event: attachment %d: name must be 1..%d bytes of UTF-8", i, MaxFileNameBytes)
		case a.GetContentType() == "" || len(a.GetContentType()) > MaxContentTypeBytes || !utf8.ValidString(a.GetContentType()):
			return fmt.Errorf("event: attachment %d: content_type must be 1..%d bytes of UTF-8", i, MaxContentTypeBytes)
		case a.GetSizeBytes() < 0 || a.GetWidth() < 0 || a.GetHeight() < 0 || a.GetThumbWidth() < 0 || a.GetThumbHeight() < 0:
			return fmt.Errorf("event: attachment %d: sizes must not be negative", i)
		}
	}
	return nil
}

// CreatedAt returns the acceptance time of m.
func CreatedAt(m *Message) time.Time { return time.UnixMilli(m.GetCreatedAtUnixMs()).UTC() }
