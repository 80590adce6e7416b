package app

import (
	"context"
	"errors"
	"slices"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/wire"
)

// Groups creates, shows, changes and deletes chat groups. Group ids are taken as the
// client wrote them: a malformed id is simply a group that does not exist.
//
// Every passcode a group gets is hashed, which is expensive on purpose, so the hashing one
// account can cause is limited: group creations and passcode changes per account, and
// the groups one account may own. The hashing runs on its own lane (Deps.GroupHasher),
// which can never take the capacity sign-ins and joins need.
type Groups struct {
	access groupAccess
	users  UserStore
	hasher Hasher
	guard  guard
	revoke revocations
	// attachments deletes the files of a deleted group; log reports when it cannot.
	attachments *Attachments
	log         *zap.Logger
}

// Mine lists the groups the signed-in caller owns, newest first.
func (g *Groups) Mine(ctx context.Context, c Caller) ([]store.Group, error) {
	owner, err := c.account()
	if err != nil {
		return nil, err
	}
	return g.access.groups.GroupsByOwner(ctx, owner)
}

// Create creates a group owned by the signed-in caller, who also becomes its first member
// under the account's name. Only a hash of the passcode is stored.
func (g *Groups) Create(ctx context.Context, c Caller, title, passcode string) (store.Group, error) {
	ownerID, err := c.account()
	if err != nil {
		return store.Group{}, err
	}
	if title, err = cleanName(title, "title"); err != nil {
		return store.Group{}, err
	}
	if err := checkPasscode(passcode); err != nil {
		return store.Group{}, err
	}
	who := zap.String("account", ownerID.String())
	// The per-account limit comes first: a refusal the limiter remembers costs no
	// PostgreSQL query, so a flood of refused creations cannot slow other requests.
	if err := g.guard.take(ctx, "groups:create:"+ownerID.String(), g.guard.limits.GroupCreatePerAccount,
		"groups created", "group_create_per_account", who); err != nil {
		return store.Group{}, err
	}
	owner, err := g.users.UserByID(ctx, ownerID)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			err = apperr.New(apperr.Unauthorized, "account no longer exists")
		}
		return store.Group{}, err
	}
	maxOwned := g.guard.limits.MaxGroupsPerAccount
	// The store enforces the cap atomically; looking first spares the hash when the
	// account is at the cap already.
	if maxOwned > 0 {
		owned, err := g.access.groups.GroupsByOwner(ctx, owner.ID)
		if err != nil {
			return store.Group{}, err
		}
		if len(owned) >= maxOwned {
			return store.Group{}, g.tooMany(maxOwned, who)
		}
	}
	hash, err := g.hasher.Hash(ctx, passcode)
	if err != nil {
		return store.Group{}, err
	}
	created, _, err := g.access.groups.CreateGroupWithOwner(ctx,
		store.Group{ID: uuid.New(), OwnerID: owner.ID, Title: title, PasscodeHash: hash},
		store.Member{ID: uuid.New(), DisplayName: owner.Name, NameKey: nameKey(owner.Name)}, maxOwned)
	if errors.Is(err, store.ErrTooManyGroups) {
		return store.Group{}, g.tooMany(maxOwned, who)
	}
	return created, err
}

func (g *Groups) tooMany(maxOwned int, who zap.Field) error {
	g.guard.log.event(true, "group_cap_reached", who, zap.Int("max_groups", maxOwned))
	return apperr.New(apperr.Conflict, "you already own %d groups, the most allowed; delete one first", maxOwned)
}

// Get returns a group its members (and owner) may see.
func (g *Groups) Get(ctx context.Context, c Caller, groupID string) (store.Group, error) {
	return g.access.visible(ctx, c, groupID, accessMember)
}

// GroupChange is a change of a group; a nil field is left as it is.
type GroupChange struct {
	Title    *string
	Passcode *string
	// KeepMembers keeps the guests' memberships through a passcode change; by default
	// they end (see Groups.Update).
	KeepMembers bool
}

// Update changes the title, the passcode or both; only the owner may. A new passcode ends
// every guest membership unless ch.KeepMembers: their sockets leave the room on every
// realtime instance and their tokens stop working, so whoever had the old passcode (or a
// leaked share link) must get the new one. Members with accounts keep their memberships.
func (g *Groups) Update(ctx context.Context, c Caller, groupID string, ch GroupChange) (store.Group, error) {
	if ch.Title == nil && ch.Passcode == nil {
		return store.Group{}, apperr.New(apperr.Invalid, "give a title, a passcode or both")
	}
	if ch.Passcode != nil {
		if err := checkPasscode(*ch.Passcode); err != nil {
			return store.Group{}, err
		}
		// Only the owner may change a passcode, so the caller's account is the owner's
		// whenever the change goes ahead. Charging it before the group is looked up makes
		// a remembered refusal cost no PostgreSQL query.
		account, err := c.account()
		if err != nil {
			return store.Group{}, err
		}
		if err := g.guard.take(ctx, "groups:passcode:"+account.String(), g.guard.limits.PasscodeChangePerAccount,
			"passcode changes", "passcode_change_per_account", zap.String("account", account.String())); err != nil {
			return store.Group{}, err
		}
	}
	group, err := g.access.visible(ctx, c, groupID, accessOwner)
	if err != nil {
		return store.Group{}, err
	}
	var u store.GroupUpdate
	if ch.Title != nil {
		if u.Title, err = cleanName(*ch.Title, "title"); err != nil {
			return store.Group{}, err
		}
	}
	if ch.Passcode == nil {
		return g.access.groups.UpdateGroup(ctx, group.ID, u)
	}
	if u.PasscodeHash, err = g.hasher.Hash(ctx, *ch.Passcode); err != nil {
		return store.Group{}, err
	}
	if ch.KeepMembers {
		return g.access.groups.UpdateGroup(ctx, group.ID, u)
	}
	guests, err := g.access.members.GuestMemberIDs(ctx, group.ID)
	if err != nil {
		return store.Group{}, err
	}
	if err := g.revoke.revoke(ctx, group.ID, guests, wire.ReasonPasscodeChanged); err != nil {
		return store.Group{}, err
	}
	updated, removed, err := g.access.groups.UpdateGroupRemovingGuests(ctx, group.ID, u)
	if err != nil {
		return store.Group{}, err
	}
	// Guests who joined between the listing and the change were removed with the others
	// but not yet revoked in realtime. The change is made, so a failure here is only
	// logged: their tokens are refused at renewal and expire within the token lifetime.
	late := slices.DeleteFunc(removed, func(id uuid.UUID) bool { return slices.Contains(guests, id) })
	if err := g.revoke.revoke(ctx, group.ID, late, wire.ReasonPasscodeChanged); err != nil {
		g.guard.log.log.Error("revoking guests who joined during a passcode change failed",
			zap.String("group", group.ID.String()), zap.Int("guests", len(late)), zap.Error(err))
	}
	g.guard.log.event(false, "guests_revoked", zap.String("group", group.ID.String()),
		zap.Int("guests", len(guests)+len(late)), zap.String("reason", wire.ReasonPasscodeChanged))
	return updated, nil
}

// Delete deletes a group with its members and messages; only the owner may.
func (g *Groups) Delete(ctx context.Context, c Caller, groupID string) error {
	group, err := g.access.visible(ctx, c, groupID, accessOwner)
	if err != nil {
		return err
	}
	if err := g.access.groups.DeleteGroup(ctx, group.ID); err != nil {
		return err
	}
	// The group is gone either way: files the store cannot delete now are left to the
	// janitor, which deletes the files of groups that no longer exist.
	if err := g.attachments.PurgeGroup(ctx, group.ID); err != nil {
		g.log.Warn("deleting a deleted group's files failed; the janitor retries", zap.String("group", group.ID.String()), zap.Error(err))
	}
	return nil
}
