package wire

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestAppendedFramesAreTheProtocolsJSON(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
		want  map[string]any
	}{
		{
			name:  "a join without recovery",
			frame: AppendJoin(nil, "j1", "g", `tok"en`, nil),
			want:  map[string]any{"type": "join", "ref": "j1", "group_id": "g", "token": `tok"en`},
		},
		{
			name:  "a join with recovery carries since",
			frame: AppendJoin(nil, "j2", "g", "t", &Position{Epoch: "ep", Offset: 41}),
			want: map[string]any{"type": "join", "ref": "j2", "group_id": "g", "token": "t",
				"since": map[string]any{"epoch": "ep", "offset": float64(41)}},
		},
		{
			name:  "a send",
			frame: AppendSend(nil, "s1", "g", "w1-7", []byte("hello")),
			want:  map[string]any{"type": "send", "ref": "s1", "group_id": "g", "client_msg_id": "w1-7", "body": "hello"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got map[string]any
			if err := json.Unmarshal(tt.frame, &got); err != nil {
				t.Fatalf("%s: %v", tt.frame, err)
			}
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(tt.want)
			if string(gj) != string(wj) {
				t.Fatalf("frame = %s, want %s", gj, wj)
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

// A message frame exactly as the realtime service encodes it.
const messageFrame = `{"type":"message","group_id":"0b9d","epoch":"3k2j1hq0","offset":45,"message":{"id":"0193","group_id":"0b9d","sender_id":"6f1c","sender_name":"Ada \"the\" first","client_msg_id":"w1-7","body":"lg 1732665600123456789 xxxxx","created_at":1732665600123}}`

func TestParseMessageFindsPositionAndSendTime(t *testing.T) {
	m, err := ParseMessage([]byte(messageFrame))
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Epoch) != "3k2j1hq0" || m.Offset != 45 {
		t.Fatalf("position = %s/%d, want 3k2j1hq0/45", m.Epoch, m.Offset)
	}
	if want := time.Unix(0, 1732665600123456789); !m.SentAt.Equal(want) {
		t.Fatalf("SentAt = %v, want %v", m.SentAt, want)
	}
	if got := string(Type([]byte(messageFrame))); got != "message" {
		t.Fatalf("Type = %q", got)
	}
}

func TestParseMessageRejectsAFrameWithoutPosition(t *testing.T) {
	if _, err := ParseMessage([]byte(strings.Replace(messageFrame, `"offset":45,`, "", 1))); err == nil {
		t.Fatal("want an error")
	}
}

func TestParseReplyDecodesErrorsAndAcks(t *testing.T) {
	r, err := ParseReply([]byte(`{"type":"error","ref":"s1","group_id":"g","code":"rate_limited","message":"slow down"}`))
	if err != nil || r.Code != "rate_limited" || r.Ref != "s1" {
		t.Fatalf("error frame = %+v, %v", r, err)
	}
	r, err = ParseReply([]byte(`{"type":"ack","ref":"s2","group_id":"g","id":"i","client_msg_id":"c","epoch":"e","offset":9,"duplicate":true}`))
	if err != nil || r.Offset != 9 || !r.Duplicate || r.Epoch != "e" {
		t.Fatalf("ack frame = %+v, %v", r, err)
	}
}
