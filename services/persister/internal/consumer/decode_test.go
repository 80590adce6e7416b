package consumer_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/event"
	"github.com/quickchat-go/quickchat/services/persister/internal/consumer"
)

func TestDecodeKeepsWhetherTheSenderWasAGuest(t *testing.T) {
	for _, guest := range []bool{false, true} {
		t.Run(map[bool]string{false: "an account's message", true: "a guest's message"}[guest], func(t *testing.T) {
			m := chatMessage(t, uuid.New(), "hi")
			m.SenderGuest = guest
			b, err := event.Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			e, err := consumer.Decode(b)
			got := e.Message
			if err != nil || e.Deletion != nil || got.SenderGuest != guest || got.SenderName != "ann" {
				t.Fatalf("Decode = %+v, %v; want sender_guest %v", got, err, guest)
			}
		})
	}
}

func TestDecodeTellsADeletionFromAMessage(t *testing.T) {
	group, target := uuid.New(), uuid.New()
	m := chatMessage(t, group, "")
	m.Deletion = &event.Deletion{MessageId: target.String()}
	b, err := event.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	e, err := consumer.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	d := e.Deletion
	if d == nil {
		t.Fatalf("Decode = %+v, want a deletion", e)
	}
	if d.EventID.String() != m.GetId() || d.MessageID != target || d.GroupID != group ||
		d.DeletedBy.String() != m.GetSenderId() || !d.DeletedAt.Equal(event.CreatedAt(m)) {
		t.Fatalf("deletion = %+v, want the event's ids, sender and time", d)
	}
}

func TestDecodeKeepsTheAttachmentsAMessageCarries(t *testing.T) {
	group, first, second := uuid.New(), uuid.New(), uuid.New()
	m := chatMessage(t, group, "")
	m.Attachments = []*event.Attachment{
		{Id: first.String(), Name: "a.png", ContentType: "image/png", SizeBytes: 10},
		{Id: second.String(), Name: "b.pdf", ContentType: "application/pdf", SizeBytes: 20},
	}
	b, err := event.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	e, err := consumer.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	as := e.Message.Attachments
	if e.Deletion != nil || e.Message.Body != "" || len(as) != 2 || as[0].ID != first || as[1].ID != second || as[0].GroupID != group {
		t.Fatalf("Decode = %+v; want the message with both attachments in order", e)
	}
}
