package event

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protowire"
)

func valid() *Message {
	return &Message{
		Id: uuid.Must(uuid.NewV7()).String(), GroupId: uuid.NewString(), SenderId: uuid.NewString(),
		SenderName: "Ada", ClientMsgId: "c1", Body: "hello", CreatedAtUnixMs: time.Now().UnixMilli(),
	}
}

func TestDecodeValidates(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Message)
		wantErr bool
	}{
		{"a complete message round-trips", func(*Message) {}, false},
		{"a non-UUID id is rejected", func(m *Message) { m.Id = "x" }, true},
		{"a missing group is rejected", func(m *Message) { m.GroupId = "" }, true},
		{"an empty body is rejected", func(m *Message) { m.Body = "" }, true},
		{"an oversized body is rejected", func(m *Message) { m.Body = strings.Repeat("a", MaxBodyBytes+1) }, true},
		{"invalid UTF-8 is rejected", func(m *Message) { m.Body = "\xff" }, true},
		{"a missing client id is rejected", func(m *Message) { m.ClientMsgId = "" }, true},
		{"a missing timestamp is rejected", func(m *Message) { m.CreatedAtUnixMs = 0 }, true},
		{"a message with an attachment and no body round-trips", func(m *Message) { m.Body = ""; m.Attachments = []*Attachment{attachment()} }, false},
		{"a message with a body and attachments round-trips", func(m *Message) { m.Attachments = []*Attachment{attachment(), attachment()} }, false},
		{"more than four attachments are rejected", func(m *Message) {
			for range MaxAttachments + 1 {
				m.Attachments = append(m.Attachments, attachment())
			}
		}, true},
		{"an attachment without a UUID is rejected", func(m *Message) { a := attachment(); a.Id = "x"; m.Attachments = []*Attachment{a} }, true},
		{"an attachment without a name is rejected", func(m *Message) { a := attachment(); a.Name = ""; m.Attachments = []*Attachment{a} }, true},
		{"an attachment without a type is rejected", func(m *Message) { a := attachment(); a.ContentType = ""; m.Attachments = []*Attachment{a} }, true},
		{"an attachment of negative size is rejected", func(m *Message) { a := attachment(); a.SizeBytes = -1; m.Attachments = []*Attachment{a} }, true},
		{"a deletion with attachments is rejected", func(m *Message) { toDeletion(m); m.Attachments = []*Attachment{attachment()} }, true},
		{"a deletion without a body round-trips", toDeletion, false},
		{"a deletion with a body is rejected", func(m *Message) { toDeletion(m); m.Body = "hello" }, true},
		{"a deletion of a non-UUID message is rejected", func(m *Message) { toDeletion(m); m.Deletion.MessageId = "x" }, true},
		{"a deletion naming no message is rejected", func(m *Message) { toDeletion(m); m.Deletion.MessageId = "" }, true},
		{"a deletion without a client id is rejected", func(m *Message) { toDeletion(m); m.ClientMsgId = "" }, true},
		{"a deletion without a timestamp is rejected", func(m *Message) { toDeletion(m); m.CreatedAtUnixMs = 0 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := valid()
			tt.mutate(m)
			b, err := Encode(m)
			if err != nil {
				if !tt.wantErr {
					t.Fatal(err)
				}
				return // the encoder already refuses it (proto3 strings must be UTF-8)
			}
			got, err := Decode(b)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && (got.GetId() != m.GetId() || got.GetBody() != m.GetBody() ||
				IsDeletion(got) != IsDeletion(m) || got.GetDeletion().GetMessageId() != m.GetDeletion().GetMessageId()) {
				t.Fatalf("round trip changed the message: %v", got)
			}
		})
	}
	if _, err := Decode([]byte{0xff, 0xff, 0xff}); err == nil {
		t.Fatal("garbage decoded without error")
	}
}

// attachment returns the metadata of a checked image.
func attachment() *Attachment {
	return &Attachment{Id: uuid.NewString(), Name: "cat.png", ContentType: "image/png", SizeBytes: 1234,
		Width: 640, Height: 480, ThumbWidth: 320, ThumbHeight: 240}
}

// toDeletion turns m into the deletion of another message.
func toDeletion(m *Message) {
	m.Body = ""
	m.Deletion = &Deletion{MessageId: uuid.Must(uuid.NewV7()).String()}
}

func TestRecordFromBeforeDeletionsDecodesAsMessage(t *testing.T) {
	// The bytes an older producer wrote: fields 1 to 8 only, built by hand so the test
	// does not depend on today's generated code.
	id, group, sender := uuid.Must(uuid.NewV7()).String(), uuid.NewString(), uuid.NewString()
	var b []byte
	for _, f := range []struct {
		num protowire.Number
		v   string
	}{{1, id}, {2, group}, {3, sender}, {4, "Ada"}, {5, "c1"}, {6, "hello"}} {
		b = protowire.AppendTag(b, f.num, protowire.BytesType)
		b = protowire.AppendString(b, f.v)
	}
	b = protowire.AppendTag(b, 7, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(time.Now().UnixMilli()))
	b = protowire.AppendTag(b, 8, protowire.VarintType)
	b = protowire.AppendVarint(b, 1)

	m, err := Decode(b)
	if err != nil {
		t.Fatalf("old record refused: %v", err)
	}
	if IsDeletion(m) || m.GetBody() != "hello" || m.GetId() != id || !m.GetSenderGuest() {
		t.Fatalf("old record decoded as %v", m)
	}
}

func TestNewIDIsTimeOrdered(t *testing.T) {
	prev, _ := NewID()
	for i := 0; i < 1000; i++ {
		id, err := NewID()
		if err != nil {
			t.Fatal(err)
		}
		if id.String() <= prev.String() {
			t.Fatalf("id %s not after %s", id, prev)
		}
		prev = id
	}
}
