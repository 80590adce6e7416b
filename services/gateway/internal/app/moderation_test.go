package app

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/wire"
)

func TestOwnersRemoveAndBanMembers(t *testing.T) {
	eachStore(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		_, owner := b.account(t, "Owner")
		memberAcct, memberCaller := b.account(t, "Member")
		g := b.group(t, owner, "Club")
		gid := g.ID.String()
		join := func(c Caller, name, key string) (MemberToken, error) {
			return b.Members.Join(ctx, c, Joining{Client: "c", GroupID: gid, Name: name, Passcode: "open sesame", GuestKey: key})
		}
		accountJoin, err := join(memberCaller, "Member", "")
		if err != nil {
			t.Fatal(err)
		}

		t.Run("a removed guest is revoked in realtime, loses its membership and may join again", func(t *testing.T) {
			guest, guestCaller := b.guest(t, g, "Removable")
			if err := b.Members.Remove(ctx, owner, gid, guest.ID.String()); err != nil {
				t.Fatal(err)
			}
			if got := b.revoker.revoked(gid, wire.ReasonRemoved); !slices.Equal(got, []string{guest.ID.String()}) {
				t.Fatalf("revoked %v, want the guest", got)
			}
			if _, err := b.st.Member(ctx, guest.ID); !apperr.Is(err, apperr.NotFound) {
				t.Fatalf("the membership is still stored: %v", err)
			}
			_, err := b.Members.RenewToken(ctx, guestCaller, gid)
			wantCode(t, err, CodeRevoked)
			_, _, err = b.History.Page(ctx, guestCaller, gid, HistoryQuery{Limit: 10})
			wantCode(t, err, CodeRevoked)
			again, err := join(Caller{}, "Removable", b.guestKeys[guest.ID])
			if err != nil || again.Member.ID == guest.ID {
				t.Fatalf("rejoined as %+v (%v); want a new member id", again.Member, err)
			}
			if !logged(b, "member_removed", guest.ID.String()) {
				t.Fatal("no member_removed security event")
			}
		})
		t.Run("a banned guest's key is refused even with the right passcode", func(t *testing.T) {
			guest, _ := b.guest(t, g, "Troll")
			ban, err := b.Members.Ban(ctx, owner, gid, guest.ID.String())
			if err != nil || ban.MemberID != guest.ID || ban.DisplayName != "Troll" || !ban.Guest() {
				t.Fatalf("ban %+v, %v", ban, err)
			}
			if got := b.revoker.revoked(gid, wire.ReasonBanned); !slices.Contains(got, guest.ID.String()) {
				t.Fatalf("revoked %v, want the guest", got)
			}
			_, err = join(Caller{}, "Troll again", b.guestKeys[guest.ID])
			wantCode(t, err, CodeBanned)
			if !logged(b, "banned_join_refused", "") {
				t.Fatal("no banned_join_refused security event")
			}
			t.Run("and joins again once the ban is lifted", func(t *testing.T) {
				if err := b.Members.Unban(ctx, owner, gid, ban.ID.String()); err != nil {
					t.Fatal(err)
				}
				if _, err := join(Caller{}, "Troll", b.guestKeys[guest.ID]); err != nil {
					t.Fatal(err)
				}
			})
		})
		t.Run("a banned account is refused", func(t *testing.T) {
			if _, err := b.Members.Ban(ctx, owner, gid, accountJoin.Member.ID.String()); err != nil {
				t.Fatal(err)
			}
			_, err := join(memberCaller, "Member", "")
			wantCode(t, err, CodeBanned)
			_, err = b.Members.RenewToken(ctx, memberCaller, gid)
			wantCode(t, err, apperr.NotFound)
			bans, err := b.Members.Bans(ctx, owner, gid)
			if err != nil || !slices.ContainsFunc(bans, func(x store.Ban) bool { return x.UserID.UUID == memberAcct.ID }) {
				t.Fatalf("bans %+v, %v", bans, err)
			}
		})
		t.Run("the security events carry no guest key", func(t *testing.T) {
			for _, e := range b.events.All() {
				for _, key := range b.guestKeys {
					for _, f := range e.Context {
						if strings.Contains(f.String, key) {
							t.Fatalf("event %s logs a guest key: %+v", e.Message, e.Context)
						}
					}
				}
			}
		})
		refusals := []struct {
			name   string
			caller Caller
			member func() string
			code   apperr.Code
		}{
			{"a guest may not remove anyone", mustGuest(t, b, g, "Pawn"), func() string { return b.owner(t, g).ID.String() }, apperr.Forbidden},
			{"an unknown member is not found", owner, uuid.NewString, apperr.NotFound},
			{"a malformed member id is not found", owner, func() string { return "../x" }, apperr.NotFound},
			{"the owner's own membership cannot end", owner, func() string { return b.owner(t, g).ID.String() }, apperr.Conflict},
		}
		for _, tt := range refusals {
			t.Run(tt.name, func(t *testing.T) {
				wantCode(t, b.Members.Remove(ctx, tt.caller, gid, tt.member()), tt.code)
				_, err := b.Members.Ban(ctx, tt.caller, gid, tt.member())
				wantCode(t, err, tt.code)
			})
		}
		t.Run("when realtime cannot be told nothing changes", func(t *testing.T) {
			guest, _ := b.guest(t, g, "Lucky")
			b.revoker.fail = true
			defer func() { b.revoker.fail = false }()
			wantCode(t, b.Members.Remove(ctx, owner, gid, guest.ID.String()), apperr.Unavailable)
			_, err := b.Members.Ban(ctx, owner, gid, guest.ID.String())
			wantCode(t, err, apperr.Unavailable)
			if _, err := b.st.Member(ctx, guest.ID); err != nil {
				t.Fatalf("the membership ended anyway: %v", err)
			}
			if banned, _ := b.st.Banned(ctx, g.ID, guest.UserID, guest.GuestKeyHash); banned {
				t.Fatal("the guest is banned anyway")
			}
		})
		t.Run("lifting a ban the group does not have is not found", func(t *testing.T) {
			wantCode(t, b.Members.Unban(ctx, owner, gid, uuid.NewString()), apperr.NotFound)
			wantCode(t, b.Members.Unban(ctx, owner, gid, "nope"), apperr.NotFound)
		})
	})
}

func TestMembersLeave(t *testing.T) {
	eachStore(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		_, owner := b.account(t, "Owner")
		_, memberCaller := b.account(t, "Member")
		g := b.group(t, owner, "Club")
		gid := g.ID.String()
		joined, err := b.Members.Join(ctx, memberCaller, Joining{Client: "c", GroupID: gid, Name: "Member", Passcode: "open sesame"})
		if err != nil {
			t.Fatal(err)
		}

		t.Run("a guest leaves with its member token", func(t *testing.T) {
			guest, guestCaller := b.guest(t, g, "Guest")
			if err := b.Members.Leave(ctx, guestCaller, gid); err != nil {
				t.Fatal(err)
			}
			if got := b.revoker.revoked(gid, wire.ReasonLeft); !slices.Contains(got, guest.ID.String()) {
				t.Fatalf("revoked %v, want the guest", got)
			}
			wantCode(t, b.Members.Leave(ctx, guestCaller, gid), CodeRevoked)
		})
		t.Run("an account leaves with its access token", func(t *testing.T) {
			if err := b.Members.Leave(ctx, memberCaller, gid); err != nil {
				t.Fatal(err)
			}
			if _, err := b.st.Member(ctx, joined.Member.ID); !apperr.Is(err, apperr.NotFound) {
				t.Fatalf("the membership is still stored: %v", err)
			}
			wantCode(t, b.Members.Leave(ctx, memberCaller, gid), apperr.NotFound)
		})
		t.Run("the owner cannot leave", func(t *testing.T) {
			wantCode(t, b.Members.Leave(ctx, owner, gid), apperr.Conflict)
		})
	})
}

func TestPasscodeChangesEndGuestMemberships(t *testing.T) {
	eachStore(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		_, owner := b.account(t, "Owner")
		_, memberCaller := b.account(t, "Member")
		g := b.group(t, owner, "Club")
		gid := g.ID.String()
		acct, err := b.Members.Join(ctx, memberCaller, Joining{Client: "c", GroupID: gid, Name: "Member", Passcode: "open sesame"})
		if err != nil {
			t.Fatal(err)
		}
		ann, annCaller := b.guest(t, g, "Ann")
		bob, _ := b.guest(t, g, "Bob")
		code := "brand new code"

		t.Run("keep_members keeps every membership", func(t *testing.T) {
			if _, err := b.Groups.Update(ctx, owner, gid, GroupChange{Passcode: &code, KeepMembers: true}); err != nil {
				t.Fatal(err)
			}
			if got := b.revoker.revoked(gid, wire.ReasonPasscodeChanged); len(got) != 0 {
				t.Fatalf("revoked %v", got)
			}
			if _, err := b.Members.RenewToken(ctx, annCaller, gid); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("when realtime cannot be told the passcode stays as it was", func(t *testing.T) {
			b.revoker.fail = true
			defer func() { b.revoker.fail = false }()
			other := "another new code"
			_, err := b.Groups.Update(ctx, owner, gid, GroupChange{Passcode: &other})
			wantCode(t, err, apperr.Unavailable)
			if stored, _ := b.st.Group(ctx, g.ID); stored.PasscodeHash != "plain:"+code {
				t.Fatalf("passcode hash became %q", stored.PasscodeHash)
			}
		})
		t.Run("by default the guests are revoked and removed, accounts stay", func(t *testing.T) {
			code = "newest code ever"
			if _, err := b.Groups.Update(ctx, owner, gid, GroupChange{Passcode: &code}); err != nil {
				t.Fatal(err)
			}
			got := b.revoker.revoked(gid, wire.ReasonPasscodeChanged)
			slices.Sort(got)
			want := []string{ann.ID.String(), bob.ID.String()}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("revoked %v, want the guests %v", got, want)
			}
			_, err := b.Members.RenewToken(ctx, annCaller, gid)
			wantCode(t, err, CodeRevoked)
			if _, err := b.st.Member(ctx, acct.Member.ID); err != nil {
				t.Fatalf("the account's membership ended: %v", err)
			}
			if !logged(b, "guests_revoked", "") {
				t.Fatal("no guests_revoked security event")
			}
		})
		t.Run("the old passcode no longer joins, the new one does", func(t *testing.T) {
			_, err := b.Members.Join(ctx, Caller{}, Joining{Client: "c", GroupID: gid, Name: "Ann", Passcode: "open sesame", GuestKey: b.guestKeys[ann.ID]})
			wantCode(t, err, apperr.Forbidden)
			if _, err := b.Members.Join(ctx, Caller{}, Joining{Client: "c", GroupID: gid, Name: "Ann", Passcode: code, GuestKey: b.guestKeys[ann.ID]}); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// logged reports whether a security event named name was logged, with a field holding
// value when value is not empty.
func logged(b *bundle, name, value string) bool {
	for _, e := range b.events.All() {
		m := e.ContextMap()
		if m["event"] != name {
			continue
		}
		if value == "" {
			return true
		}
		for _, v := range m {
			if v == value {
				return true
			}
		}
	}
	return false
}

// mustGuest joins g as a guest named name and returns its caller.
func mustGuest(t testing.TB, b *bundle, g store.Group, name string) Caller {
	t.Helper()
	_, c := b.guest(t, g, name)
	return c
}

// owner returns the owner's membership of g.
func (b *bundle) owner(t testing.TB, g store.Group) store.Member {
	t.Helper()
	m, err := b.st.MemberByUser(context.Background(), g.ID, g.OwnerID)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
