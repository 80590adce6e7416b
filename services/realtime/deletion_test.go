package main

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/pkg/wire"
)

// owner is the group's owner: its member token says so.
func (b *bundle) owner(t testing.TB, group, name string) member {
	t.Helper()
	id := uuid.NewString()
	tok, err := b.signer.Sign(token.Claims{Subject: id, Kind: token.KindMember, GroupID: group, Name: name, Owner: true}, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return member{id: id, name: name, token: tok}
}

// deleteFrame asks to delete a message and returns the reply, of whatever type.
func (c *client) deleteFrame(group, clientMsgID, messageID string) frame {
	c.t.Helper()
	ref := c.ref()
	c.write(wire.ClientFrame{Head: wire.Head{Type: wire.TypeDelete, Ref: ref, GroupID: group}, ClientMsgID: clientMsgID, MessageID: messageID})
	return c.reply(ref)
}

// events returns the next n positioned events of the room (messages, deletions and
// resets), in the order received.
func (c *client) events(group string, n int) []frame {
	c.t.Helper()
	out := make([]frame, 0, n)
	for len(out) < n {
		out = append(out, c.next("room event", func(f frame) bool {
			return (f.Type == wire.TypeMessage || f.Type == wire.TypeDeleted || f.Type == wire.TypeReset) && f.GroupID == group
		}))
	}
	return out
}

func TestOwnerDeletesAMessageForEveryMemberOnEveryInstance(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a, bb := b.start(t, nil), b.start(t, nil)
	group := uuid.NewString()
	olga, gus, rita := b.owner(t, group, "Olga"), b.guest(t, group, "Gus"), b.member(t, group, "Rita")

	owner := dial(t, a.url())
	owner.join(group, olga, nil)
	guest := dial(t, bb.url())
	guest.join(group, gus, nil)
	reader := dial(t, a.url())
	joined := reader.join(group, rita, nil)

	hello := guest.send(group, "g1", "something regrettable")
	kept := guest.send(group, "g2", "something fine")
	start := time.Now()
	ack := owner.deleteFrame(group, "d1", hello.ID)
	if ack.Type != wire.TypeAck || ack.ClientMsgID != "d1" || ack.ID == hello.ID || ack.Offset != 3 || ack.Duplicate {
		t.Fatalf("owner's delete got %+v; want an ack of a new event at offset 3", ack)
	}
	after := guest.send(group, "g3", "after")

	// Every member, on both instances, gets the deletion between the messages around it.
	for name, c := range map[string]*client{"the owner": owner, "the guest": guest, "a member": reader} {
		got := c.events(group, 4)
		for i, want := range []struct {
			typ    string
			offset uint64
		}{{wire.TypeMessage, 1}, {wire.TypeMessage, 2}, {wire.TypeDeleted, 3}, {wire.TypeMessage, 4}} {
			if got[i].Type != want.typ || got[i].Offset != want.offset || got[i].Epoch != ack.Epoch {
				t.Fatalf("%s got event %d %+v; want %s at offset %d", name, i, got[i], want.typ, want.offset)
			}
		}
		d := got[2]
		if d.ID != ack.ID || d.MessageID != hello.ID || d.DeletedBy != olga.id || d.DeletedAt == nil ||
			d.DeletedAt.Before(start.Add(-time.Second)) || d.Message != nil || got[3].msg(t).ID != after.ID {
			t.Fatalf("%s got deletion %+v; want event %s deleting %s by %s", name, d.ServerFrame, ack.ID, hello.ID, olga.id)
		}
	}

	t.Run("a member who rejoins from before the deletion gets it in the replay", func(t *testing.T) {
		c := dial(t, bb.url())
		since := wire.Position{Epoch: joined.Epoch, Offset: 1}
		got := c.join(group, rita, &since)
		if got.Recovered == nil || !*got.Recovered || *got.Missed != 3 {
			t.Fatalf("joined = %+v; want 3 events recovered", got)
		}
		replay := c.events(group, 3)
		if replay[0].msg(t).ID != kept.ID || replay[1].Type != wire.TypeDeleted || replay[1].ID != ack.ID ||
			replay[1].MessageID != hello.ID || replay[1].Offset != 3 || replay[2].msg(t).ID != after.ID {
			t.Fatalf("replay = %+v; want the kept message, the deletion at offset 3, the last message", replay)
		}
	})
	t.Run("a member who is not the owner is forbidden to delete", func(t *testing.T) {
		for name, c := range map[string]*client{"a guest deleting their own message": guest, "a member": reader} {
			if f := c.deleteFrame(group, "x-"+name, kept.ID); f.Type != wire.TypeError || f.Code != wire.CodeForbidden {
				t.Fatalf("%s got %+v; want a forbidden error", name, f.ServerFrame)
			}
		}
	})
	t.Run("the same delete again is acknowledged and produced once", func(t *testing.T) {
		elsewhere := dial(t, bb.url())
		elsewhere.join(group, olga, nil)
		again := elsewhere.deleteFrame(group, "d1", hello.ID)
		if again.Type != wire.TypeAck || again.ID != ack.ID || again.Position != ack.Position || !again.Duplicate {
			t.Fatalf("repeated delete got %+v; want the first ack %+v marked duplicate", again.ServerFrame, ack.ServerFrame)
		}
		marker := guest.send(group, "g4", "marker")
		if f := reader.events(group, 1)[0]; f.Type != wire.TypeMessage || f.msg(t).ID != marker.ID {
			t.Fatalf("after the repeated delete the reader got %+v; want only the next message", f.ServerFrame)
		}
		counts := countRecords(t, b.brokers, b.topic)
		if counts[ack.ID] != 1 || counts[hello.ID] != 1 || len(counts) != 5 {
			t.Fatalf("Kafka records per event id: %v; want exactly one each for 4 messages and 1 deletion", counts)
		}
	})
}
