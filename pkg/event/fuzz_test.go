package event

import (
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
)

// FuzzDecode feeds arbitrary bytes to Decode, the first thing the persister does with a
// Kafka record and realtime with a Redis stream entry. Whatever it accepts must be
// storable (Validate holds) and survive an encode/decode round trip unchanged; whatever it
// refuses must be refused with an error, never a panic. Seeds are in testdata/fuzz.
func FuzzDecode(f *testing.F) {
	for _, m := range []*Message{
		valid(),
		{Id: uuid.Must(uuid.NewV7()).String(), GroupId: uuid.NewString(), SenderId: uuid.NewString(),
			ClientMsgId: "\u00e9\u6f22", Body: "<script>alert(1)</script>'; DROP TABLE messages;--", CreatedAtUnixMs: 1},
		{Id: "not-a-uuid", Body: "x", CreatedAtUnixMs: time.Now().UnixMilli()},
		{Id: uuid.Must(uuid.NewV7()).String(), GroupId: uuid.NewString(), SenderId: uuid.NewString(),
			ClientMsgId: "d1", CreatedAtUnixMs: 1, Deletion: &Deletion{MessageId: uuid.Must(uuid.NewV7()).String()}},
		{Id: uuid.Must(uuid.NewV7()).String(), GroupId: uuid.NewString(), SenderId: uuid.NewString(),
			ClientMsgId: "a1", CreatedAtUnixMs: 1, Attachments: []*Attachment{attachment()}},
	} {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			if m != nil {
				t.Fatalf("Decode returned a message with error %v", err)
			}
			return
		}
		if err := Validate(m); err != nil {
			t.Fatalf("Decode accepted a message Validate refuses: %v", err)
		}
		for name, v := range map[string]string{"sender_name": m.GetSenderName(), "client_msg_id": m.GetClientMsgId(), "body": m.GetBody()} {
			if !utf8.ValidString(v) {
				t.Fatalf("accepted %s that is not UTF-8: %q", name, v)
			}
		}
		if len(m.GetBody()) > MaxBodyBytes || len(m.GetClientMsgId()) > MaxClientIDBytes || len(m.GetSenderName()) > MaxNameBytes {
			t.Fatalf("accepted a field over its limit: %d/%d/%d bytes", len(m.GetBody()), len(m.GetClientMsgId()), len(m.GetSenderName()))
		}
		b, err := Encode(m)
		if err != nil {
			t.Fatalf("accepted message does not encode: %v", err)
		}
		again, err := Decode(b)
		if err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
		if !proto.Equal(m, again) {
			t.Fatalf("round trip changed the message:\n%v\n%v", m, again)
		}
	})
}
