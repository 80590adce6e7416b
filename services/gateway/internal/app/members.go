package app

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/pkg/wire"
)

// Members lets people join groups with the passcode, renews their member tokens, lists a
// group's members, and ends memberships: a member leaves, the owner removes or bans one.
type Members struct {
	access   groupAccess
	bans     BanStore
	messages MessageStore
	presence Presence
	revoke   revocations
	hasher   Hasher
	guard    guard
	tokens   TokenSigner
	tokenTTL time.Duration
	// maxAge caps a guest's membership from its last join with the passcode; 0: none.
	maxAge time.Duration
	now    func() time.Time
}

// MemberToken is a member token with the membership it proves.
type MemberToken struct {
	Group  store.Group
	Member store.Member
	// Token is a member JWT scoped to Group, valid for TTL.
	Token string
	TTL   time.Duration
	// GuestKey is the guest's key, for guests who joined (empty otherwise): the client
	// keeps it and sends it with later joins, which then return the same membership.
	GuestKey string
}

// Joining is a request to join a group.
type Joining struct {
	// Client is the client's address as a rate-limit key (see clientip.Key).
	Client string
	// GroupID is the group's id as the client wrote it.
	GroupID string
	// Name is the display name the member will have.
	Name     string
	Passcode string
	// GuestKey is the key a guest got from an earlier join, if any; ignored for
	// accounts.
	GuestKey string
}

// Join checks the passcode (on the server, never in the browser), records the member and
// returns a member token scoped to this one group. A signed-in caller's membership is
// linked to the account, and a guest's to its guest key (a new one when it sends none):
// joining again with the same account or key returns the same membership. An account or
// guest key the group banned is refused with CodeBanned, and a display name another
// member has (compared as nameKey does, so the owner's name too) with apperr.Conflict.
//
// Attempts are limited per client address and per group before any passcode is checked,
// and every wrong passcode makes the address and the group wait longer before the next
// check (exponential back-off). The group's failures are forgotten when someone joins
// with the right passcode; the address's only after a quiet day, so an attacker cannot
// reset them by joining a group of its own.
func (m *Members) Join(ctx context.Context, c Caller, in Joining) (MemberToken, error) {
	byIP := client(in.Client)
	if err := m.guard.take(ctx, "join:ip:"+in.Client, m.guard.limits.PasscodePerIP, "passcode attempts", "passcode_per_ip", byIP); err != nil {
		return MemberToken{}, err
	}
	name, key, err := displayName(in.Name)
	if err != nil {
		return MemberToken{}, err
	}
	member := store.Member{ID: uuid.New(), DisplayName: name, NameKey: key}
	if c.Claims != nil && c.Claims.Kind == token.KindAccess {
		if uid, perr := uuid.Parse(c.Claims.Subject); perr == nil {
			member.UserID = uuid.NullUUID{UUID: uid, Valid: true}
		}
	}
	guestKey := ""
	if !member.UserID.Valid && in.GuestKey != "" {
		if member.GuestKeyHash, err = guestKeyHash(in.GuestKey); err != nil {
			return MemberToken{}, err
		}
		guestKey = in.GuestKey
	}
	wrong := apperr.New(apperr.Forbidden, "wrong passcode")
	if len(in.Passcode) > maxPasscodeLen {
		return MemberToken{}, wrong
	}
	g, err := m.access.load(ctx, in.GroupID)
	if err != nil {
		return MemberToken{}, err
	}
	member.GroupID = g.ID
	inGroup := zap.String("group", g.ID.String())
	if err := m.guard.take(ctx, "join:group:"+g.ID.String(), m.guard.limits.PasscodePerGroup,
		"passcode attempts for this group", "passcode_per_group", byIP, inGroup); err != nil {
		return MemberToken{}, err
	}
	ipKey, groupKey := "passcode:ip:"+in.Client, "passcode:group:"+g.ID.String()
	if err := m.guard.waitBackoff(ctx, ipKey, m.guard.limits.PasscodeBackoffPerIP,
		"passcodes from this address", "passcode_backoff_per_ip", byIP, inGroup); err != nil {
		return MemberToken{}, err
	}
	if err := m.guard.waitBackoff(ctx, groupKey, m.guard.limits.PasscodeBackoffPerGroup,
		"passcodes for this group", "passcode_backoff_per_group", byIP, inGroup); err != nil {
		return MemberToken{}, err
	}
	ok, err := m.hasher.Verify(ctx, in.Passcode, g.PasscodeHash)
	if err != nil {
		return MemberToken{}, err
	}
	if !ok {
		ipFails, err := m.guard.limiter.RecordFailure(ctx, ipKey, m.guard.limits.PasscodeBackoffPerIP)
		if err != nil {
			return MemberToken{}, err
		}
		groupFails, err := m.guard.limiter.RecordFailure(ctx, groupKey, m.guard.limits.PasscodeBackoffPerGroup)
		if err != nil {
			return MemberToken{}, err
		}
		m.guard.log.event(false, "passcode_failed", byIP, inGroup, zap.Int("address_failures", ipFails), zap.Int("group_failures", groupFails))
		return MemberToken{}, wrong
	}
	if !m.guard.limits.PasscodeBackoffPerGroup.Off() {
		if err := m.guard.limiter.ClearFailures(ctx, groupKey); err != nil {
			return MemberToken{}, err
		}
	}
	// Bans are checked after the passcode, so only people who know it learn of one.
	banned, err := m.bans.Banned(ctx, g.ID, member.UserID, member.GuestKeyHash)
	if err != nil {
		return MemberToken{}, err
	}
	if banned {
		m.guard.log.event(true, "banned_join_refused", byIP, inGroup, memberAccount(member.UserID))
		return MemberToken{}, apperr.New(CodeBanned, "you are banned from this group")
	}
	if !member.UserID.Valid && member.GuestKeyHash == nil {
		guestKey, member.GuestKeyHash = newGuestKey()
	}
	stored, err := m.enter(ctx, g, member)
	if err != nil {
		return MemberToken{}, err
	}
	t, err := m.memberToken(g, stored, m.tokenTTL)
	if stored.Guest() {
		t.GuestKey = guestKey
	}
	return t, err
}

// enter returns the membership of member's account or guest key in g when there is one,
// else stores member; either way the membership is touched as a join with the passcode.
func (m *Members) enter(ctx context.Context, g store.Group, member store.Member) (store.Member, error) {
	for range 2 {
		existing, err := m.existing(ctx, g, member)
		if err == nil {
			return m.access.members.TouchMember(ctx, existing.ID, m.now(), true)
		}
		if !apperr.Is(err, apperr.NotFound) {
			return store.Member{}, err
		}
		stored, err := m.access.members.CreateMemberWithPasscode(ctx, member, g.PasscodeHash)
		switch {
		case err == nil:
			return stored, nil
		case errors.Is(err, store.ErrNameTaken):
			return store.Member{}, apperr.Wrap(err, apperr.Conflict, "another member of this group is called %q; choose another name", member.DisplayName)
		case apperr.Is(err, apperr.NotFound):
			// The group was deleted, or the account, between our reads and the insert.
			return store.Member{}, errGroupNotFound
		case !apperr.Is(err, apperr.Conflict):
			return store.Member{}, err
		}
		// The account or guest key joined at the same moment: take that membership.
	}
	return store.Member{}, apperr.New(apperr.Unavailable, "the membership changed while joining; try again")
}

// existing finds the membership of member's account or guest key in g.
func (m *Members) existing(ctx context.Context, g store.Group, member store.Member) (store.Member, error) {
	switch {
	case member.UserID.Valid:
		return m.access.members.MemberByUser(ctx, g.ID, member.UserID.UUID)
	case member.GuestKeyHash != nil:
		return m.access.members.MemberByGuestKey(ctx, g.ID, member.GuestKeyHash)
	}
	return store.Member{}, apperr.New(apperr.NotFound, "member not found")
}

// RenewToken issues a fresh member token without the passcode, for a caller who proves
// membership with a member token of this group (even one about to expire) or with the
// access token of an account that is a member. Only a membership that still exists and
// is not banned is renewed (else CodeRevoked), and a guest's only until the membership
// age cap from its last join with the passcode: the token never outlives it.
func (m *Members) RenewToken(ctx context.Context, c Caller, groupID string) (MemberToken, error) {
	g, err := m.access.visible(ctx, c, groupID, accessMember)
	if err != nil {
		return MemberToken{}, err
	}
	member, err := m.access.own(ctx, c, g)
	if err != nil {
		return MemberToken{}, err
	}
	if banned, err := m.bans.Banned(ctx, g.ID, member.UserID, member.GuestKeyHash); err != nil {
		return MemberToken{}, err
	} else if banned {
		return MemberToken{}, errRevoked
	}
	ttl := m.tokenTTL
	if member.Guest() && m.maxAge > 0 {
		left := member.PasscodeAt.Add(m.maxAge).Sub(m.now())
		if left < time.Second {
			return MemberToken{}, apperr.New(CodeRevoked, "guest memberships last %s from joining; join again with the passcode", m.maxAge)
		}
		ttl = min(ttl, left.Truncate(time.Second))
	}
	if member, err = m.access.members.TouchMember(ctx, member.ID, m.now(), false); err != nil {
		if apperr.Is(err, apperr.NotFound) {
			err = errRevoked
		}
		return MemberToken{}, err
	}
	return m.memberToken(g, member, ttl)
}

func (m *Members) memberToken(g store.Group, member store.Member, ttl time.Duration) (MemberToken, error) {
	tok, err := m.tokens.Sign(memberClaims(g, member), ttl)
	if err != nil {
		return MemberToken{}, err
	}
	return MemberToken{Group: g, Member: member, Token: tok, TTL: ttl}, nil
}

// memberClaims are the claims of member's token. Owner is set for the membership of the
// group owner's account: realtime lets only that token moderate the room.
func memberClaims(g store.Group, member store.Member) token.Claims {
	c := token.Claims{
		Subject: member.ID.String(), Kind: token.KindMember, GroupID: g.ID.String(), Name: member.DisplayName,
		Guest: member.Guest(), Owner: isOwner(g, member),
	}
	if member.UserID.Valid {
		c.UserID = member.UserID.UUID.String()
	}
	return c
}

// isOwner reports whether member is the membership of g's owner account.
func isOwner(g store.Group, member store.Member) bool {
	return member.UserID.Valid && member.UserID.UUID == g.OwnerID
}

// Leave ends the caller's own membership (its member token's, or its account's): its
// sockets leave the room on every realtime instance and its member tokens stop working.
// The owner cannot leave (apperr.Conflict): it deletes the group instead.
func (m *Members) Leave(ctx context.Context, c Caller, groupID string) error {
	g, err := m.access.visible(ctx, c, groupID, accessMember)
	if err != nil {
		return err
	}
	me, err := m.access.own(ctx, c, g)
	if err != nil {
		return err
	}
	if isOwner(g, me) {
		return apperr.New(apperr.Conflict, "the owner cannot leave the group; delete it instead")
	}
	if err := m.revoke.revoke(ctx, g.ID, []uuid.UUID{me.ID}, wire.ReasonLeft); err != nil {
		return err
	}
	if _, err := m.access.members.DeleteMember(ctx, g.ID, me.ID); err != nil && !apperr.Is(err, apperr.NotFound) {
		return err
	}
	return nil
}

// memberAccount names the account behind a membership in a security event, if any.
func memberAccount(user uuid.NullUUID) zap.Field {
	if !user.Valid {
		return zap.Skip()
	}
	return zap.String("account", user.UUID.String())
}
