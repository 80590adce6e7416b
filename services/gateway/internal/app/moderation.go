package app

import (
	"context"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/wire"
)

// revocations ends memberships in the realtime service. Every use case that ends
// memberships calls it before it deletes them: when realtime cannot be told, nothing
// changes and the caller may retry (both steps are idempotent); were the rows deleted
// first, the members' sockets would stay in the room until their tokens expired.
type revocations struct {
	revoker Revoker
	log     securityLog
}

// revoke revokes members of group for reason (a wire.Reason value); a failure is
// apperr.Unavailable.
func (r revocations) revoke(ctx context.Context, group uuid.UUID, members []uuid.UUID, reason string) error {
	if len(members) == 0 {
		return nil
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.String()
	}
	if err := r.revoker.Revoke(ctx, group.String(), ids, reason); err != nil {
		return apperr.Wrap(err, apperr.Unavailable, "the realtime service could not be told; nothing changed, try again")
	}
	return nil
}

var errMemberNotFound = apperr.New(apperr.NotFound, "member not found")

// target loads the member of g that the owner names; malformed ids, members of other
// groups and ended memberships are not found. The owner's own membership is a conflict:
// owners cannot remove or ban themselves.
func (m *Members) target(ctx context.Context, g store.Group, rawID string) (store.Member, error) {
	id, err := uuid.Parse(rawID)
	if err != nil {
		return store.Member{}, errMemberNotFound
	}
	t, err := m.access.members.Member(ctx, id)
	switch {
	case apperr.Is(err, apperr.NotFound) || (err == nil && t.GroupID != g.ID):
		return store.Member{}, errMemberNotFound
	case err != nil:
		return store.Member{}, err
	case t.UserID.Valid && t.UserID.UUID == g.OwnerID:
		return store.Member{}, apperr.New(apperr.Conflict, "the owner's membership cannot end; delete the group instead")
	}
	return t, nil
}

// Remove ends a member's membership; only the owner may. The member's sockets leave the
// room on every realtime instance at once and its member tokens stop working; it may
// join again with the passcode, as a new member.
func (m *Members) Remove(ctx context.Context, c Caller, groupID, memberID string) error {
	g, err := m.access.visible(ctx, c, groupID, accessOwner)
	if err != nil {
		return err
	}
	t, err := m.target(ctx, g, memberID)
	if err != nil {
		return err
	}
	if err := m.revoke.revoke(ctx, g.ID, []uuid.UUID{t.ID}, wire.ReasonRemoved); err != nil {
		return err
	}
	if _, err := m.access.members.DeleteMember(ctx, g.ID, t.ID); err != nil && !apperr.Is(err, apperr.NotFound) {
		return err
	}
	m.guard.log.event(false, "member_removed", zap.String("group", g.ID.String()), zap.String("member", t.ID.String()),
		memberAccount(t.UserID), zap.String("by", g.OwnerID.String()))
	return nil
}

// Ban ends a member's membership as Remove does and bans it: its account, or its guest
// key, may not join the group again until the owner lifts the ban. Only the owner may.
func (m *Members) Ban(ctx context.Context, c Caller, groupID, memberID string) (store.Ban, error) {
	g, err := m.access.visible(ctx, c, groupID, accessOwner)
	if err != nil {
		return store.Ban{}, err
	}
	t, err := m.target(ctx, g, memberID)
	if err != nil {
		return store.Ban{}, err
	}
	if err := m.revoke.revoke(ctx, g.ID, []uuid.UUID{t.ID}, wire.ReasonBanned); err != nil {
		return store.Ban{}, err
	}
	ban, err := m.bans.BanMember(ctx, g.ID, t.ID, uuid.New())
	if apperr.Is(err, apperr.NotFound) {
		// The membership ended meanwhile (the member left, or another ban won).
		return store.Ban{}, errMemberNotFound
	}
	if err != nil {
		return store.Ban{}, err
	}
	m.guard.log.event(false, "member_banned", zap.String("group", g.ID.String()), zap.String("member", t.ID.String()),
		memberAccount(t.UserID), zap.Bool("guest_key", t.GuestKeyHash != nil), zap.String("ban", ban.ID.String()),
		zap.String("by", g.OwnerID.String()))
	return ban, nil
}

// Bans lists a group's bans, oldest first; only the owner may.
func (m *Members) Bans(ctx context.Context, c Caller, groupID string) ([]store.Ban, error) {
	g, err := m.access.visible(ctx, c, groupID, accessOwner)
	if err != nil {
		return nil, err
	}
	return m.bans.Bans(ctx, g.ID)
}

// Unban lifts a ban; only the owner may. The banned account or guest may then join again
// with the passcode.
func (m *Members) Unban(ctx context.Context, c Caller, groupID, banID string) error {
	g, err := m.access.visible(ctx, c, groupID, accessOwner)
	if err != nil {
		return err
	}
	notFound := apperr.New(apperr.NotFound, "ban not found")
	id, err := uuid.Parse(banID)
	if err != nil {
		return notFound
	}
	if err := m.bans.DeleteBan(ctx, g.ID, id); err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return notFound
		}
		return err
	}
	m.guard.log.event(false, "member_unbanned", zap.String("group", g.ID.String()), zap.String("ban", id.String()),
		zap.String("by", g.OwnerID.String()))
	return nil
}
