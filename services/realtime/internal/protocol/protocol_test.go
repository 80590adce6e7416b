package protocol

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/wire"
)

var testLimits = Limits{MaxBodyBytes: 4096}

func TestDecode(t *testing.T) {
	tests := []struct {
		name     string
		frame    string
		wantCode string // "" for a valid frame
		wantRef  string
	}{
		{"a ping needs nothing else", `{"type":"ping","ref":"1"}`, "", "1"},
		{"a join with token and position is valid", `{"type":"join","group_id":"g","token":"t","since":{"epoch":"e","offset":7}}`, "", ""},
		{"a join without position is valid", `{"type":"join","group_id":"g","token":"t"}`, "", ""},
		{"a send with body and client id is valid", `{"type":"send","group_id":"g","client_msg_id":"c1","body":"hi"}`, "", ""},
		{"unknown fields are ignored", `{"type":"ping","future":true}`, "", ""},
		{"typing and presence need only the room", `{"type":"typing","group_id":"g"}`, "", ""},
		{"text that is not JSON is a bad frame", `hello`, wire.CodeBadFrame, ""},
		{"a JSON array is a bad frame", `[1,2]`, wire.CodeBadFrame, ""},
		{"JSON null has no type", `null`, wire.CodeBadFrame, ""},
		{"trailing data is a bad frame", `{"type":"ping"} {}`, wire.CodeBadFrame, ""},
		{"a missing type is a bad frame", `{"ref":"x"}`, wire.CodeBadFrame, "x"},
		{"an unknown type is reported as such", `{"type":"shout","ref":"r"}`, wire.CodeUnknownType, "r"},
		{"a type of the wrong JSON kind is a bad frame", `{"type":5}`, wire.CodeBadFrame, ""},
		{"a long ref is a bad frame and not echoed", `{"type":"ping","ref":"` + strings.Repeat("r", 65) + `"}`, wire.CodeBadFrame, ""},
		{"a join without token is a bad frame", `{"type":"join","group_id":"g","ref":"j"}`, wire.CodeBadFrame, "j"},
		{"a join without room is a bad frame", `{"type":"join","token":"t"}`, wire.CodeBadFrame, ""},
		{"a position without epoch is a bad frame", `{"type":"join","group_id":"g","token":"t","since":{"offset":3}}`, wire.CodeBadFrame, ""},
		{"a negative offset is a bad frame", `{"type":"join","group_id":"g","token":"t","since":{"epoch":"e","offset":-1}}`, wire.CodeBadFrame, ""},
		{"a send without client id is a bad frame", `{"type":"send","group_id":"g","body":"x"}`, wire.CodeBadFrame, ""},
		{"an empty body is a bad frame", `{"type":"send","group_id":"g","client_msg_id":"c","body":""}`, wire.CodeBadFrame, ""},
		{"a blank body is a bad frame", `{"type":"send","group_id":"g","client_msg_id":"c","body":" \n\t"}`, wire.CodeBadFrame, ""},
		{"a body with NUL is a bad frame", `{"type":"send","group_id":"g","client_msg_id":"c","body":"a\u0000b"}`, wire.CodeBadFrame, ""},
		{"a body over the limit is too large", `{"type":"send","group_id":"g","client_msg_id":"c","body":"` + strings.Repeat("a", 4097) + `"}`, wire.CodeTooLarge, ""},
		{"a send with only attachments is valid", `{"type":"send","group_id":"g","client_msg_id":"c","attachments":["r1"]}`, "", ""},
		{"a send with a body and attachments is valid", `{"type":"send","group_id":"g","client_msg_id":"c","body":"hi","attachments":["r1","r2"]}`, "", ""},
		{"a blank body beside attachments is a bad frame", `{"type":"send","group_id":"g","client_msg_id":"c","body":" ","attachments":["r1"]}`, wire.CodeBadFrame, ""},
		{"five attachments are a bad frame", `{"type":"send","group_id":"g","client_msg_id":"c","attachments":["a","b","c","d","e"]}`, wire.CodeBadFrame, ""},
		{"an empty attachment reference is a bad frame", `{"type":"send","group_id":"g","client_msg_id":"c","attachments":[""]}`, wire.CodeBadFrame, ""},
		{"an oversized attachment reference is a bad frame", `{"type":"send","group_id":"g","client_msg_id":"c","attachments":["` + strings.Repeat("r", 3073) + `"]}`, wire.CodeBadFrame, ""},
		{"attachments that are not strings are a bad frame", `{"type":"send","group_id":"g","client_msg_id":"c","attachments":[1]}`, wire.CodeBadFrame, ""},
		{"a body at the limit is fine", `{"type":"send","group_id":"g","client_msg_id":"c","body":"` + strings.Repeat("a", 4096) + `"}`, "", ""},
		{"a long client id is a bad frame", `{"type":"send","group_id":"g","client_msg_id":"` + strings.Repeat("c", 129) + `","body":"x"}`, wire.CodeBadFrame, ""},
		{"a long room id is a bad frame", `{"type":"leave","group_id":"` + strings.Repeat("g", 65) + `"}`, wire.CodeBadFrame, ""},
		{"a delete naming a message by its UUID is valid", `{"type":"delete","group_id":"g","client_msg_id":"d1","message_id":"0193f0a2-7b1c-7def-8123-456789abcdef"}`, "", ""},
		{"a delete without client id is a bad frame", `{"type":"delete","ref":"d","group_id":"g","message_id":"0193f0a2-7b1c-7def-8123-456789abcdef"}`, wire.CodeBadFrame, "d"},
		{"a delete without message id is a bad frame", `{"type":"delete","group_id":"g","client_msg_id":"d1"}`, wire.CodeBadFrame, ""},
		{"a delete of a non-UUID is a bad frame", `{"type":"delete","group_id":"g","client_msg_id":"d1","message_id":"42"}`, wire.CodeBadFrame, ""},
		{"a delete of a UUID in another form is a bad frame", `{"type":"delete","group_id":"g","client_msg_id":"d1","message_id":"0193F0A2-7B1C-7DEF-8123-456789ABCDEF"}`, wire.CodeBadFrame, ""},
		{"a delete without room is a bad frame", `{"type":"delete","client_msg_id":"d1","message_id":"0193f0a2-7b1c-7def-8123-456789abcdef"}`, wire.CodeBadFrame, ""},
		{"invalid UTF-8 is a bad frame", "{\"type\":\"send\",\"group_id\":\"g\",\"client_msg_id\":\"c\",\"body\":\"\xff\"}", wire.CodeBadFrame, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Decode([]byte(tt.frame), testLimits)
			switch {
			case tt.wantCode == "" && err != nil:
				t.Fatalf("Decode = %v, want no error", err)
			case tt.wantCode != "" && err == nil:
				t.Fatalf("Decode succeeded, want %s", tt.wantCode)
			case err != nil && err.Code != tt.wantCode:
				t.Fatalf("code = %s (%s), want %s", err.Code, err.Detail, tt.wantCode)
			}
			if f.Ref != tt.wantRef {
				t.Fatalf("ref = %q, want %q", f.Ref, tt.wantRef)
			}
			if err != nil && !utf8.ValidString(err.Detail) {
				t.Fatalf("error detail is not UTF-8: %q", err.Detail)
			}
		})
	}
}

func TestServerFramesAreValidJSONWithTheirType(t *testing.T) {
	pos := wire.Position{Epoch: "e1", Offset: 3}
	yes := true
	client := EncodeClient(wire.Client{ClientID: "c", MemberID: "m", Name: "Ada \"the\" <b>"})
	frames := map[string][]byte{
		wire.TypeJoined:        Joined("r", "g", "c", pos, &yes, 2),
		wire.TypeLeft:          Left("r", "g"),
		wire.TypeAck:           Ack("r", "g", "id", "cm", pos, true),
		wire.TypeMessage:       MessageFrame(pos, &wire.Message{ID: "id", GroupID: "g", Body: "hi"}),
		wire.TypeReset:         Reset("g", pos),
		wire.TypeDeleted:       Deleted(pos, "g", "id", "mid", "m", time.UnixMilli(1)),
		wire.TypePresence:      Presence("r", "g", [][]byte{client, []byte("{broken")}),
		wire.TypePresenceJoin:  PresenceEvent(wire.TypePresenceJoin, "g", client),
		wire.TypePresenceLeave: PresenceEvent(wire.TypePresenceLeave, "g", []byte("not json")),
		wire.TypeTyping:        Typing("g", client, 5000),
		wire.TypeError:         ErrorFrame("r", "g", &Error{Code: wire.CodeForbidden, Detail: "no"}),
		wire.TypePong:          Pong("r"),
		wire.TypeRemoved:       Removed("g", wire.ReasonBanned),
	}
	for typ, b := range frames {
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s frame is not JSON: %v: %s", typ, err, b)
		}
		if v["type"] != typ {
			t.Fatalf("%s frame has type %v", typ, v["type"])
		}
	}
	var p struct{ Clients []wire.Client }
	if err := json.Unmarshal(frames[wire.TypePresence], &p); err != nil || len(p.Clients) != 1 || p.Clients[0].Name != `Ada "the" <b>` {
		t.Fatalf("presence reply kept %+v (%v); want only the valid client", p.Clients, err)
	}
	var j struct {
		Offset    uint64
		Recovered *bool
		Missed    *int
	}
	if err := json.Unmarshal(Joined("", "g", "c", wire.Position{Epoch: "e"}, nil, 0), &j); err != nil || j.Recovered != nil || j.Missed != nil {
		t.Fatalf("joined without recovery = %+v (%v); want no recovered and missed fields", j, err)
	}
}

func TestRemovedFramesCarryOnlyDocumentedReasons(t *testing.T) {
	tests := []struct {
		name, reason, want string
	}{
		{"a known reason is kept", wire.ReasonPasscodeChanged, wire.ReasonPasscodeChanged},
		{"an unknown reason reads as removed", "<script>", wire.ReasonRemoved},
		{"no reason reads as removed", "", wire.ReasonRemoved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f wire.ServerFrame
			if err := json.Unmarshal(Removed("g", tt.reason), &f); err != nil {
				t.Fatal(err)
			}
			if f.Type != wire.TypeRemoved || f.GroupID != "g" || f.Reason != tt.want {
				t.Fatalf("frame = %+v, want reason %q", f, tt.want)
			}
		})
	}
}

func TestRateLimitedErrorsSayHowLongToWaitRoundedUp(t *testing.T) {
	tests := []struct {
		name  string
		after time.Duration
		want  int64
	}{
		{"no wait leaves the field out", 0, 0},
		{"a whole number of milliseconds stays", 250 * time.Millisecond, 250},
		{"a fraction of a millisecond rounds up", 1500 * time.Microsecond, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f wire.ServerFrame
			if err := json.Unmarshal(ErrorFrame("r", "g", &Error{Code: wire.CodeRateLimited, Detail: "slow down", RetryAfter: tt.after}), &f); err != nil {
				t.Fatal(err)
			}
			if f.RetryAfterMs != tt.want {
				t.Fatalf("retry_after_ms = %d, want %d", f.RetryAfterMs, tt.want)
			}
		})
	}
}

// FuzzDecode checks that no input panics the decoder and that whatever it accepts
// satisfies the limits the rest of the server relies on. Seeds are in testdata/fuzz.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"type":"send","group_id":"g","client_msg_id":"c","body":"hi"}`))
	f.Add([]byte(`{"type":"send","group_id":"g","client_msg_id":"c","attachments":["eyJ.x.y"]}`))
	f.Add([]byte(`{"type":"delete","group_id":"g","client_msg_id":"c","message_id":"0193f0a2-7b1c-7def-8123-456789abcdef"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := Decode(data, testLimits)
		if len(fr.Ref) > MaxRefBytes {
			t.Fatalf("ref of %d bytes returned", len(fr.Ref))
		}
		if err != nil {
			if err.Code == "" || !utf8.ValidString(err.Detail) {
				t.Fatalf("malformed error %+v", err)
			}
			_ = ErrorFrame(fr.Ref, fr.GroupID, err) // must encode without panicking
			return
		}
		switch fr.Type {
		case wire.TypePing:
			return
		case wire.TypeJoin, wire.TypeLeave, wire.TypeSend, wire.TypeDelete, wire.TypeTyping, wire.TypePresence:
		default:
			t.Fatalf("accepted unknown type %q", fr.Type)
		}
		if fr.GroupID == "" || len(fr.GroupID) > MaxGroupIDBytes {
			t.Fatalf("accepted group_id %q", fr.GroupID)
		}
		if fr.Type == wire.TypeJoin && (fr.Token == "" || len(fr.Token) > MaxTokenBytes ||
			fr.Since != nil && (fr.Since.Epoch == "" || len(fr.Since.Epoch) > MaxEpochBytes)) {
			t.Fatalf("accepted join %+v", fr)
		}
		if fr.Type == wire.TypeSend {
			blank := strings.TrimSpace(fr.Body) == "" && (fr.Body != "" || len(fr.Attachments) == 0)
			if blank || len(fr.Body) > testLimits.MaxBodyBytes || !utf8.ValidString(fr.Body) ||
				strings.ContainsRune(fr.Body, 0) || fr.ClientMsgID == "" || len(fr.ClientMsgID) > MaxClientIDBytes ||
				len(fr.Attachments) > MaxAttachments {
				t.Fatalf("accepted send %+v", fr)
			}
			for _, ref := range fr.Attachments {
				if ref == "" || len(ref) > MaxAttachmentRefBytes {
					t.Fatalf("accepted an attachment reference of %d bytes", len(ref))
				}
			}
		}
		if fr.Type == wire.TypeDelete {
			u, err := uuid.Parse(fr.MessageID)
			if err != nil || u.String() != fr.MessageID || fr.ClientMsgID == "" || len(fr.ClientMsgID) > MaxClientIDBytes ||
				strings.ContainsRune(fr.ClientMsgID, 0) {
				t.Fatalf("accepted delete %+v", fr)
			}
		}
	})
}

// Found by a client written from docs/protocol.md alone (issue 18): a wrongly typed field
// was answered without the frame's ref, so the client's wait for that ref timed out.
func TestAWronglyTypedFieldIsNamedAndTheRefEchoed(t *testing.T) {
	for _, tc := range []struct {
		frame, field string
	}{
		{`{"type":"send","ref":"r1","group_id":"g","client_msg_id":"c","body":42}`, "body"},
		{`{"type":"send","ref":"r1","group_id":"g","client_msg_id":7,"body":"hi"}`, "client_msg_id"},
		{`{"type":"join","ref":"r1","group_id":"g","token":"t","since":{"epoch":"e","offset":-1}}`, "since.offset"},
		{`{"type":"join","ref":"r1","group_id":"g","token":"t","since":"3"}`, "since"},
	} {
		f, err := Decode([]byte(tc.frame), testLimits)
		if err == nil || err.Code != wire.CodeBadFrame {
			t.Fatalf("Decode(%s) = %v, want bad_frame", tc.frame, err)
		}
		if f.Ref != "r1" || f.GroupID != "g" {
			t.Errorf("Decode(%s) kept ref %q and group_id %q, want r1 and g", tc.frame, f.Ref, f.GroupID)
		}
		if !strings.HasPrefix(err.Detail, tc.field+" must be ") {
			t.Errorf("Decode(%s) detail = %q, want it to name %s", tc.frame, err.Detail, tc.field)
		}
	}
}
