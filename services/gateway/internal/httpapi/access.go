package httpapi

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/token"
)

// access says how the caller relates to a group.
type access int

const (
	accessNone access = iota
	accessMember
	accessOwner
)

var errGroupNotFound = apperr.New(apperr.NotFound, "group not found")

// loadGroup parses the {id} URL parameter and loads the group. Malformed ids are 404 so
// probing reveals nothing.
func (s *Server) loadGroup(r *http.Request) (store.Group, error) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		return store.Group{}, errGroupNotFound
	}
	g, err := s.Store.Group(r.Context(), id)
	if apperr.Is(err, apperr.NotFound) {
		return store.Group{}, errGroupNotFound
	}
	return g, err
}

// accessTo decides the caller's relation to g: the owner's access token, the access token
// of an account that joined, or a member token scoped to g.
func (s *Server) accessTo(ctx context.Context, c token.Claims, g store.Group) (access, error) {
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
		if _, err := s.Store.MemberByUser(ctx, g.ID, uid); err == nil {
			return accessMember, nil
		} else if !apperr.Is(err, apperr.NotFound) {
			return accessNone, err
		}
	}
	return accessNone, nil
}

// visibleGroup loads the group and checks the caller has at least want access. Anonymous
// callers get 401 before the group is even looked up, and callers without any access get
// 404 exactly as for a group that does not exist, so neither learns whether it exists.
func (s *Server) visibleGroup(r *http.Request, want access) (store.Group, token.Claims, error) {
	c, ok := claimsFrom(r.Context())
	if !ok {
		return store.Group{}, c, apperr.New(apperr.Unauthorized, "sign in or join the group first")
	}
	g, err := s.loadGroup(r)
	if err != nil {
		return g, c, err
	}
	a, err := s.accessTo(r.Context(), c, g)
	if err != nil {
		return g, c, err
	}
	switch {
	case a == accessNone:
		return store.Group{}, c, errGroupNotFound
	case a < want:
		return store.Group{}, c, apperr.New(apperr.Forbidden, "only the group's owner may do this")
	}
	return g, c, nil
}
