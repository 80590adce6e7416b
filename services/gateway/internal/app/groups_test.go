package app

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/token"
)

// roles is one group with a caller in every relation to it.
type roles struct {
	groupID                                     string
	owner, member, guest, stranger, otherMember Caller
}

func newRoles(t *testing.T, b *bundle) roles {
	t.Helper()
	ctx := context.Background()
	_, owner := b.account(t, "Owner")
	_, member := b.account(t, "Member")
	_, stranger := b.account(t, "Stranger")
	g := b.group(t, owner, "Book club")
	other := b.group(t, stranger, "Elsewhere")
	if _, err := b.Members.Join(ctx, member, Joining{Client: "c", GroupID: g.ID.String(), Name: "Member", Passcode: "open sesame"}); err != nil {
		t.Fatal(err)
	}
	_, guest := b.guest(t, g, "Guest")
	_, otherMember := b.guest(t, other, "Other guest")
	return roles{groupID: g.ID.String(), owner: owner, member: member, guest: guest, stranger: stranger, otherMember: otherMember}
}

// whoMay is the error code each caller gets from a group use case ("" for success).
type whoMay struct{ anonymous, stranger, otherMember, guest, member, owner apperr.Code }

var (
	membersMay = whoMay{apperr.Unauthorized, apperr.NotFound, apperr.NotFound, "", "", ""}
	ownerMay   = whoMay{apperr.Unauthorized, apperr.NotFound, apperr.NotFound, apperr.Forbidden, apperr.Forbidden, ""}
)

func (w whoMay) cases(r roles) []struct {
	who    string
	caller Caller
	code   apperr.Code
} {
	return []struct {
		who    string
		caller Caller
		code   apperr.Code
	}{
		{"an anonymous caller", Caller{}, w.anonymous},
		{"an account outside the group", r.stranger, w.stranger},
		{"a member of another group", r.otherMember, w.otherMember},
		{"a guest member", r.guest, w.guest},
		{"an account that joined", r.member, w.member},
		{"the owner", r.owner, w.owner},
	}
}

func TestGroupAccess(t *testing.T) {
	eachStore(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		r := newRoles(t, b)
		title := "Renamed"
		useCases := []struct {
			name string
			may  whoMay
			call func(Caller, string) error
		}{
			{"reading the group", membersMay, func(c Caller, id string) error { _, err := b.Groups.Get(ctx, c, id); return err }},
			{"listing the members", membersMay, func(c Caller, id string) error {
				_, err := b.Members.List(ctx, c, id, MembersQuery{Limit: 10})
				return err
			}},
			{"renewing a member token", membersMay, func(c Caller, id string) error { _, err := b.Members.RenewToken(ctx, c, id); return err }},
			{"reading the history", membersMay, func(c Caller, id string) error {
				_, _, err := b.History.Page(ctx, c, id, HistoryQuery{Limit: 10})
				return err
			}},
			{"renaming the group", ownerMay, func(c Caller, id string) error {
				_, err := b.Groups.Update(ctx, c, id, GroupChange{Title: &title})
				return err
			}},
		}
		for _, uc := range useCases {
			for _, tt := range uc.may.cases(r) {
				t.Run(uc.name+" as "+tt.who, func(t *testing.T) {
					wantCode(t, uc.call(tt.caller, r.groupID), tt.code)
					if tt.code == apperr.NotFound || tt.code == apperr.Unauthorized {
						// A missing or malformed group must look exactly the same.
						wantCode(t, uc.call(tt.caller, uuid.NewString()), tt.code)
						wantCode(t, uc.call(tt.caller, "not-a-uuid"), tt.code)
					}
				})
			}
		}
		t.Run("deleting the group is the owner's alone", func(t *testing.T) {
			for _, tt := range ownerMay.cases(r) {
				if tt.code != "" {
					wantCode(t, b.Groups.Delete(ctx, tt.caller, r.groupID), tt.code)
				}
			}
			if err := b.Groups.Delete(ctx, r.owner, r.groupID); err != nil {
				t.Fatal(err)
			}
			_, err := b.Groups.Get(ctx, r.owner, r.groupID)
			wantCode(t, err, apperr.NotFound)
		})
	})
}

func TestCreateAndChangeGroups(t *testing.T) {
	eachStore(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		owner, ownerCaller := b.account(t, "Owner")
		g := b.group(t, ownerCaller, "  Book club ")

		t.Run("the title is trimmed and the passcode stored as a hash", func(t *testing.T) {
			stored, err := b.st.Group(ctx, g.ID)
			if err != nil || stored.Title != "Book club" || stored.PasscodeHash != "plain:open sesame" || stored.OwnerID != owner.ID {
				t.Fatalf("stored %+v, %v", stored, err)
			}
		})
		t.Run("the owner is the first member, under the account's name", func(t *testing.T) {
			p, err := b.Members.List(ctx, ownerCaller, g.ID.String(), MembersQuery{Limit: 10})
			if err != nil || len(p.Members) != 1 || p.Members[0].DisplayName != "Owner" || p.Members[0].UserID.UUID != owner.ID || !p.Members[0].Owner {
				t.Fatalf("members = %+v, %v", p.Members, err)
			}
		})
		t.Run("the owner lists its groups newest first", func(t *testing.T) {
			b.group(t, ownerCaller, "Second")
			gs, err := b.Groups.Mine(ctx, ownerCaller)
			if err != nil || len(gs) != 2 || gs[0].Title != "Second" {
				t.Fatalf("Mine = %+v, %v", gs, err)
			}
		})
		refusals := []struct {
			name            string
			caller          Caller
			title, passcode string
			code            apperr.Code
		}{
			{"an anonymous caller cannot create a group", Caller{}, "Title", "long enough", apperr.Unauthorized},
			{"a member token cannot create a group", Bearer(token.Claims{Subject: uuid.NewString(), Kind: token.KindMember}), "Title", "long enough", apperr.Unauthorized},
			{"a deleted account cannot create a group", Bearer(token.Claims{Subject: uuid.NewString(), Kind: token.KindAccess}), "Title", "long enough", apperr.Unauthorized},
			{"an empty title is invalid", ownerCaller, " ", "long enough", apperr.Invalid},
			{"a short passcode is invalid", ownerCaller, "Title", "abc", apperr.Invalid},
		}
		for _, tt := range refusals {
			t.Run(tt.name, func(t *testing.T) {
				_, err := b.Groups.Create(ctx, tt.caller, tt.title, tt.passcode)
				wantCode(t, err, tt.code)
			})
		}
		t.Run("an update must change something", func(t *testing.T) {
			_, err := b.Groups.Update(ctx, ownerCaller, g.ID.String(), GroupChange{})
			wantCode(t, err, apperr.Invalid)
		})
		t.Run("a new passcode replaces the old one", func(t *testing.T) {
			code := "brand new code"
			if _, err := b.Groups.Update(ctx, ownerCaller, g.ID.String(), GroupChange{Passcode: &code}); err != nil {
				t.Fatal(err)
			}
			_, err := b.Members.Join(ctx, Caller{}, Joining{Client: "c", GroupID: g.ID.String(), Name: "Late", Passcode: "open sesame"})
			wantCode(t, err, apperr.Forbidden)
			if _, err := b.Members.Join(ctx, Caller{}, Joining{Client: "c", GroupID: g.ID.String(), Name: "Late", Passcode: code}); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("a bad new title is invalid and changes nothing", func(t *testing.T) {
			bad := "tab\there"
			_, err := b.Groups.Update(ctx, ownerCaller, g.ID.String(), GroupChange{Title: &bad})
			wantCode(t, err, apperr.Invalid)
			if stored, _ := b.st.Group(ctx, g.ID); stored.Title != "Book club" {
				t.Fatalf("title became %q", stored.Title)
			}
		})
	})
}

// Regression: issue 13 M4. One account created 411 groups in 17 s, each costing a hash.
// Creations and passcode changes now count per account, and an account owns at most
// MaxGroupsPerAccount groups.
func TestGroupHashingIsLimitedPerAccount(t *testing.T) {
	eachStore(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		b.build(Limits{MaxGroupsPerAccount: 2})
		owner, ownerCaller := b.account(t, "Owner")
		g := b.group(t, ownerCaller, "One")
		b.group(t, ownerCaller, "Two")

		t.Run("a creation beyond the cap is a conflict and costs no hash", func(t *testing.T) {
			hashes := b.hasher.hashes
			_, err := b.Groups.Create(ctx, ownerCaller, "Three", "long enough")
			wantCode(t, err, apperr.Conflict)
			if b.hasher.hashes != hashes {
				t.Fatal("a refused creation hashed its passcode")
			}
			if gs, _ := b.Groups.Mine(ctx, ownerCaller); len(gs) != 2 {
				t.Fatalf("the owner has %d groups, want 2", len(gs))
			}
		})
		t.Run("the store enforces the cap even when the early look misses it", func(t *testing.T) {
			_, _, err := b.st.CreateGroupWithOwner(ctx, store.Group{ID: uuid.New(), OwnerID: owner.ID, Title: "Race", PasscodeHash: "x"},
				store.Member{ID: uuid.New(), DisplayName: "Owner"}, 2)
			if !errors.Is(err, store.ErrTooManyGroups) {
				t.Fatalf("CreateGroupWithOwner over the cap = %v, want ErrTooManyGroups", err)
			}
		})
		t.Run("creations count per account before any hash", func(t *testing.T) {
			_, other := b.account(t, "Other")
			key := "groups:create:" + other.Claims.Subject
			b.limiter.deny[key] = true
			defer delete(b.limiter.deny, key)
			hashes := b.hasher.hashes
			_, err := b.Groups.Create(ctx, other, "Flood", "long enough")
			wantCode(t, err, apperr.RateLimited)
			if b.hasher.hashes != hashes {
				t.Fatal("a limited creation hashed its passcode")
			}
		})
		// Regression: issue 13 M4 (a flood of refused creations and passcode changes cost
		// two PostgreSQL queries each, which slowed everyone's sign-in).
		t.Run("a refused creation or passcode change queries no store", func(t *testing.T) {
			_, flooder := b.account(t, "Flooder")
			var queries atomic.Int64
			counted := New(Deps{
				Users: countingUsers{b.st, &queries}, Addresses: b.st, OIDCLogins: b.st, Groups: countingGroups{b.st, &queries},
				Members: b.st, Bans: b.st, Messages: b.st, Revoker: b.revoker, Presence: b.presence,
				Sessions: fakeSessions{}, Hasher: b.hasher, Limiter: b.limiter, Limits: Limits{MaxGroupsPerAccount: 2},
				Tokens: b.signer, MemberTokenTTL: 15 * time.Minute, OIDC: b.idp, Log: zap.NewNop(),
				Now: func() time.Time { return b.now },
			})
			for _, key := range []string{"groups:create:" + flooder.Claims.Subject, "groups:passcode:" + flooder.Claims.Subject} {
				b.limiter.deny[key] = true
				defer delete(b.limiter.deny, key)
			}
			_, err := counted.Groups.Create(ctx, flooder, "Flood", "long enough")
			wantCode(t, err, apperr.RateLimited)
			code := "another passcode"
			_, err = counted.Groups.Update(ctx, flooder, g.ID.String(), GroupChange{Passcode: &code})
			wantCode(t, err, apperr.RateLimited)
			if n := queries.Load(); n != 0 {
				t.Fatalf("refused requests made %d store queries, want 0", n)
			}
		})
		t.Run("passcode changes count per account before any hash", func(t *testing.T) {
			key := "groups:passcode:" + owner.ID.String()
			b.limiter.deny[key] = true
			defer delete(b.limiter.deny, key)
			code, title := "another passcode", "Renamed"
			_, err := b.Groups.Update(ctx, ownerCaller, g.ID.String(), GroupChange{Passcode: &code})
			wantCode(t, err, apperr.RateLimited)
			if _, err := b.Groups.Update(ctx, ownerCaller, g.ID.String(), GroupChange{Title: &title}); err != nil {
				t.Fatalf("a title change counted as a passcode change: %v", err)
			}
		})
	})
}

// countingUsers and countingGroups count the lookups a use case makes.
type countingUsers struct {
	UserStore
	n *atomic.Int64
}

func (c countingUsers) UserByID(ctx context.Context, id uuid.UUID) (store.User, error) {
	c.n.Add(1)
	return c.UserStore.UserByID(ctx, id)
}

type countingGroups struct {
	GroupStore
	n *atomic.Int64
}

func (c countingGroups) Group(ctx context.Context, id uuid.UUID) (store.Group, error) {
	c.n.Add(1)
	return c.GroupStore.Group(ctx, id)
}

func (c countingGroups) GroupsByOwner(ctx context.Context, owner uuid.UUID) ([]store.Group, error) {
	c.n.Add(1)
	return c.GroupStore.GroupsByOwner(ctx, owner)
}
