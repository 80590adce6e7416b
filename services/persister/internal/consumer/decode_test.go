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
			got, err := consumer.Decode(b)
			if err != nil || got.SenderGuest != guest || got.SenderName != "ann" {
				t.Fatalf("Decode = %+v, %v; want sender_guest %v", got, err, guest)
			}
		})
	}
}
