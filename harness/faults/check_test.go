package faults

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/quickchat-go/quickchat/harness/chatclient"
	"github.com/quickchat-go/quickchat/pkg/wire"
)

const testRoom = "room-1"

func joined(epoch string, offset uint64, recovered *bool, missed int) chatclient.Frame {
	f := frame(wire.TypeJoined, testRoom, epoch, offset)
	f.Recovered = recovered
	if recovered != nil {
		f.Missed = &missed
	}
	return f
}

func msgFrame(epoch string, offset uint64, id string) chatclient.Frame {
	f := frame(wire.TypeMessage, testRoom, epoch, offset)
	f.Message = &wire.Message{ID: id}
	return f
}

func reset(epoch string, offset uint64) chatclient.Frame {
	return frame(wire.TypeReset, testRoom, epoch, offset)
}

func frame(typ, room, epoch string, offset uint64) chatclient.Frame {
	return chatclient.Frame{ServerFrame: wire.ServerFrame{Head: wire.Head{Type: typ, GroupID: room}, Position: wire.Position{Epoch: epoch, Offset: offset}}}
}

// otherRoom is a message frame of a room the member is not following.
func otherRoom(epoch string, offset uint64, id string) chatclient.Frame {
	f := frame(wire.TypeMessage, "other", epoch, offset)
	f.Message = &wire.Message{ID: id}
	return f
}

func ptr(b bool) *bool { return &b }

// TestMembersFollowTheRoomSequence checks the per-member order check: a member must see
// every offset once, in order, across rejoins, and only a reset or recovered:false may
// move it elsewhere.
func TestMembersFollowTheRoomSequence(t *testing.T) {
	tests := []struct {
		name       string
		frames     []chatclient.Frame
		violations int
		stats      memberStats
		pos        wire.Position
	}{
		{"consecutive messages after a join are in order",
			[]chatclient.Frame{joined("e", 3, nil, 0), msgFrame("e", 4, "a"), msgFrame("e", 5, "b")},
			0, memberStats{}, wire.Position{Epoch: "e", Offset: 5}},
		{"a skipped offset is a violation",
			[]chatclient.Frame{joined("e", 0, nil, 0), msgFrame("e", 1, "a"), msgFrame("e", 3, "c")},
			1, memberStats{}, wire.Position{Epoch: "e", Offset: 3}},
		{"a repeated frame is a violation and does not move the position back",
			[]chatclient.Frame{joined("e", 0, nil, 0), msgFrame("e", 1, "a"), msgFrame("e", 2, "b"), msgFrame("e", 1, "a"), msgFrame("e", 3, "c")},
			1, memberStats{}, wire.Position{Epoch: "e", Offset: 3}},
		{"a recovered rejoin continues where the member was",
			[]chatclient.Frame{joined("e", 0, nil, 0), msgFrame("e", 1, "a"), joined("e", 3, ptr(true), 2), msgFrame("e", 2, "b"), msgFrame("e", 3, "c"), msgFrame("e", 4, "d")},
			0, memberStats{Rejoins: 1, Recovered: 1, Replayed: 2}, wire.Position{Epoch: "e", Offset: 4}},
		{"a recovered rejoin that skips a message is a violation",
			[]chatclient.Frame{joined("e", 0, nil, 0), msgFrame("e", 1, "a"), joined("e", 3, ptr(true), 1), msgFrame("e", 3, "c")},
			1, memberStats{Rejoins: 1, Recovered: 1, Replayed: 1}, wire.Position{Epoch: "e", Offset: 3}},
		{"a reset moves the member to a new epoch",
			[]chatclient.Frame{joined("e", 0, nil, 0), msgFrame("e", 1, "a"), reset("f", 0), msgFrame("f", 1, "b")},
			0, memberStats{Resets: 1}, wire.Position{Epoch: "f", Offset: 1}},
		{"a new epoch without a reset is a violation",
			[]chatclient.Frame{joined("e", 0, nil, 0), msgFrame("e", 1, "a"), msgFrame("f", 1, "b")},
			1, memberStats{}, wire.Position{Epoch: "f", Offset: 1}},
		{"an unrecovered rejoin moves the member to the room's position",
			[]chatclient.Frame{joined("e", 0, nil, 0), msgFrame("e", 1, "a"), joined("f", 7, ptr(false), 0), msgFrame("f", 8, "b")},
			0, memberStats{Rejoins: 1, Unrecovered: 1}, wire.Position{Epoch: "f", Offset: 8}},
		{"frames of other rooms are ignored",
			[]chatclient.Frame{joined("e", 0, nil, 0), otherRoom("x", 9, "z"), msgFrame("e", 1, "a")},
			0, memberStats{}, wire.Position{Epoch: "e", Offset: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMember(0, &room{id: testRoom}, "Ada", "", nil, nil, newLedger())
			for _, f := range tt.frames {
				m.observe(f)
			}
			rec := m.record()
			if len(rec.order) != tt.violations {
				t.Errorf("violations = %q, want %d", rec.order, tt.violations)
			}
			got := rec.stats
			got.SendErrors, tt.stats.SendErrors = nil, nil
			if !reflect.DeepEqual(got, tt.stats) {
				t.Errorf("stats = %+v, want %+v", got, tt.stats)
			}
			if got := m.position(); got != tt.pos {
				t.Errorf("position = %+v, want %+v", got, tt.pos)
			}
		})
	}
}

// TestEvaluationFlagsEveryBrokenGuarantee starts from a run in which everything held and
// breaks one thing at a time: each must turn into a problem, so the fault tests can fail.
func TestEvaluationFlagsEveryBrokenGuarantee(t *testing.T) {
	type run struct {
		degraded  bool
		msgs      []sentMessage
		rows      map[string][]storedRow
		members   []memberRecord
		conflicts []string
	}
	baseline := func() *run {
		r := &run{rows: map[string][]storedRow{}}
		for i, id := range []string{"a", "b", "c"} {
			m := sentMessage{cid: "c" + id, room: testRoom, body: "body " + id, acked: true, id: id,
				pos: wire.Position{Epoch: "e", Offset: uint64(i + 1)}, ackedAt: time.Now()}
			r.msgs = append(r.msgs, m)
			r.rows[m.cid] = []storedRow{{id: id, groupID: testRoom, clientMsgID: m.cid, body: m.body}}
		}
		for _, name := range []string{"Ada", "Bob"} {
			r.members = append(r.members, memberRecord{name: name, room: testRoom, base: wire.Position{Epoch: "e"},
				got: map[string]int{"a": 1, "b": 1, "c": 1}})
		}
		return r
	}
	tests := []struct {
		name  string
		edit  func(*run)
		wants string // substring of a problem; empty: no problem
	}{
		{"a run where everything held passes", func(*run) {}, ""},
		{"an acknowledged message missing from storage is lost", func(r *run) { delete(r.rows, "cb") }, "not stored"},
		{"a message stored twice is a duplicate", func(r *run) {
			r.rows["cb"] = append(r.rows["cb"], storedRow{id: "b2", groupID: testRoom, clientMsgID: "cb", body: "body b"})
		}, "store a message twice"},
		{"a message stored with other bytes is caught", func(r *run) { r.rows["cc"][0].body = "&lt;changed&gt;" }, "other bytes"},
		{"a message stored under another id is caught", func(r *run) { r.rows["cc"][0].id = "zz" }, "another id"},
		{"a message never acknowledged is reported", func(r *run) { r.msgs = append(r.msgs, sentMessage{cid: "cd", room: testRoom}) }, "never acknowledged"},
		{"a member silently missing a message fails", func(r *run) { delete(r.members[1].got, "b") }, "without the server saying so"},
		{"a member getting a message twice fails", func(r *run) { r.members[0].got["a"] = 2 }, "delivered twice"},
		{"an out-of-order frame fails", func(r *run) { r.members[0].order = []string{"message at e/3 after e/1"} }, "out of room order"},
		{"acks that disagree fail", func(r *run) { r.conflicts = []string{"cb acked as b then as b2"} }, "disagree"},
		{"a member told to reload where recovery is promised fails", func(r *run) {
			r.members[1].stats.Resets = 1
			delete(r.members[1].got, "b")
			r.members[1].history = map[string]bool{"a": true, "b": true, "c": true}
		}, "told to reload"},
		{"a member told to reload that finds the message in history passes when degraded", func(r *run) {
			r.degraded = true
			r.members[1].stats.Unrecovered = 1
			delete(r.members[1].got, "b")
			r.members[1].history = map[string]bool{"a": true, "b": true, "c": true}
		}, ""},
		{"a member told to reload that cannot find the message anywhere fails", func(r *run) {
			r.degraded = true
			r.members[1].stats.Resets = 1
			delete(r.members[1].got, "b")
			r.members[1].history = map[string]bool{"a": true}
		}, "without the server saying so"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := baseline()
			tt.edit(r)
			res := &Result{Scenario: Scenario{Degraded: r.degraded}}
			evaluate(res, r.msgs, r.rows, r.members, r.conflicts)
			got := strings.Join(res.Problems, "\n")
			switch {
			case tt.wants == "" && got != "":
				t.Fatalf("problems in a run that held: %s", got)
			case tt.wants != "" && !strings.Contains(got, tt.wants):
				t.Fatalf("problems %q do not mention %q", got, tt.wants)
			}
		})
	}
}

// TestReportSaysWhatFailed checks that the Markdown names failures and degraded runs.
func TestReportSaysWhatFailed(t *testing.T) {
	ok := &Result{Scenario: Scenario{Name: "ok", Title: "Fine"}, Acked: 3, Stored: 3}
	degraded := &Result{Scenario: Scenario{Name: "deg", Title: "Degraded", Degraded: true}, Acked: 3, Stored: 3, DegradedMembers: 2}
	bad := &Result{Scenario: Scenario{Name: "bad", Title: "Broken"}, Acked: 3, Stored: 2, Lost: 1, Problems: []string{"1 acknowledged messages are not stored | x"}}
	var b strings.Builder
	rep := &Report{Command: "test", Results: []*Result{ok, degraded, bad}, Failed: map[string]string{"Crashed": "could not start"}}
	if err := rep.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"| [Fine](#ok) |", "held; 2 members reloaded history", "**FAILED**", `not stored \| x`, "**not run**: could not start", "**Degraded by design.**"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
