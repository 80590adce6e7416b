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
// of an account that joined, or a member token scoped to g.
func (a groupAccess) relation(ctx context.Context, c token.Claims, g store.Group) (access, error) {
	switch c.Kind {
	case token.KindMember:
		if c.GroupID == g.ID.String() {
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
	if c.Claims == nil {
		return store.Group{}, apperr.New(apperr.Unauthorized, "sign in or join the group first")
	}
	g, err := a.load(ctx, rawID)
	if err != nil {
		return store.Group{}, err
	}
	got, err := a.relation(ctx, *c.Claims, g)
	if err != nil {
		return store.Group{}, err
	}
	switch {
	case got == accessNone:
		return store.Group{}, errGroupNotFound
	case got < want:
		return store.Group{}, apperr.New(apperr.Forbidden, "only the group's owner may do this")
	}
	return g, nil
}
