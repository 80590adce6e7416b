package app

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/services/gateway/internal/ratelimit"
)

func TestJoin(t *testing.T) {
	eachStore(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		_, owner := b.account(t, "Owner")
		member, memberCaller := b.account(t, "Member")
		g := b.group(t, owner, "Club")
		join := func(c Caller, name, passcode string) (MemberToken, error) {
			return b.Members.Join(ctx, c, Joining{Client: "192.0.2.1", GroupID: g.ID.String(), Name: name, Passcode: passcode})
		}

		var guestKey string
		t.Run("a guest gets a member token scoped to the group and a guest key", func(t *testing.T) {
			mt, err := join(Caller{}, " Guest ", "open sesame")
			if err != nil {
				t.Fatal(err)
			}
			c := b.signer.last
			if mt.Member.DisplayName != "Guest" || mt.Member.UserID.Valid || mt.TTL != 15*time.Minute ||
				c.Kind != token.KindMember || c.GroupID != g.ID.String() || c.Subject != mt.Member.ID.String() || c.UserID != "" || c.Name != "Guest" || !c.Guest {
				t.Fatalf("member %+v, claims %+v", mt.Member, c)
			}
			hash, err := guestKeyHash(mt.GuestKey)
			if err != nil || !bytes.Equal(hash, mt.Member.GuestKeyHash) {
				t.Fatalf("guest key %q does not hash to the stored %x (%v)", mt.GuestKey, mt.Member.GuestKeyHash, err)
			}
			guestKey = mt.GuestKey
		})
		t.Run("a guest joining again with its key gets the same membership and key", func(t *testing.T) {
			first, err := b.st.MemberByGuestKey(ctx, g.ID, mustHash(t, guestKey))
			if err != nil {
				t.Fatal(err)
			}
			again, err := b.Members.Join(ctx, Caller{}, Joining{Client: "192.0.2.1", GroupID: g.ID.String(), Name: "Other name", Passcode: "open sesame", GuestKey: guestKey})
			if err != nil || again.Member.ID != first.ID || again.GuestKey != guestKey || again.Member.DisplayName != "Guest" {
				t.Fatalf("joined again as %+v with key %q (%v), first %+v", again.Member, again.GuestKey, err, first)
			}
		})
		t.Run("a guest key that this server did not issue is invalid", func(t *testing.T) {
			_, err := b.Members.Join(ctx, Caller{}, Joining{Client: "c", GroupID: g.ID.String(), Name: "Keyed", Passcode: "open sesame", GuestKey: "not-a-key"})
			wantCode(t, err, apperr.Invalid)
		})
		t.Run("an account gets no guest key and a token without the guest claim", func(t *testing.T) {
			mt, err := join(memberCaller, "Member", "open sesame")
			if err != nil || mt.GuestKey != "" || b.signer.last.Guest {
				t.Fatalf("account joined with key %q, claims %+v (%v)", mt.GuestKey, b.signer.last, err)
			}
		})
		t.Run("an account's membership is linked and joining again returns it", func(t *testing.T) {
			first, err := join(memberCaller, "Member", "open sesame")
			if err != nil {
				t.Fatal(err)
			}
			again, err := join(memberCaller, "Another name", "open sesame")
			if err != nil || again.Member.ID != first.Member.ID || b.signer.last.UserID != member.ID.String() {
				t.Fatalf("joined as %+v then %+v (%v)", first.Member, again.Member, err)
			}
		})
		t.Run("attempts count per address and per group", func(t *testing.T) {
			if !slices.Contains(b.limiter.keys, "join:ip:192.0.2.1") || !slices.Contains(b.limiter.keys, "join:group:"+g.ID.String()) {
				t.Fatalf("limiter keys = %v", b.limiter.keys)
			}
		})
		refusals := []struct {
			name, groupID, who, passcode string
			code                         apperr.Code
			checked                      bool // whether a passcode check may happen
		}{
			{"a wrong passcode is forbidden", g.ID.String(), "Mallory", "guess", apperr.Forbidden, true},
			{"an over-long passcode is forbidden without a check", g.ID.String(), "Mallory", strings.Repeat("x", 129), apperr.Forbidden, false},
			{"a bad name is invalid", g.ID.String(), "\x00", "open sesame", apperr.Invalid, false},
			{"the name of a member is a conflict, whatever its case", g.ID.String(), "gUEST", "open sesame", apperr.Conflict, true},
			{"the owner's name is a conflict", g.ID.String(), "OWNER", "open sesame", apperr.Conflict, true},
			{"an unknown group is not found", uuid.NewString(), "Mallory", "open sesame", apperr.NotFound, false},
			{"a malformed group id is not found", "../etc", "Mallory", "open sesame", apperr.NotFound, false},
		}
		for _, tt := range refusals {
			t.Run(tt.name, func(t *testing.T) {
				checks := b.hasher.checks
				_, err := b.Members.Join(ctx, Caller{}, Joining{Client: "c", GroupID: tt.groupID, Name: tt.who, Passcode: tt.passcode})
				wantCode(t, err, tt.code)
				if !tt.checked && b.hasher.checks != checks {
					t.Fatal("the passcode was checked")
				}
			})
		}
		t.Run("a limited group checks no passcode", func(t *testing.T) {
			b.limiter.deny["join:group:"+g.ID.String()] = true
			defer delete(b.limiter.deny, "join:group:"+g.ID.String())
			checks := b.hasher.checks
			_, err := join(Caller{}, "Mallory", "open sesame")
			wantCode(t, err, apperr.RateLimited)
			if b.hasher.checks != checks {
				t.Fatal("the passcode was checked")
			}
		})
	})
}

func TestRenewToken(t *testing.T) {
	eachStore(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		_, owner := b.account(t, "Owner")
		g := b.group(t, owner, "Club")
		guest, guestCaller := b.guest(t, g, "Guest")

		t.Run("a member token renews its own membership", func(t *testing.T) {
			mt, err := b.Members.RenewToken(ctx, guestCaller, g.ID.String())
			if err != nil || mt.Member.ID != guest.ID || b.signer.last.Subject != guest.ID.String() {
				t.Fatalf("renewed %+v, %v", mt.Member, err)
			}
		})
		t.Run("the owner's access token renews the owner's membership", func(t *testing.T) {
			mt, err := b.Members.RenewToken(ctx, owner, g.ID.String())
			if err != nil || mt.Member.DisplayName != "Owner" {
				t.Fatalf("renewed %+v, %v", mt.Member, err)
			}
		})
		t.Run("a member token whose membership ended is refused as revoked", func(t *testing.T) {
			ghost := Bearer(token.Claims{Subject: uuid.NewString(), Kind: token.KindMember, GroupID: g.ID.String()})
			_, err := b.Members.RenewToken(ctx, ghost, g.ID.String())
			wantCode(t, err, CodeRevoked)
		})
		t.Run("a member token whose member belongs to another group is not found", func(t *testing.T) {
			other := b.group(t, owner, "Other")
			forged := Bearer(token.Claims{Subject: guest.ID.String(), Kind: token.KindMember, GroupID: other.ID.String()})
			_, err := b.Members.RenewToken(ctx, forged, other.ID.String())
			wantCode(t, err, apperr.NotFound)
		})
	})
}

// Regression: issue 13 M6. Wrong passcodes now make the address and the group wait
// longer and longer; the group's failures are forgotten when someone gets in, the
// address's are not.
func TestWrongPasscodesBackOff(t *testing.T) {
	eachStore(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		backoff := ratelimit.Backoff{After: 2, Base: time.Second, Max: time.Minute}
		b.build(Limits{PasscodeBackoffPerIP: backoff, PasscodeBackoffPerGroup: backoff})
		_, owner := b.account(t, "Owner")
		g := b.group(t, owner, "Club")
		join := func(client, passcode string) error {
			_, err := b.Members.Join(ctx, Caller{}, Joining{Client: client, GroupID: g.ID.String(), Name: "Someone", Passcode: passcode})
			return err
		}
		for range 2 {
			wantCode(t, join("mallory", "wrong guess"), apperr.Forbidden)
		}
		wantCode(t, join("mallory", "wrong guess"), apperr.Forbidden)
		t.Run("beyond the free failures the address waits, right passcode or not", func(t *testing.T) {
			checks := b.hasher.checks
			wantCode(t, join("mallory", "open sesame"), apperr.RateLimited)
			if b.hasher.checks != checks {
				t.Fatal("a waiting address had its passcode checked")
			}
		})
		t.Run("the group waits too, whoever asks", func(t *testing.T) {
			wantCode(t, join("alice", "open sesame"), apperr.RateLimited)
		})
		t.Run("the right passcode clears the group's failures but not the address's", func(t *testing.T) {
			b.limiter.failures["passcode:group:"+g.ID.String()] = 0
			if err := join("alice", "open sesame"); err != nil {
				t.Fatal(err)
			}
			if b.limiter.failures["passcode:ip:mallory"] != 3 {
				t.Fatalf("the address has %d failures, want 3", b.limiter.failures["passcode:ip:mallory"])
			}
			wantCode(t, join("mallory", "open sesame"), apperr.RateLimited)
		})
	})
}

// mustHash is the hash of a guest key the server issued.
func mustHash(t testing.TB, key string) []byte {
	t.Helper()
	h, err := guestKeyHash(key)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestGuestMembershipsLastAtMostTheMaximumAge(t *testing.T) {
	eachStore(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		b.maxAge = time.Hour
		b.build(Limits{})
		b.now = time.Now()
		_, owner := b.account(t, "Owner")
		g := b.group(t, owner, "Club")
		guest, guestCaller := b.guest(t, g, "Guest")

		t.Run("a renewal near the cap gets a token that ends at the cap", func(t *testing.T) {
			b.now = guest.PasscodeAt.Add(time.Hour - 5*time.Minute)
			mt, err := b.Members.RenewToken(ctx, guestCaller, g.ID.String())
			if err != nil || mt.TTL > 5*time.Minute || mt.TTL < 4*time.Minute {
				t.Fatalf("renewed for %v (%v), want about 5m", mt.TTL, err)
			}
		})
		t.Run("beyond the cap the guest is refused as revoked", func(t *testing.T) {
			b.now = guest.PasscodeAt.Add(time.Hour + time.Minute)
			_, err := b.Members.RenewToken(ctx, guestCaller, g.ID.String())
			wantCode(t, err, CodeRevoked)
		})
		t.Run("accounts are not capped", func(t *testing.T) {
			if _, err := b.Members.RenewToken(ctx, owner, g.ID.String()); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("joining again with the passcode restarts the age", func(t *testing.T) {
			key := b.guestKeys[guest.ID]
			mt, err := b.Members.Join(ctx, Caller{}, Joining{Client: "c", GroupID: g.ID.String(), Name: "Guest", Passcode: "open sesame", GuestKey: key})
			if err != nil || mt.Member.ID != guest.ID {
				t.Fatalf("joined again as %+v (%v)", mt.Member, err)
			}
			if _, err := b.Members.RenewToken(ctx, guestCaller, g.ID.String()); err != nil {
				t.Fatalf("renewal after a fresh join: %v", err)
			}
		})
	})
}

func TestOnlyTheOwnersMemberTokenSaysOwner(t *testing.T) {
	eachStore(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		_, owner := b.account(t, "Owner")
		_, memberCaller := b.account(t, "Member")
		g := b.group(t, owner, "Club")
		_, guestCaller := b.guest(t, g, "Guest")
		join := func(c Caller, name string) func() (MemberToken, error) {
			return func() (MemberToken, error) {
				return b.Members.Join(ctx, c, Joining{Client: "192.0.2.1", GroupID: g.ID.String(), Name: name, Passcode: "open sesame"})
			}
		}
		renew := func(c Caller) func() (MemberToken, error) {
			return func() (MemberToken, error) { return b.Members.RenewToken(ctx, c, g.ID.String()) }
		}
		tests := []struct {
			name      string
			get       func() (MemberToken, error)
			wantOwner bool
		}{
			{"the owner's membership renewed with the access token is the owner's", renew(owner), true},
			{"the owner joining with the passcode gets an owner's token", join(owner, "Owner"), true},
			{"another account's membership is not the owner's", join(memberCaller, "Member"), false},
			{"a guest's membership is not the owner's", join(Caller{}, "Visitor"), false},
			{"a guest renewing its token does not become the owner", renew(guestCaller), false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				mt, err := tt.get()
				if err != nil {
					t.Fatal(err)
				}
				if c := b.signer.last; c.Owner != tt.wantOwner || c.Subject != mt.Member.ID.String() {
					t.Fatalf("signed %+v for member %s, want owner=%v", c, mt.Member.ID, tt.wantOwner)
				}
			})
		}
	})
}
