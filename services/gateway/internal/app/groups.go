package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
)

// Groups creates, shows, changes and deletes chat groups. Group ids are taken as the
// client wrote them: a malformed id is simply a group that does not exist.
type Groups struct {
	access groupAccess
	users  UserStore
	hasher Hasher
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
	owner, err := g.users.UserByID(ctx, ownerID)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			err = apperr.New(apperr.Unauthorized, "account no longer exists")
		}
		return store.Group{}, err
	}
	hash, err := g.hasher.Hash(ctx, passcode)
	if err != nil {
		return store.Group{}, err
	}
	created, _, err := g.access.groups.CreateGroupWithOwner(ctx,
		store.Group{ID: uuid.New(), OwnerID: owner.ID, Title: title, PasscodeHash: hash},
		store.Member{ID: uuid.New(), DisplayName: owner.Name})
	return created, err
}

// Get returns a group its members (and owner) may see.
func (g *Groups) Get(ctx context.Context, c Caller, groupID string) (store.Group, error) {
	return g.access.visible(ctx, c, groupID, accessMember)
}

// Update changes the title, the passcode or both (nil leaves a field as it is); only the
// owner may.
func (g *Groups) Update(ctx context.Context, c Caller, groupID string, title, passcode *string) (store.Group, error) {
	group, err := g.access.visible(ctx, c, groupID, accessOwner)
	if err != nil {
		return store.Group{}, err
	}
	if title == nil && passcode == nil {
		return store.Group{}, apperr.New(apperr.Invalid, "give a title, a passcode or both")
	}
	var u store.GroupUpdate
	if title != nil {
		if u.Title, err = cleanName(*title, "title"); err != nil {
			return store.Group{}, err
		}
	}
	if passcode != nil {
		if err := checkPasscode(*passcode); err != nil {
			return store.Group{}, err
		}
		if u.PasscodeHash, err = g.hasher.Hash(ctx, *passcode); err != nil {
			return store.Group{}, err
		}
	}
	return g.access.groups.UpdateGroup(ctx, group.ID, u)
}

// Delete deletes a group with its members and messages; only the owner may.
func (g *Groups) Delete(ctx context.Context, c Caller, groupID string) error {
	group, err := g.access.visible(ctx, c, groupID, accessOwner)
	if err != nil {
		return err
	}
	return g.access.groups.DeleteGroup(ctx, group.ID)
}
