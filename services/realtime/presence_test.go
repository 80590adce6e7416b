package main

import (
	"testing"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/wire"
)

func TestPresenceAndTypingReachOtherInstances(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a, bb := b.start(t, nil), b.start(t, nil)
	group := uuid.NewString()
	aliceM, bobM := b.member(t, group, "Alice"), b.member(t, group, "Bob")
	alice, bob := dial(t, a.url()), dial(t, bb.url())
	alice.join(group, aliceM, nil)
	bobJoined := bob.join(group, bobM, nil)

	join := alice.next("Bob's presence_join", func(f frame) bool { return f.Type == wire.TypePresenceJoin && f.Client.MemberID == bobM.id })
	if join.Client.ClientID != bobJoined.ClientID || join.Client.Name != "Bob" {
		t.Fatalf("presence_join = %+v; want Bob's client %s", join.Client, bobJoined.ClientID)
	}
	// Joins are announced to everyone in the room, the joiner included.
	bob.next("Bob's own presence_join", func(f frame) bool { return f.Type == wire.TypePresenceJoin && f.Client.MemberID == bobM.id })
	bob.write(map[string]string{"type": "presence", "ref": "p1", "group_id": group})
	list := bob.reply("p1")
	if list.Type != wire.TypePresence || len(list.Clients) != 2 {
		t.Fatalf("presence = %+v; want Alice and Bob", list)
	}

	bob.write(map[string]string{"type": "typing", "group_id": group})
	typing := alice.next("Bob typing", func(f frame) bool { return f.Type == wire.TypeTyping })
	if typing.Client.MemberID != bobM.id || typing.TTLms != 5000 {
		t.Fatalf("typing = %+v; want Bob's, shown for 5000 ms", typing)
	}
	// The room's events reach Bob in stream order, so his own typing event, had it been
	// sent back, would come before this message.
	marker := alice.send(group, "m1", "after typing")
	got := bob.next("the message after typing", func(f frame) bool { return f.Type == wire.TypeMessage })
	if got.msg(t).ID != marker.ID {
		t.Fatalf("got %+v, want the marker", got.msg(t))
	}
	for _, f := range bob.pending {
		if f.Type == wire.TypeTyping {
			t.Fatal("the typing client got its own typing event back")
		}
	}

	bob.write(map[string]string{"type": "leave", "ref": "l", "group_id": group})
	bob.reply("l")
	leave := alice.next("Bob's presence_leave", func(f frame) bool { return f.Type == wire.TypePresenceLeave })
	if leave.Client.ClientID != bobJoined.ClientID {
		t.Fatalf("presence_leave = %+v; want Bob's client", leave.Client)
	}
	alice.write(map[string]string{"type": "presence", "ref": "p2", "group_id": group})
	if list := alice.reply("p2"); len(list.Clients) != 1 || list.Clients[0].MemberID != aliceM.id {
		t.Fatalf("presence after Bob left = %+v; want Alice alone", list.Clients)
	}
}
