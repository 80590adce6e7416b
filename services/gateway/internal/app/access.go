package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/token"
)

// Caller is who makes a request, as its verified bearer token says. The zero Caller is
// anonymous.
type Caller struct {
	// Claims are the verified claims of the caller's token; nil for an anonymous request.
	Claims *token.Claims
}

// Bearer returns the caller whose verified token carries c.
func Bearer(c token.Claims) Caller { return Caller{Claims: &c} }

// account returns the signed-in account's id, or an Unauthorized error for anonymous
// callers and member tokens.
func (c Caller) account() (uuid.UUID, error) {
	if c.Claims == nil || c.Claims.Kind != token.KindAccess {
		return uuid.Nil, apperr.New(apperr.Unauthorized, "sign in required")
	}
	id, err := uuid.Parse(c.Claims.Subject)
	if err != nil {
		return uuid.Nil, apperr.New(apperr.Unauthorized, "token subject is not an account")
	}
	return id, nil
}

// access says how the caller relates to a group.
type access int

const (
	accessNone access = iota
	accessMember
	accessOwner
)

var errGroupNotFound = apperr.New(apperr.NotFound, "group not found")

// Codes of the membership refusals, besides pkg/apperr's; both are answered with 403.
const (
	// CodeBanned refuses a join of an account or guest key the group banned.
	CodeBanned apperr.Code = "banned"
	// CodeRevoked refuses a member token whose membership ended (removed, banned, left,
	// passcode changed) or, for a guest, grew older than the membership age cap.
	CodeRevoked apperr.Code = "revoked"
)

var errRevoked = apperr.New(CodeRevoked, "your membership of this group ended; join again with the passcode")

// groupAccess finds groups and decides who may see and change them; every group use case
// goes through it.
type groupAccess struct {
	groups  GroupStore
	members MemberStore
}

// load returns the group with the id as the client wrote it. Malformed ids are not found,
// exactly like unknown ones, so probing reveals nothing.
func (a groupAccess) load(ctx context.Context, rawID string) (store.Group, error) {
	id, err := uuid.Parse(rawID)
	if err != nil {
		return store.Group{}, errGroupNotFound
	}
	g, err := a.groups.Group(ctx, id)
	if apperr.Is(err, apperr.NotFound) {
		return store.Group{}, errGroupNotFound
	}
	return g, err
}

// relation decides the caller's relation to g: the owner's access token, the access token
// of an account that joined, or a member token scoped to g whose membership still exists
// (a member token of an ended membership is refused with CodeRevoked).
func (a groupAccess) relation(ctx context.Context, c token.Claims, g store.Group) (access, error) {
	switch c.Kind {
	case token.KindMember:
		if c.GroupID == g.ID.String() {
			if _, err := a.tokenMember(ctx, c, g); err != nil {
				return accessNone, err
			}
			return accessMember, nil
		}
	case token.KindAccess:
		if c.Subject == g.OwnerID.String() {
			return accessOwner, nil
		}
		uid, err := uuid.Parse(c.Subject)
		if err != nil {
			return accessNone, nil
		}
		if _, err := a.members.MemberByUser(ctx, g.ID, uid); err == nil {
			return accessMember, nil
		} else if !apperr.Is(err, apperr.NotFound) {
			return accessNone, err
		}
	}
	return accessNone, nil
}

// visible loads the group and checks the caller has at least want access. Anonymous
// callers get Unauthorized before the group is even looked up, and callers without any
// access get NotFound exactly as for a group that does not exist, so neither learns
// whether it exists.
func (a groupAccess) visible(ctx context.Context, c Caller, rawID string, want access) (store.Group, error) {
	g, _, err := a.visibleAs(ctx, c, rawID, want)
	return g, err
}

// visibleAs is visible that also returns the caller's relation to the group.
func (a groupAccess) visibleAs(ctx context.Context, c Caller, rawID string, want access) (store.Group, access, error) {
	if c.Claims == nil {
		return store.Group{}, accessNone, apperr.New(apperr.Unauthorized, "sign in or join the group first")
	}
	g, err := a.load(ctx, rawID)
	if err != nil {
		return store.Group{}, accessNone, err
	}
	got, err := a.relation(ctx, *c.Claims, g)
	if err != nil {
		return store.Group{}, accessNone, err
	}
	switch {
	case got == accessNone:
		return store.Group{}, accessNone, errGroupNotFound
	case got < want:
		return store.Group{}, accessNone, apperr.New(apperr.Forbidden, "only the group's owner may do this")
	}
	return g, got, nil
}

// tokenMember returns the membership a member token of g proves; CodeRevoked when it
// ended. Member ids are never reused, so a missing row is an ended membership.
func (a groupAccess) tokenMember(ctx context.Context, c token.Claims, g store.Group) (store.Member, error) {
	id, err := uuid.Parse(c.Subject)
	if err != nil {
		return store.Member{}, errGroupNotFound
	}
	m, err := a.members.Member(ctx, id)
	switch {
	case apperr.Is(err, apperr.NotFound):
		return store.Member{}, errRevoked
	case err != nil:
		return store.Member{}, err
	case m.GroupID != g.ID:
		return store.Member{}, errGroupNotFound
	}
	return m, nil
}

// own returns the caller's own membership of g: the one its member token proves, or its
// account's.
func (a groupAccess) own(ctx context.Context, c Caller, g store.Group) (store.Member, error) {
	if c.Claims.Kind == token.KindMember {
		return a.tokenMember(ctx, *c.Claims, g)
	}
	uid, err := uuid.Parse(c.Claims.Subject)
	if err != nil {
		return store.Member{}, errGroupNotFound
	}
	m, err := a.members.MemberByUser(ctx, g.ID, uid)
	if apperr.Is(err, apperr.NotFound) {
		return store.Member{}, errGroupNotFound
	}
	return m, err
}
