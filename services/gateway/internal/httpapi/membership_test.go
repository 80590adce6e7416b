package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/event"
	"github.com/quickchat-go/quickchat/pkg/gatewayapi"
	"github.com/quickchat-go/quickchat/pkg/roomredis"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/wire"
)

// tryJoin posts a join of g as name with the bearer token and guest key (both may be
// empty) and returns the answer, whatever it is.
func (e *env) tryJoin(t testing.TB, g group, name, bearer, guestKey string) *response {
	t.Helper()
	return e.do(t, req{method: "POST", path: "/api/chat-group/" + g.ID.String() + "/join", bearer: bearer,
		body: gatewayapi.JoinRequest{Name: name, Passcode: g.passcode, GuestKey: guestKey}})
}

// wantError fails unless the answer is the JSON error with status and code.
func wantError(t testing.TB, r *response, status int, code string) {
	t.Helper()
	want(t, r, status)
	if got := r.errorCode(t); got != code {
		t.Fatalf("error code %q, want %q: %s", got, code, r.body)
	}
}

// members lists g's members (one page of up to 100) with the bearer token.
func (e *env) members(t testing.TB, g group, bearer string) gatewayapi.MemberList {
	t.Helper()
	r := e.do(t, req{method: "GET", path: "/api/chat-group/" + g.ID.String() + "/members?limit=100", bearer: bearer})
	want(t, r, http.StatusOK)
	var l gatewayapi.MemberList
	r.decode(t, &l)
	return l
}

func TestJoinAnswersForGuestsAndAccounts(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner := e.register(t, "Owner")
	g := e.createGroup(t, owner, "Garden")

	t.Run("a guest is marked as a guest and gets a guest key", func(t *testing.T) {
		j := e.join(t, g, "Guest", "")
		if !j.Guest || j.GuestKey == "" || !e.verify(t, j.Token).Guest {
			t.Fatalf("join = %+v", j)
		}
		again := e.tryJoin(t, g, "Guest again", "", j.GuestKey)
		want(t, again, http.StatusOK)
		var a joinBody
		again.decode(t, &a)
		if a.Member.ID != j.Member.ID || a.GuestKey != j.GuestKey {
			t.Fatalf("joining again with the key gave %+v; first %+v", a, j)
		}
	})
	t.Run("an account is no guest and gets no guest key", func(t *testing.T) {
		a := e.register(t, "Acct")
		r := e.tryJoin(t, g, "Acct", a.access, "")
		want(t, r, http.StatusOK)
		if strings.Contains(string(r.body), "guest_key") {
			t.Fatalf("an account got a guest key: %s", r.body)
		}
		var j joinBody
		r.decode(t, &j)
		if j.Guest || e.verify(t, j.Token).Guest {
			t.Fatalf("join = %+v", j)
		}
	})
	t.Run("a guest key the server never issued is invalid", func(t *testing.T) {
		wantError(t, e.tryJoin(t, g, "Forger", "", "AAAA"), http.StatusBadRequest, "invalid")
	})
}

func TestDisplayNamesAtJoin(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner := e.register(t, "Olivia Owner")
	g := e.createGroup(t, owner, "Names")
	e.join(t, g, "Alice", "")

	accepted := []struct {
		name, raw, want string
	}{
		{"full-width letters are folded to plain ones", "\uff22\uff4f\uff42", "Bob"},
		{"spaces are trimmed and collapsed", "  Carol \u3000 Jones ", "Carol Jones"},
		{"a composed and a decomposed accent are one name", "Zoe\u0301", "Zo\u00e9"},
	}
	for _, tt := range accepted {
		t.Run(tt.name, func(t *testing.T) {
			j := e.join(t, g, tt.raw, "")
			if j.Member.DisplayName != tt.want {
				t.Fatalf("display name %q, want %q", j.Member.DisplayName, tt.want)
			}
		})
	}
	refused := []struct {
		name, raw string
		status    int
		code      string
	}{
		{"a zero-width space is refused", "Ali\u200bce", http.StatusBadRequest, "invalid"},
		{"a right-to-left override is refused", "\u202eecilA", http.StatusBadRequest, "invalid"},
		{"a left-to-right isolate is refused", "\u2066Eve\u2069", http.StatusBadRequest, "invalid"},
		{"a name over 40 characters is refused", strings.Repeat("x", 41), http.StatusBadRequest, "invalid"},
		{"an invisible name is refused", "\u3164", http.StatusBadRequest, "invalid"},
		{"another member's name in other case is a conflict", "ALICE", http.StatusConflict, "conflict"},
		{"another member's name in full-width letters is a conflict", "\uff41\uff4c\uff49\uff43\uff45", http.StatusConflict, "conflict"},
		{"the owner's name is a conflict", "olivia owner", http.StatusConflict, "conflict"},
		{"a folded name of a member who joined before is a conflict", "zoé", http.StatusConflict, "conflict"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, e.tryJoin(t, g, tt.raw, "", ""), tt.status, tt.code)
		})
	}
	t.Run("a name a member left behind is free again", func(t *testing.T) {
		j := e.join(t, g, "Dave", "")
		want(t, e.do(t, req{method: "POST", path: "/api/chat-group/" + g.ID.String() + "/leave", bearer: j.Token}), http.StatusNoContent)
		e.join(t, g, "dave", "")
	})
}

func TestOwnersModerateMembers(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner := e.register(t, "Owner")
	acct := e.register(t, "Member")
	g := e.createGroup(t, owner, "Moderated")
	base := "/api/chat-group/" + g.ID.String()
	member := e.join(t, g, "Member", acct.access)

	t.Run("a removed guest's renewal and history are refused as revoked, and it may join again", func(t *testing.T) {
		guest := e.join(t, g, "Removable", "")
		want(t, e.do(t, req{method: "DELETE", path: base + "/members/" + guest.Member.ID.String(), bearer: owner.access}), http.StatusNoContent)
		if got := e.revoker.revoked(g.ID, wire.ReasonRemoved); !slices.Contains(got, guest.Member.ID.String()) {
			t.Fatalf("revoked %v, want the guest", got)
		}
		wantError(t, e.do(t, req{method: "POST", path: base + "/token", bearer: guest.Token}), http.StatusForbidden, "revoked")
		wantError(t, e.do(t, req{method: "GET", path: "/api/chats/" + g.ID.String(), bearer: guest.Token}), http.StatusForbidden, "revoked")
		again := e.tryJoin(t, g, "Removable", "", guest.GuestKey)
		want(t, again, http.StatusOK)
		var j joinBody
		again.decode(t, &j)
		if j.Member.ID == guest.Member.ID {
			t.Fatal("the rejoined guest kept its old member id")
		}
	})
	t.Run("a banned guest's join with its guest key is refused as banned until the ban is lifted", func(t *testing.T) {
		guest := e.join(t, g, "Troll", "")
		r := e.do(t, req{method: "POST", path: base + "/bans", bearer: owner.access, body: gatewayapi.NewBan{MemberID: guest.Member.ID.String()}})
		want(t, r, http.StatusCreated)
		var ban gatewayapi.Ban
		r.decode(t, &ban)
		if ban.Name != "Troll" || !ban.Guest || ban.BanID == "" {
			t.Fatalf("ban = %s", r.body)
		}
		if got := e.revoker.revoked(g.ID, wire.ReasonBanned); !slices.Contains(got, guest.Member.ID.String()) {
			t.Fatalf("revoked %v, want the guest", got)
		}
		wantError(t, e.tryJoin(t, g, "Troll", "", guest.GuestKey), http.StatusForbidden, "banned")
		wantError(t, e.do(t, req{method: "POST", path: base + "/token", bearer: guest.Token}), http.StatusForbidden, "revoked")
		list := e.do(t, req{method: "GET", path: base + "/bans", bearer: owner.access})
		want(t, list, http.StatusOK)
		if !strings.Contains(string(list.body), ban.BanID) {
			t.Fatalf("bans = %s", list.body)
		}
		want(t, e.do(t, req{method: "DELETE", path: base + "/bans/" + ban.BanID, bearer: owner.access}), http.StatusNoContent)
		want(t, e.tryJoin(t, g, "Troll", "", guest.GuestKey), http.StatusOK)
		wantError(t, e.do(t, req{method: "DELETE", path: base + "/bans/" + ban.BanID, bearer: owner.access}), http.StatusNotFound, "not_found")
	})
	t.Run("a banned account's join is refused as banned", func(t *testing.T) {
		want(t, e.do(t, req{method: "POST", path: base + "/bans", bearer: owner.access, body: gatewayapi.NewBan{MemberID: member.Member.ID.String()}}), http.StatusCreated)
		wantError(t, e.tryJoin(t, g, "Member", acct.access, ""), http.StatusForbidden, "banned")
		wantError(t, e.do(t, req{method: "POST", path: base + "/token", bearer: member.Token}), http.StatusForbidden, "revoked")
	})
	refusals := []struct {
		name   string
		r      func() req
		status int
		code   string
	}{
		{"removing an unknown member is not found", func() req {
			return req{method: "DELETE", path: base + "/members/" + uuid.NewString(), bearer: owner.access}
		}, http.StatusNotFound, "not_found"},
		{"banning an unknown member is not found", func() req {
			return req{method: "POST", path: base + "/bans", bearer: owner.access, body: gatewayapi.NewBan{MemberID: uuid.NewString()}}
		}, http.StatusNotFound, "not_found"},
		{"a guest removing someone is forbidden", func() req {
			victim, actor := e.join(t, g, "Victim "+uuid.NewString()[:6], ""), e.join(t, g, "Actor "+uuid.NewString()[:6], "")
			return req{method: "DELETE", path: base + "/members/" + victim.Member.ID.String(), bearer: actor.Token}
		}, http.StatusForbidden, "forbidden"},
		{"a stranger removing someone is not found", func() req {
			victim, stranger := e.join(t, g, "Victim "+uuid.NewString()[:6], ""), e.register(t, "Stranger")
			return req{method: "DELETE", path: base + "/members/" + victim.Member.ID.String(), bearer: stranger.access}
		}, http.StatusNotFound, "not_found"},
		{"the owner removing itself is a conflict", func() req {
			l := e.members(t, g, owner.access)
			i := slices.IndexFunc(l.Members, func(m gatewayapi.GroupMember) bool { return m.Owner })
			return req{method: "DELETE", path: base + "/members/" + l.Members[i].MemberID, bearer: owner.access}
		}, http.StatusConflict, "conflict"},
		{"the owner leaving is a conflict", func() req {
			return req{method: "POST", path: base + "/leave", bearer: owner.access}
		}, http.StatusConflict, "conflict"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, e.do(t, tt.r()), tt.status, tt.code)
		})
	}
	t.Run("when realtime's Redis is down a removal changes nothing and says unavailable", func(t *testing.T) {
		guest := e.join(t, g, "Lucky", "")
		e.revoker.setFail(true)
		defer e.revoker.setFail(false)
		wantError(t, e.do(t, req{method: "DELETE", path: base + "/members/" + guest.Member.ID.String(), bearer: owner.access}),
			http.StatusServiceUnavailable, "unavailable")
		want(t, e.do(t, req{method: "POST", path: base + "/token", bearer: guest.Token}), http.StatusOK)
	})
}

func TestPasscodeRotationEndsGuestMemberships(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner := e.register(t, "Owner")
	acct := e.register(t, "Member")
	g := e.createGroup(t, owner, "Rotating")
	base := "/api/chat-group/" + g.ID.String()
	member := e.join(t, g, "Member", acct.access)
	ann, bob := e.join(t, g, "Ann", ""), e.join(t, g, "Bob", "")
	rotate := func(keep bool) string {
		code := "rotated-" + uuid.NewString()[:12]
		e.remember(code)
		want(t, e.do(t, req{method: "PUT", path: base, bearer: owner.access,
			body: map[string]any{"passcode": code, "keep_members": keep}}), http.StatusOK)
		return code
	}

	t.Run("keep_members keeps every membership", func(t *testing.T) {
		g.passcode = rotate(true)
		if got := e.revoker.revoked(g.ID, wire.ReasonPasscodeChanged); len(got) != 0 {
			t.Fatalf("revoked %v", got)
		}
		want(t, e.do(t, req{method: "POST", path: base + "/token", bearer: ann.Token}), http.StatusOK)
	})
	t.Run("by default guest memberships end and the revoker gets their ids", func(t *testing.T) {
		g.passcode = rotate(false)
		wantIDs := []string{ann.Member.ID.String(), bob.Member.ID.String()}
		slices.Sort(wantIDs)
		if got := e.revoker.revoked(g.ID, wire.ReasonPasscodeChanged); !slices.Equal(got, wantIDs) {
			t.Fatalf("revoked %v, want the guests %v", got, wantIDs)
		}
		for _, guest := range []joinBody{ann, bob} {
			wantError(t, e.do(t, req{method: "POST", path: base + "/token", bearer: guest.Token}), http.StatusForbidden, "revoked")
		}
		want(t, e.do(t, req{method: "POST", path: base + "/token", bearer: member.Token}), http.StatusOK)
		var names []string
		for _, m := range e.members(t, g, owner.access).Members {
			names = append(names, m.Name)
		}
		if slices.Contains(names, "Ann") || slices.Contains(names, "Bob") || !slices.Contains(names, "Member") {
			t.Fatalf("members after the rotation: %v", names)
		}
	})
	t.Run("a guest joins again with the new passcode", func(t *testing.T) {
		want(t, e.tryJoin(t, g, "Ann", "", ann.GuestKey), http.StatusOK)
	})
}

func TestMemberListShowsPrivateFieldsToTheOwnerOnly(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner := e.register(t, "Owner")
	g := e.createGroup(t, owner, "Listed")
	guests := make([]joinBody, 3)
	for i := range guests {
		guests[i] = e.join(t, g, "Guest "+string(rune('A'+i)), "")
	}
	e.presence.set(guests[0].Member.ID.String())
	id, err := event.NewID()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.InsertMessages(context.Background(), []store.Message{{ID: id, GroupID: g.ID, SenderID: guests[0].Member.ID,
		SenderName: "Guest A", SenderGuest: true, ClientMsgID: "c1", Body: "hello", CreatedAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}

	t.Run("the owner sees last seen, online and message counts", func(t *testing.T) {
		l := e.members(t, g, owner.access)
		if len(l.Members) != 4 || l.NextCursor != "" {
			t.Fatalf("list = %+v", l)
		}
		for _, m := range l.Members {
			if m.LastSeenAt == nil || m.Online == nil || m.MessageCount == nil {
				t.Fatalf("owner's view lacks private fields: %+v", m)
			}
			first := m.MemberID == guests[0].Member.ID.String()
			if *m.Online != first || (*m.MessageCount == 1) != first || m.Guest == m.Owner {
				t.Fatalf("member %+v", m)
			}
		}
	})
	t.Run("members see no private field at all", func(t *testing.T) {
		r := e.do(t, req{method: "GET", path: "/api/chat-group/" + g.ID.String() + "/members", bearer: guests[1].Token})
		want(t, r, http.StatusOK)
		for _, field := range []string{"last_seen_at", "online", "message_count"} {
			if strings.Contains(string(r.body), field) {
				t.Fatalf("a member saw %s: %s", field, r.body)
			}
		}
	})
	t.Run("pages follow the cursor to the end", func(t *testing.T) {
		var ids []string
		path := "/api/chat-group/" + g.ID.String() + "/members?limit=3"
		for {
			r := e.do(t, req{method: "GET", path: path, bearer: owner.access})
			want(t, r, http.StatusOK)
			var l gatewayapi.MemberList
			r.decode(t, &l)
			for _, m := range l.Members {
				ids = append(ids, m.MemberID)
			}
			if l.NextCursor == "" {
				break
			}
			path = "/api/chat-group/" + g.ID.String() + "/members?limit=3&cursor=" + l.NextCursor
		}
		unique := slices.Clone(ids)
		slices.Sort(unique)
		if len(ids) != 4 || len(slices.Compact(unique)) != 4 || ids[3] != guests[2].Member.ID.String() {
			t.Fatalf("paged ids %v", ids)
		}
	})
	t.Run("a bad limit or cursor is invalid", func(t *testing.T) {
		for _, q := range []string{"limit=0", "limit=x", "limit=101", "cursor=garbage!"} {
			wantError(t, e.do(t, req{method: "GET", path: "/api/chat-group/" + g.ID.String() + "/members?" + q, bearer: owner.access}),
				http.StatusBadRequest, "invalid")
		}
	})
	t.Run("history marks messages of guests", func(t *testing.T) {
		r := e.do(t, req{method: "GET", path: "/api/chats/" + g.ID.String(), bearer: owner.access})
		want(t, r, http.StatusOK)
		var p struct {
			Messages []map[string]json.RawMessage `json:"messages"`
		}
		r.decode(t, &p)
		if len(p.Messages) != 1 || string(p.Messages[0]["sender_guest"]) != "true" {
			t.Fatalf("history = %s", r.body)
		}
	})
}

// TestRemovalMarksTheMemberRevokedInRealtimesRedis runs the gateway on the stack's Redis
// through pkg/roomredis, as in production: a removal leaves exactly the mark and the
// stream entry that realtime reads (pkg/roomredis and the realtime tests check how
// realtime acts on them).
func TestRemovalMarksTheMemberRevokedInRealtimesRedis(t *testing.T) {
	t.Parallel()
	var rooms *roomsInRedis
	e := setup(t, withRedis(t, &rooms))
	owner := e.register(t, "Owner")
	g := e.createGroup(t, owner, "Live")
	guest := e.join(t, g, "Guest", "")
	stayer := e.join(t, g, "Stayer", "")
	ctx := context.Background()

	want(t, e.do(t, req{method: "DELETE", path: "/api/chat-group/" + g.ID.String() + "/members/" + guest.Member.ID.String(),
		bearer: owner.access}), http.StatusNoContent)

	t.Run("the member is marked revoked with the reason", func(t *testing.T) {
		key := rooms.layout.Revoked(g.ID.String(), guest.Member.ID.String())
		v, err := rooms.client.Do(ctx, rooms.client.B().Get().Key(key).Build()).ToString()
		if err != nil || v != wire.ReasonRemoved {
			t.Fatalf("%s = %q, %v", key, v, err)
		}
		ttl, err := rooms.client.Do(ctx, rooms.client.B().Pttl().Key(key).Build()).AsInt64()
		if err != nil || ttl <= 0 || ttl > roomredis.RevokeTTL.Milliseconds() {
			t.Fatalf("%s expires in %d ms (%v)", key, ttl, err)
		}
	})
	t.Run("other members are not marked", func(t *testing.T) {
		key := rooms.layout.Revoked(g.ID.String(), stayer.Member.ID.String())
		if n, err := rooms.client.Do(ctx, rooms.client.B().Exists().Key(key).Build()).AsInt64(); err != nil || n != 0 {
			t.Fatalf("%s exists: %d, %v", key, n, err)
		}
	})
	t.Run("the room's shard stream tells every realtime instance", func(t *testing.T) {
		entries, err := rooms.client.Do(ctx, rooms.client.B().Xrange().Key(rooms.layout.RoomStream(g.ID.String())).
			Start("-").End("+").Build()).AsXRangeSlices()
		if err != nil {
			t.Fatal(err)
		}
		var found []roomredis.Revocation
		for _, en := range entries {
			if en.FieldValues[0].Value != roomredis.EntryKind {
				continue
			}
			var r roomredis.Revocation
			if err := json.Unmarshal([]byte(en.FieldValues[2].Value), &r); err != nil {
				t.Fatal(err)
			}
			found = append(found, r)
		}
		exp := roomredis.Revocation{Room: g.ID.String(), Members: []string{guest.Member.ID.String()}, Reason: wire.ReasonRemoved}
		if len(found) != 1 || found[0].Room != exp.Room || !slices.Equal(found[0].Members, exp.Members) || found[0].Reason != exp.Reason {
			t.Fatalf("revocations %+v, want one %+v", found, exp)
		}
	})
	t.Run("the owner's member list reads presence from Redis", func(t *testing.T) {
		l := e.members(t, g, owner.access)
		for _, m := range l.Members {
			if m.Online == nil || *m.Online {
				t.Fatalf("member %+v: nobody is connected", m)
			}
		}
	})
}
