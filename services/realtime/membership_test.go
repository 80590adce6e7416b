package main

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/redis/rueidis"

	"github.com/quickchat-go/quickchat/pkg/roomredis"
	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/pkg/wire"
)

// removalDeadline is how soon after a revocation every socket of a revoked member must
// have its removed frame and be closed: the product's promise, so asserted.
const removalDeadline = time.Second

// guest is a member without an account: its token says so.
func (b *bundle) guest(t testing.TB, group, name string) member {
	t.Helper()
	id := uuid.NewString()
	tok, err := b.signer.Sign(token.Claims{Subject: id, Kind: token.KindMember, GroupID: group, Name: name, Guest: true}, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return member{id: id, name: name, token: tok}
}

// revoker revokes as the gateway does: a roomredis.Revoker over the instances' prefix
// and shards.
func (b *bundle) revoker(t testing.TB) *roomredis.Revoker {
	t.Helper()
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{b.redisAddr}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	cfg := b.config(t)
	r, err := roomredis.NewRevoker(client, roomredis.Layout{Prefix: cfg.RedisPrefix, Shards: cfg.StreamShards})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// removed waits for the room's removed frame and for the server to close the connection,
// and returns the frame and the close code. Both must come within removalDeadline of
// since.
func (c *client) removed(group string, since time.Time) (frame, websocket.StatusCode) {
	c.t.Helper()
	f := c.next("removed frame", func(f frame) bool { return f.Type == wire.TypeRemoved && f.GroupID == group })
	if d := time.Since(since); d > removalDeadline {
		c.t.Errorf("removed frame came %v after the revocation; want within %v", d, removalDeadline)
	}
	select {
	case <-c.done:
	case <-time.After(hang):
		c.t.Fatal("connection not closed after its removed frame")
	}
	if d := time.Since(since); d > removalDeadline {
		c.t.Errorf("connection closed %v after the revocation; want within %v", d, removalDeadline)
	}
	return f, websocket.CloseStatus(c.err)
}

// replyOrEnd returns the reply to ref, or ok false if the connection ended first.
func (c *client) replyOrEnd(ref string) (f frame, ok bool) {
	c.t.Helper()
	match := func(f frame) bool { return f.Ref == ref }
	if i := slices.IndexFunc(c.pending, match); i >= 0 {
		f := c.pending[i]
		c.pending = slices.Delete(c.pending, i, i+1)
		return f, true
	}
	for {
		select {
		case f := <-c.frames:
			if match(f) {
				return f, true
			}
			c.pending = append(c.pending, f)
		case <-c.done:
			for {
				select {
				case f := <-c.frames:
					if match(f) {
						return f, true
					}
					c.pending = append(c.pending, f)
				default:
					return frame{}, false
				}
			}
		case <-time.After(hang):
			c.t.Fatalf("no reply to %s in %s", ref, hang)
		}
	}
}

// joinRefused joins with m's token and returns the error code of the refusal.
func (c *client) joinRefused(group string, m member) string {
	c.t.Helper()
	ref := c.ref()
	c.write(wire.ClientFrame{Head: wire.Head{Type: wire.TypeJoin, Ref: ref, GroupID: group}, Token: m.token})
	f := c.reply(ref)
	if f.Type != wire.TypeError {
		c.t.Fatalf("join with %s's token got %s, want an error", m.name, f.Type)
	}
	return f.Code
}

// sendFrame sends a message without waiting for the reply and returns its ref.
func (c *client) sendFrame(group, clientMsgID, body string) string {
	c.t.Helper()
	ref := c.ref()
	c.write(wire.ClientFrame{Head: wire.Head{Type: wire.TypeSend, Ref: ref, GroupID: group}, ClientMsgID: clientMsgID, Body: body})
	return ref
}

func TestRevokedMemberIsRemovedFromEveryInstanceAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	instA, instB := b.start(t, nil), b.start(t, nil)
	revoker := b.revoker(t)
	group, other := uuid.NewString(), uuid.NewString()
	adaM, eveM, eveOtherM := b.member(t, group, "Ada"), b.guest(t, group, "Eve"), b.guest(t, other, "Eve")

	ada := dial(t, instA.url())
	ada.join(group, adaM, nil)
	// Eve is on B, and in a second tab on A, which is in another room too.
	eve := dial(t, instB.url())
	eveJoined := eve.join(group, eveM, nil)
	eveTab := dial(t, instA.url())
	eveTabJoined := eveTab.join(group, eveM, nil)
	eveTab.join(other, eveOtherM, nil)

	t.Run("a guest is marked as one in presence and in its messages", func(t *testing.T) {
		join := ada.next("Eve's presence_join", func(f frame) bool { return f.Type == wire.TypePresenceJoin && f.Client.ClientID == eveJoined.ClientID })
		if !join.Client.Guest || join.Client.Name != "Eve" {
			t.Fatalf("Eve's presence client = %+v, want a guest", join.Client)
		}
		ack := eve.send(group, "before", "hello from a guest")
		m := ada.next("Eve's message", func(f frame) bool { return f.Type == wire.TypeMessage && f.Message.ID == ack.ID }).msg(t)
		if !m.SenderGuest || m.SenderID != eveM.id {
			t.Fatalf("message = %+v, want sender_guest", m)
		}
		own := ada.send(group, "ada-1", "hello from an account")
		if m := eve.next("Ada's message", func(f frame) bool { return f.Type == wire.TypeMessage && f.Message.ID == own.ID }).msg(t); m.SenderGuest {
			t.Fatalf("Ada's message = %+v, want no sender_guest", m)
		}
	})

	start := time.Now()
	if err := revoker.Revoke(context.Background(), group, []string{eveM.id}, wire.ReasonBanned); err != nil {
		t.Fatal(err)
	}
	// In the window before instance B reads the revocation: refused, never accepted. The
	// server may have closed the socket already, which fails the write: nothing was sent.
	window := eve.ref()
	windowFrame, _ := json.Marshal(wire.ClientFrame{Head: wire.Head{Type: wire.TypeSend, Ref: window, GroupID: group}, ClientMsgID: "window", Body: "sent while being removed"})
	_ = eve.ws.Write(context.Background(), websocket.MessageText, windowFrame)

	t.Run("the member's socket on the other instance gets removed and is closed with 4003", func(t *testing.T) {
		f, code := eve.removed(group, start)
		if f.Reason != wire.ReasonBanned {
			t.Fatalf("removed frame = %+v, want reason banned", f)
		}
		if code != wire.CloseRemoved {
			t.Fatalf("close code = %d, want %d", code, wire.CloseRemoved)
		}
	})
	t.Run("a send in the window before the close is refused as revoked", func(t *testing.T) {
		if f, ok := eve.replyOrEnd(window); ok && (f.Type != wire.TypeError || f.Code != wire.CodeRevoked) {
			t.Fatalf("reply = %s %s, want error revoked", f.Type, f.Code)
		}
	})
	t.Run("a socket still in another room gets removed and stays open", func(t *testing.T) {
		f := eveTab.next("removed frame", func(f frame) bool { return f.Type == wire.TypeRemoved && f.GroupID == group })
		if d := time.Since(start); d > removalDeadline {
			t.Errorf("removed frame came %v after the revocation; want within %v", d, removalDeadline)
		}
		if f.Reason != wire.ReasonBanned {
			t.Fatalf("removed frame = %+v", f)
		}
		ref := eveTab.sendFrame(group, "after-tab", "sent after removal")
		if r := eveTab.reply(ref); r.Type != wire.TypeError || r.Code != wire.CodeRevoked {
			t.Fatalf("send to the room removed from = %s %s, want error revoked", r.Type, r.Code)
		}
		eveTab.send(other, "other-1", "the other room still works")
	})
	t.Run("the other members see the member's sockets leave", func(t *testing.T) {
		for _, id := range []string{eveJoined.ClientID, eveTabJoined.ClientID} {
			ada.next("presence_leave of "+id, func(f frame) bool { return f.Type == wire.TypePresenceLeave && f.Client.ClientID == id })
		}
		ada.write(map[string]string{"type": "presence", "ref": "p", "group_id": group})
		if list := ada.reply("p"); len(list.Clients) != 1 || list.Clients[0].MemberID != adaM.id {
			t.Fatalf("presence = %+v, want Ada alone", list.Clients)
		}
	})
	t.Run("a join with the old token is refused on every instance", func(t *testing.T) {
		for _, inst := range []*instance{instA, instB} {
			if code := dial(t, inst.url()).joinRefused(group, eveM); code != wire.CodeRevoked {
				t.Fatalf("join code = %q, want revoked", code)
			}
		}
	})
	t.Run("no message of the removed member is accepted after the revocation", func(t *testing.T) {
		marker := ada.send(group, "ada-2", "after the removal")
		var fromEve []string
		for {
			f := ada.next("messages up to the marker", func(f frame) bool { return f.Type == wire.TypeMessage && f.GroupID == group })
			if f.msg(t).SenderID == eveM.id {
				fromEve = append(fromEve, f.Message.ClientMsgID)
			}
			if f.Message.ID == marker.ID {
				break
			}
		}
		if len(fromEve) != 0 {
			t.Fatalf("Ada got Eve's messages %v after the revocation", fromEve)
		}
		// Eve's one message, Ada's two, and Eve's in the other room: nothing else was
		// produced to Kafka.
		if n := len(countRecords(t, b.brokers, b.topic)); n != 4 {
			t.Fatalf("%d messages in Kafka, want 4", n)
		}
	})
}

func TestPasscodeRotationRemovesEveryGuestOnEveryInstance(t *testing.T) {
	t.Parallel()
	b := setup(t)
	instA, instB := b.start(t, nil), b.start(t, nil)
	group := uuid.NewString()
	adaM := b.member(t, group, "Ada")
	guests := []member{b.guest(t, group, "G1"), b.guest(t, group, "G2"), b.guest(t, group, "G3")}

	ada := dial(t, instB.url())
	ada.join(group, adaM, nil)
	// G1 on A, G2 on B, G3 on both.
	type socket struct {
		c      *client
		client string
	}
	var sockets []socket
	for i, inst := range [][]*instance{{instA}, {instB}, {instA, instB}} {
		for _, in := range inst {
			c := dial(t, in.url())
			sockets = append(sockets, socket{c, c.join(group, guests[i], nil).ClientID})
		}
	}
	for _, s := range sockets {
		ada.next("presence_join of "+s.client, func(f frame) bool { return f.Type == wire.TypePresenceJoin && f.Client.ClientID == s.client })
	}

	start := time.Now()
	ids := []string{guests[0].id, guests[1].id, guests[2].id}
	if err := b.revoker(t).Revoke(context.Background(), group, ids, wire.ReasonPasscodeChanged); err != nil {
		t.Fatal(err)
	}
	t.Run("every guest socket gets removed and is closed with 4003", func(t *testing.T) {
		for _, s := range sockets {
			f, code := s.c.removed(group, start)
			if f.Reason != wire.ReasonPasscodeChanged || code != wire.CloseRemoved {
				t.Fatalf("socket %s: removed %+v, close code %d", s.client, f, code)
			}
		}
	})
	t.Run("the account member stays, sees every guest leave and still sends", func(t *testing.T) {
		for _, s := range sockets {
			ada.next("presence_leave of "+s.client, func(f frame) bool { return f.Type == wire.TypePresenceLeave && f.Client.ClientID == s.client })
		}
		ada.send(group, "still-here", "the account member keeps access")
	})
	t.Run("every guest token is refused on every instance", func(t *testing.T) {
		for _, g := range guests {
			for _, inst := range []*instance{instA, instB} {
				if code := dial(t, inst.url()).joinRefused(group, g); code != wire.CodeRevoked {
					t.Fatalf("%s's join = %q, want revoked", g.name, code)
				}
			}
		}
	})
}

// The window between a revocation's mark and its stream entry reaching an instance is
// made to last here: the mark is set alone, as if the entry had not been read yet.
func TestRevocationMarkAloneRefusesSendsAndJoins(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inst := b.start(t, nil)
	group := uuid.NewString()
	eveM := b.guest(t, group, "Eve")
	eve := dial(t, inst.url())
	eve.join(group, eveM, nil)
	eve.send(group, "before", "accepted before the mark")

	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{b.redisAddr}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	cfg := b.config(t)
	mark := roomredis.Layout{Prefix: cfg.RedisPrefix, Shards: cfg.StreamShards}.Revoked(group, eveM.id)
	if err := client.Do(context.Background(), client.B().Set().Key(mark).Value(wire.ReasonRemoved).Build()).Error(); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name        string
		clientMsgID string
	}{
		{"a new message is refused as revoked", "after"},
		{"a retry of an accepted message is refused as revoked", "before"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if f := eve.reply(eve.sendFrame(group, tt.clientMsgID, "body")); f.Type != wire.TypeError || f.Code != wire.CodeRevoked {
				t.Fatalf("reply = %s %s, want error revoked", f.Type, f.Code)
			}
		})
	}
	t.Run("a join is refused as revoked", func(t *testing.T) {
		if code := dial(t, inst.url()).joinRefused(group, eveM); code != wire.CodeRevoked {
			t.Fatalf("join code = %q, want revoked", code)
		}
	})
	if n := len(countRecords(t, b.brokers, b.topic)); n != 1 {
		t.Fatalf("%d messages in Kafka, want only the one before the mark", n)
	}
}
