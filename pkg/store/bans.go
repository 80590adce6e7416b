package store

import (
	"context"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/db/dbgen"
	"github.com/quickchat-go/quickchat/pkg/apperr"
)

// BanMember ends a membership and bans its holder, in one transaction: the account, or the
// guest's key, may not join the group again until the ban (id banID) is lifted. A
// membership that ended already is apperr.NotFound and bans nobody.
func (s *Store) BanMember(ctx context.Context, group, member, banID uuid.UUID) (Ban, error) {
	var ban dbgen.GroupBan
	err := s.inTx(ctx, func(q *dbgen.Queries) error {
		// Deleting first locks the row: of two bans at once, one finds nothing to ban.
		m, err := q.DeleteMember(ctx, dbgen.DeleteMemberParams{GroupID: group, ID: member})
		if err != nil {
			return translate(err, "member")
		}
		ban, err = q.CreateBan(ctx, dbgen.CreateBanParams{
			ID: banID, GroupID: group, MemberID: m.ID, UserID: m.UserID, GuestKeyHash: m.GuestKeyHash, DisplayName: m.DisplayName,
		})
		return translate(err, "ban")
	})
	if err != nil {
		return Ban{}, err
	}
	return Ban(ban), nil
}

// Bans lists a group's bans, oldest first.
func (s *Store) Bans(ctx context.Context, group uuid.UUID) ([]Ban, error) {
	rows, err := s.q.ListBans(ctx, group)
	if err != nil {
		return nil, translate(err, "bans")
	}
	out := make([]Ban, len(rows))
	for i, r := range rows {
		out[i] = Ban(r)
	}
	return out, nil
}

// DeleteBan lifts a ban of a group; apperr.NotFound when the group has no such ban.
func (s *Store) DeleteBan(ctx context.Context, group, id uuid.UUID) error {
	n, err := s.q.DeleteBan(ctx, dbgen.DeleteBanParams{GroupID: group, ID: id})
	if err != nil {
		return translate(err, "ban")
	}
	if n == 0 {
		return apperr.New(apperr.NotFound, "ban not found")
	}
	return nil
}

// Banned reports whether the group bans the account user or the guest key whose hash is
// guestKeyHash (either may be absent).
func (s *Store) Banned(ctx context.Context, group uuid.UUID, user uuid.NullUUID, guestKeyHash []byte) (bool, error) {
	if !user.Valid && guestKeyHash == nil {
		return false, nil
	}
	banned, err := s.q.IsBanned(ctx, dbgen.IsBannedParams{GroupID: group, UserID: user, GuestKeyHash: guestKeyHash})
	if err != nil {
		return false, translate(err, "ban")
	}
	return banned, nil
}
