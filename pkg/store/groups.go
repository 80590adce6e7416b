package store

import (
	"context"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/db/dbgen"
	"github.com/quickchat-go/quickchat/pkg/apperr"
)

// CreateGroup stores a new group.
func (s *Store) CreateGroup(ctx context.Context, g Group) (Group, error) {
	row, err := s.q.CreateGroup(ctx, dbgen.CreateGroupParams{
		ID: g.ID, OwnerID: g.OwnerID, Title: g.Title, PasscodeHash: g.PasscodeHash,
	})
	if err != nil {
		return Group{}, translate(err, "group")
	}
	return Group(row), nil
}

// ErrTooManyGroups is the error of CreateGroupWithOwner when the owner already owns the
// most groups allowed.
var ErrTooManyGroups = apperr.New(apperr.Conflict, "the account owns the most groups allowed")

// CreateGroupWithOwner stores a new group and makes its owner its first member, in one
// transaction, so an owner can always get a member token for the groups it created. When
// maxOwned is positive and the owner already owns that many groups, nothing is stored and
// the error is ErrTooManyGroups; concurrent creations by one owner are serialized, so the
// cap holds exactly.
func (s *Store) CreateGroupWithOwner(ctx context.Context, g Group, owner Member, maxOwned int) (Group, Member, error) {
	var gr dbgen.ChatGroup
	var mr dbgen.GroupMember
	err := s.inTx(ctx, func(q *dbgen.Queries) error {
		var err error
		if maxOwned > 0 {
			if _, err := q.LockGroupOwner(ctx, g.OwnerID); err != nil {
				return translate(err, "group owner")
			}
			n, err := q.CountGroupsByOwner(ctx, g.OwnerID)
			if err != nil {
				return translate(err, "groups")
			}
			if n >= int64(maxOwned) {
				return ErrTooManyGroups
			}
		}
		gr, err = q.CreateGroup(ctx, dbgen.CreateGroupParams{
			ID: g.ID, OwnerID: g.OwnerID, Title: g.Title, PasscodeHash: g.PasscodeHash,
		})
		if err != nil {
			return translate(err, "group")
		}
		mr, err = q.CreateMember(ctx, dbgen.CreateMemberParams{
			ID: owner.ID, GroupID: g.ID, UserID: uuid.NullUUID{UUID: g.OwnerID, Valid: true}, DisplayName: owner.DisplayName,
			NameKey: owner.NameKey,
		})
		return translate(err, "member")
	})
	if err != nil {
		return Group{}, Member{}, err
	}
	return Group(gr), memberFrom(mr), nil
}

// Group returns a group by id.
func (s *Store) Group(ctx context.Context, id uuid.UUID) (Group, error) {
	row, err := s.q.GetGroup(ctx, id)
	if err != nil {
		return Group{}, translate(err, "group")
	}
	return Group(row), nil
}

// GroupsByOwner lists the groups an account owns, newest first.
func (s *Store) GroupsByOwner(ctx context.Context, owner uuid.UUID) ([]Group, error) {
	rows, err := s.q.ListGroupsByOwner(ctx, owner)
	if err != nil {
		return nil, translate(err, "groups")
	}
	out := make([]Group, len(rows))
	for i, r := range rows {
		out[i] = Group(r)
	}
	return out, nil
}

// GroupUpdate holds the fields to change; empty strings keep the current value.
type GroupUpdate struct {
	Title        string
	PasscodeHash string
}

// UpdateGroup changes a group's title and/or passcode hash.
func (s *Store) UpdateGroup(ctx context.Context, id uuid.UUID, u GroupUpdate) (Group, error) {
	row, err := s.q.UpdateGroup(ctx, dbgen.UpdateGroupParams{
		ID: id, Title: nullable(u.Title), PasscodeHash: nullable(u.PasscodeHash),
	})
	if err != nil {
		return Group{}, translate(err, "group")
	}
	return Group(row), nil
}

// UpdateGroupRemovingGuests is UpdateGroup that also ends every guest membership of the
// group, in the same transaction, and returns the ids of the guests it removed (a passcode
// change that revokes guests). Joins with the old passcode that are under way either end
// before it, and are removed with the others, or fail with ErrPasscodeChanged.
func (s *Store) UpdateGroupRemovingGuests(ctx context.Context, id uuid.UUID, u GroupUpdate) (Group, []uuid.UUID, error) {
	var (
		row     dbgen.ChatGroup
		removed []uuid.UUID
	)
	err := s.inTx(ctx, func(q *dbgen.Queries) error {
		var err error
		// Updating first locks the group row, which CreateMemberWithPasscode waits for.
		if row, err = q.UpdateGroup(ctx, dbgen.UpdateGroupParams{
			ID: id, Title: nullable(u.Title), PasscodeHash: nullable(u.PasscodeHash),
		}); err != nil {
			return translate(err, "group")
		}
		removed, err = q.DeleteGuestMembers(ctx, id)
		return translate(err, "members")
	})
	if err != nil {
		return Group{}, nil, err
	}
	return Group(row), removed, nil
}

// DeleteGroup removes a group with its members and messages.
func (s *Store) DeleteGroup(ctx context.Context, id uuid.UUID) error {
	n, err := s.q.DeleteGroup(ctx, id)
	if err != nil {
		return translate(err, "group")
	}
	if n == 0 {
		return apperr.New(apperr.NotFound, "group not found")
	}
	return nil
}
