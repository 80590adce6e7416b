package app

import (
	"context"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/token"
)

// Members lets people join groups with the passcode, renews their member tokens and lists
// a group's members.
type Members struct {
	access   groupAccess
	hasher   Hasher
	guard    guard
	tokens   TokenSigner
	tokenTTL time.Duration
}

// MemberToken is a member token with the membership it proves.
type MemberToken struct {
	Group  store.Group
	Member store.Member
	// Token is a member JWT scoped to Group, valid for TTL.
	Token string
	TTL   time.Duration
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
}

// Join checks the passcode (on the server, never in the browser), records the member and
// returns a member token scoped to this one group. A signed-in caller's membership is
// linked to the account, and joining again returns the same membership.
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
	name, err := cleanName(in.Name, "name")
	if err != nil {
		return MemberToken{}, err
	}
	wrong := apperr.New(apperr.Forbidden, "wrong passcode")
	if len(in.Passcode) > maxPasscodeLen {
		return MemberToken{}, wrong
	}
	g, err := m.access.load(ctx, in.GroupID)
	if err != nil {
		return MemberToken{}, err
	}
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
	member := store.Member{ID: uuid.New(), GroupID: g.ID, DisplayName: name}
	if c.Claims != nil && c.Claims.Kind == token.KindAccess {
		if uid, perr := uuid.Parse(c.Claims.Subject); perr == nil {
			member.UserID = uuid.NullUUID{UUID: uid, Valid: true}
		}
	}
	stored, err := m.access.members.CreateMember(ctx, member)
	if apperr.Is(err, apperr.Conflict) && member.UserID.Valid {
		// The account is already a member: hand out a fresh token for that membership.
		stored, err = m.access.members.MemberByUser(ctx, g.ID, member.UserID.UUID)
	}
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			// The group was deleted, or the account, between our reads and the insert.
			err = errGroupNotFound
		}
		return MemberToken{}, err
	}
	return m.memberToken(g, stored)
}

// RenewToken issues a fresh member token without the passcode, for a caller who proves
// membership with a member token of this group (even one about to expire) or with the
// access token of an account that is a member.
func (m *Members) RenewToken(ctx context.Context, c Caller, groupID string) (MemberToken, error) {
	g, err := m.access.visible(ctx, c, groupID, accessMember)
	if err != nil {
		return MemberToken{}, err
	}
	var member store.Member
	switch c.Claims.Kind {
	case token.KindMember:
		id, perr := uuid.Parse(c.Claims.Subject)
		if perr != nil {
			return MemberToken{}, errGroupNotFound
		}
		member, err = m.access.members.Member(ctx, id)
		if err == nil && member.GroupID != g.ID {
			err = errGroupNotFound
		}
	default:
		uid, _ := uuid.Parse(c.Claims.Subject)
		member, err = m.access.members.MemberByUser(ctx, g.ID, uid)
	}
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			err = errGroupNotFound
		}
		return MemberToken{}, err
	}
	return m.memberToken(g, member)
}

// List returns a group's members in joining order, to its members.
func (m *Members) List(ctx context.Context, c Caller, groupID string) ([]store.Member, error) {
	g, err := m.access.visible(ctx, c, groupID, accessMember)
	if err != nil {
		return nil, err
	}
	return m.access.members.Members(ctx, g.ID)
}

func (m *Members) memberToken(g store.Group, member store.Member) (MemberToken, error) {
	claims := token.Claims{Subject: member.ID.String(), Kind: token.KindMember, GroupID: g.ID.String(), Name: member.DisplayName}
	if member.UserID.Valid {
		claims.UserID = member.UserID.UUID.String()
	}
	tok, err := m.tokens.Sign(claims, m.tokenTTL)
	if err != nil {
		return MemberToken{}, err
	}
	return MemberToken{Group: g, Member: member, Token: tok, TTL: m.tokenTTL}, nil
}
