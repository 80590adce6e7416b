package wire

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func encode(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestEveryServerFrameReadsBackIntoServerFrame(t *testing.T) {
	at := Time{Time: time.Date(2026, 11, 27, 16, 12, 3, 123e6, time.UTC)}
	ada := Client{ClientID: "c1", MemberID: "m1", Name: `Ada "the" <b>`}
	adaJSON := json.RawMessage(encode(t, ada))
	eve := Client{ClientID: "c2", MemberID: "m2", Name: "Eve", Guest: true}
	pos := Position{Epoch: "3k2j1hq0", Offset: 45}
	msg := &Message{ID: "i", GroupID: "g", SenderID: "m1", SenderName: "Ada", ClientMsgID: "c", Body: "hi", CreatedAt: at}
	tests := []struct {
		name  string
		frame any
		want  ServerFrame
	}{
		{"a joined reply without recovery", Joined{Head: Head{Type: TypeJoined, Ref: "1", GroupID: "g"}, ClientID: "c1", Position: Position{Epoch: "e"}},
			ServerFrame{Head: Head{Type: TypeJoined, Ref: "1", GroupID: "g"}, ClientID: "c1", Position: Position{Epoch: "e"}}},
		{"a joined reply with recovery", Joined{Head: Head{Type: TypeJoined, GroupID: "g"}, ClientID: "c1", Position: pos, Recovered: ptr(true), Missed: ptr(3)},
			ServerFrame{Head: Head{Type: TypeJoined, GroupID: "g"}, ClientID: "c1", Position: pos, Recovered: ptr(true), Missed: ptr(3)}},
		{"a left reply", Left{Head{Type: TypeLeft, Ref: "2", GroupID: "g"}},
			ServerFrame{Head: Head{Type: TypeLeft, Ref: "2", GroupID: "g"}}},
		{"an ack", Ack{Head: Head{Type: TypeAck, Ref: "3", GroupID: "g"}, ID: "i", ClientMsgID: "c", Position: pos, Duplicate: true},
			ServerFrame{Head: Head{Type: TypeAck, Ref: "3", GroupID: "g"}, ID: "i", ClientMsgID: "c", Position: pos, Duplicate: true}},
		{"a message", MessageFrame{Head: Head{Type: TypeMessage, GroupID: "g"}, Position: pos, Message: msg},
			ServerFrame{Head: Head{Type: TypeMessage, GroupID: "g"}, Position: pos, Message: msg}},
		{"a message_deleted event", MessageDeleted{Head: Head{Type: TypeDeleted, GroupID: "g"}, ID: "d", MessageID: "i", DeletedBy: "m1", DeletedAt: at, Position: pos},
			ServerFrame{Head: Head{Type: TypeDeleted, GroupID: "g"}, ID: "d", MessageID: "i", DeletedBy: "m1", DeletedAt: &at, Position: pos}},
		{"a reset", Reset{Head: Head{Type: TypeReset, GroupID: "g"}, Position: pos},
			ServerFrame{Head: Head{Type: TypeReset, GroupID: "g"}, Position: pos}},
		{"a presence reply", Presence{Head: Head{Type: TypePresence, Ref: "4", GroupID: "g"}, Clients: []json.RawMessage{adaJSON}},
			ServerFrame{Head: Head{Type: TypePresence, Ref: "4", GroupID: "g"}, Clients: []Client{ada}}},
		{"a presence event", ClientEvent{Head: Head{Type: TypePresenceLeave, GroupID: "g"}, Client: adaJSON},
			ServerFrame{Head: Head{Type: TypePresenceLeave, GroupID: "g"}, Client: &ada}},
		{"a typing event", ClientEvent{Head: Head{Type: TypeTyping, GroupID: "g"}, Client: adaJSON, TTLms: 5000},
			ServerFrame{Head: Head{Type: TypeTyping, GroupID: "g"}, Client: &ada, TTLms: 5000}},
		{"an error", ErrorFrame{Head: Head{Type: TypeError, Ref: "5"}, Code: CodeTooLarge, Detail: "too long"},
			ServerFrame{Head: Head{Type: TypeError, Ref: "5"}, Code: CodeTooLarge, Detail: "too long"}},
		{"a rate_limited error with its wait", ErrorFrame{Head: Head{Type: TypeError, Ref: "7", GroupID: "g"}, Code: CodeRateLimited, Detail: "slow down", RetryAfterMs: 250},
			ServerFrame{Head: Head{Type: TypeError, Ref: "7", GroupID: "g"}, Code: CodeRateLimited, Detail: "slow down", RetryAfterMs: 250}},
		{"a guest's presence event", ClientEvent{Head: Head{Type: TypePresenceJoin, GroupID: "g"}, Client: json.RawMessage(encode(t, eve))},
			ServerFrame{Head: Head{Type: TypePresenceJoin, GroupID: "g"}, Client: &eve}},
		{"a removed frame", Removed{Head: Head{Type: TypeRemoved, GroupID: "g"}, Reason: ReasonBanned},
			ServerFrame{Head: Head{Type: TypeRemoved, GroupID: "g"}, Reason: ReasonBanned}},
		{"a pong", Pong{Head{Type: TypePong, Ref: "6"}},
			ServerFrame{Head: Head{Type: TypePong, Ref: "6"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := encode(t, tt.frame)
			var got ServerFrame
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("%s read back as %+v, want %+v", b, got, tt.want)
			}
		})
	}
}

func TestFramesCarryExactlyTheirDocumentedFields(t *testing.T) {
	tests := []struct {
		name  string
		frame any
		want  string
	}{
		{"a joined reply at offset 0 still has its offset", Joined{Head: Head{Type: TypeJoined, GroupID: "g"}, ClientID: "c", Position: Position{Epoch: "e"}},
			`{"type":"joined","group_id":"g","client_id":"c","epoch":"e","offset":0}`},
		{"an ack that is no duplicate says so", Ack{Head: Head{Type: TypeAck, Ref: "r", GroupID: "g"}, ID: "i", ClientMsgID: "c", Position: Position{Epoch: "e", Offset: 1}},
			`{"type":"ack","ref":"r","group_id":"g","id":"i","client_msg_id":"c","epoch":"e","offset":1,"duplicate":false}`},
		{"a message frame starts with its type and has no ref", MessageFrame{Head: Head{Type: TypeMessage, GroupID: "g"}, Position: Position{Epoch: "e", Offset: 2},
			Message: &Message{ID: "i", GroupID: "g", CreatedAt: Time{Time: time.UnixMilli(1732665600123)}}},
			`{"type":"message","group_id":"g","epoch":"e","offset":2,"message":{"id":"i","group_id":"g","sender_id":"","sender_name":"","client_msg_id":"","body":"","created_at":"2024-11-27T00:00:00.123Z","sender_guest":false}}`},
		{"a message_deleted event names the event, the message, who and when, and its position",
			MessageDeleted{Head: Head{Type: TypeDeleted, GroupID: "g"}, ID: "d", MessageID: "i", DeletedBy: "m", DeletedAt: Time{Time: time.UnixMilli(1732665600123)}, Position: Position{Epoch: "e", Offset: 3}},
			`{"type":"message_deleted","group_id":"g","id":"d","message_id":"i","deleted_by":"m","deleted_at":"2024-11-27T00:00:00.123Z","epoch":"e","offset":3}`},
		{"a delete carries its idempotency key and the message it deletes", ClientFrame{Head: Head{Type: TypeDelete, Ref: "r", GroupID: "g"}, ClientMsgID: "c", MessageID: "i"},
			`{"type":"delete","ref":"r","group_id":"g","client_msg_id":"c","message_id":"i"}`},
		{"an empty presence reply has an empty list", Presence{Head: Head{Type: TypePresence, GroupID: "g"}, Clients: []json.RawMessage{}},
			`{"type":"presence","group_id":"g","clients":[]}`},
		{"an error without a room leaves it out", ErrorFrame{Head: Head{Type: TypeError}, Code: CodeBadFrame, Detail: "no"},
			`{"type":"error","code":"bad_frame","detail":"no"}`},
		{"a join without position leaves since out", ClientFrame{Head: Head{Type: TypeJoin, Ref: "j", GroupID: "g"}, Token: "t"},
			`{"type":"join","ref":"j","group_id":"g","token":"t"}`},
		{"a join with position carries it", ClientFrame{Head: Head{Type: TypeJoin, GroupID: "g"}, Token: "t", Since: &Position{Epoch: "e"}},
			`{"type":"join","group_id":"g","token":"t","since":{"epoch":"e","offset":0}}`},
		{"a removed frame names its room and reason", Removed{Head: Head{Type: TypeRemoved, GroupID: "g"}, Reason: ReasonPasscodeChanged},
			`{"type":"removed","group_id":"g","reason":"passcode_changed"}`},
		{"a presence client says whether it is a guest", Client{ClientID: "c", MemberID: "m", Name: "Eve", Guest: true},
			`{"client_id":"c","member_id":"m","name":"Eve","guest":true}`},
		{"a ping is only its type and ref", ClientFrame{Head: Head{Type: TypePing, Ref: "p"}},
			`{"type":"ping","ref":"p"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(encode(t, tt.frame)); got != tt.want {
				t.Fatalf("encoded\n %s\nwant\n %s", got, tt.want)
			}
		})
	}
}

func TestKnownReasonAcceptsExactlyTheDocumentedReasons(t *testing.T) {
	for _, r := range []string{ReasonRemoved, ReasonBanned, ReasonPasscodeChanged, ReasonLeft} {
		if !KnownReason(r) {
			t.Errorf("KnownReason(%q) = false", r)
		}
	}
	for _, r := range []string{"", "kicked", "Removed"} {
		if KnownReason(r) {
			t.Errorf("KnownReason(%q) = true", r)
		}
	}
}
