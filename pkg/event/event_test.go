package event

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
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
			if err == nil && (got.GetId() != m.GetId() || got.GetBody() != m.GetBody()) {
				t.Fatalf("round trip changed the message: %v", got)
			}
		})
	}
	if _, err := Decode([]byte{0xff, 0xff, 0xff}); err == nil {
		t.Fatal("garbage decoded without error")
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
