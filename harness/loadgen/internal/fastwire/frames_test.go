package fastwire

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/quickchat-go/quickchat/pkg/wire"
)

func TestAppendedFramesReadAsTheProtocolsClientFrames(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
		want  wire.ClientFrame
	}{
		{
			name:  "a join without recovery",
			frame: AppendJoin(nil, "j1", "g", `tok"en`, nil),
			want:  wire.ClientFrame{Head: wire.Head{Type: wire.TypeJoin, Ref: "j1", GroupID: "g"}, Token: `tok"en`},
		},
		{
			name:  "a join with recovery carries since",
			frame: AppendJoin(nil, "j2", "g", "t", &wire.Position{Epoch: "ep", Offset: 41}),
			want:  wire.ClientFrame{Head: wire.Head{Type: wire.TypeJoin, Ref: "j2", GroupID: "g"}, Token: "t", Since: &wire.Position{Epoch: "ep", Offset: 41}},
		},
		{
			name:  "a send",
			frame: AppendSend(nil, "s1", "g", "w1-7", []byte("hello")),
			want:  wire.ClientFrame{Head: wire.Head{Type: wire.TypeSend, Ref: "s1", GroupID: "g"}, ClientMsgID: "w1-7", Body: "hello"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got wire.ClientFrame
			if err := json.Unmarshal(tt.frame, &got); err != nil {
				t.Fatalf("%s: %v", tt.frame, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("%s reads as %+v, want %+v", tt.frame, got, tt.want)
			}
		})
	}
}

func TestBodyCarriesTheSendTimeAndHasTheAskedSize(t *testing.T) {
	at := time.Unix(1732665600, 123456789)
	body := AppendBody(nil, at, 100)
	if len(body) != 100 {
		t.Fatalf("len = %d, want 100", len(body))
	}
	if got := SentAt(body); !got.Equal(at) {
		t.Fatalf("SentAt = %v, want %v", got, at)
	}
	if got := SentAt([]byte("Hello!")); !got.IsZero() {
		t.Fatalf("SentAt of a foreign body = %v, want zero", got)
	}
}

// messageFrame is a message frame encoded from the protocol's own types, as the realtime
// service encodes it.
func messageFrame(tb testing.TB) []byte {
	tb.Helper()
	b, err := json.Marshal(wire.MessageFrame{
		Head:     wire.Head{Type: wire.TypeMessage, GroupID: "0b9d"},
		Position: wire.Position{Epoch: "3k2j1hq0", Offset: 45},
		Message: &wire.Message{ID: "0193", GroupID: "0b9d", SenderID: "6f1c", SenderName: `Ada "the" first`, ClientMsgID: "w1-7",
			Body: "lg 1732665600123456789 xxxxx", CreatedAt: wire.Time{Time: time.UnixMilli(1732665600123)}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestParseMessageFindsPositionAndSendTime(t *testing.T) {
	frame := messageFrame(t)
	m, err := ParseMessage(frame)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Epoch) != "3k2j1hq0" || m.Offset != 45 {
		t.Fatalf("position = %s/%d, want 3k2j1hq0/45", m.Epoch, m.Offset)
	}
	if want := time.Unix(0, 1732665600123456789); !m.SentAt.Equal(want) {
		t.Fatalf("SentAt = %v, want %v", m.SentAt, want)
	}
	if got := string(Type(frame)); got != wire.TypeMessage {
		t.Fatalf("Type = %q", got)
	}
}

func TestParseMessageRejectsAFrameWithoutPosition(t *testing.T) {
	if _, err := ParseMessage([]byte(strings.Replace(string(messageFrame(t)), `"offset":45,`, "", 1))); err == nil {
		t.Fatal("want an error")
	}
}

func TestParseFrameDecodesErrorsAndAcks(t *testing.T) {
	for _, tt := range []struct {
		name  string
		frame any
		want  wire.ServerFrame
	}{
		{"an error", wire.ErrorFrame{Head: wire.Head{Type: wire.TypeError, Ref: "s1", GroupID: "g"}, Code: wire.CodeRateLimited, Detail: "slow down"},
			wire.ServerFrame{Head: wire.Head{Type: wire.TypeError, Ref: "s1", GroupID: "g"}, Code: wire.CodeRateLimited, Detail: "slow down"}},
		{"a duplicate ack", wire.Ack{Head: wire.Head{Type: wire.TypeAck, Ref: "s2", GroupID: "g"}, ID: "i", ClientMsgID: "c", Position: wire.Position{Epoch: "e", Offset: 9}, Duplicate: true},
			wire.ServerFrame{Head: wire.Head{Type: wire.TypeAck, Ref: "s2", GroupID: "g"}, ID: "i", ClientMsgID: "c", Position: wire.Position{Epoch: "e", Offset: 9}, Duplicate: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.frame)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseFrame(b)
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseFrame(%s) = %+v, %v; want %+v", b, got, err, tt.want)
			}
		})
	}
}
