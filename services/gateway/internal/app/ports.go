package app

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/services/gateway/internal/oidclogin"
	"github.com/quickchat-go/quickchat/services/gateway/internal/ratelimit"
	"github.com/quickchat-go/quickchat/services/gateway/internal/session"
)

// UserStore keeps accounts. Lookups of missing accounts fail with apperr.NotFound, and
// creating an account whose email or identity is taken with apperr.Conflict.
type UserStore interface {
	CreateUser(ctx context.Context, u store.User) (store.User, error)
	UserByID(ctx context.Context, id uuid.UUID) (store.User, error)
	UserByEmail(ctx context.Context, email string) (store.User, error)
	UserByOIDC(ctx context.Context, issuer, subject string) (store.User, error)
}

// OIDCLoginStore keeps a sign-in with an identity provider between the redirect to the
// provider and the callback. TakeOIDCLogin returns a pending sign-in at most once.
type OIDCLoginStore interface {
	CreateOIDCLogin(ctx context.Context, l store.OIDCLogin) error
	TakeOIDCLogin(ctx context.Context, stateHash []byte) (store.OIDCLogin, error)
}

// GroupStore keeps groups.
type GroupStore interface {
	// CreateGroupWithOwner stores g and makes the owner its first member, atomically.
	CreateGroupWithOwner(ctx context.Context, g store.Group, owner store.Member) (store.Group, store.Member, error)
	Group(ctx context.Context, id uuid.UUID) (store.Group, error)
	// GroupsByOwner lists the groups an account owns, newest first.
	GroupsByOwner(ctx context.Context, owner uuid.UUID) ([]store.Group, error)
	UpdateGroup(ctx context.Context, id uuid.UUID, u store.GroupUpdate) (store.Group, error)
	DeleteGroup(ctx context.Context, id uuid.UUID) error
}

// MemberStore keeps memberships. CreateMember fails with apperr.Conflict when the account
// is already a member and with apperr.NotFound when the group or account is gone.
type MemberStore interface {
	CreateMember(ctx context.Context, m store.Member) (store.Member, error)
	Member(ctx context.Context, id uuid.UUID) (store.Member, error)
	MemberByUser(ctx context.Context, group, user uuid.UUID) (store.Member, error)
	// Members lists a group's members in joining order.
	Members(ctx context.Context, group uuid.UUID) ([]store.Member, error)
}

// MessageStore reads a group's stored messages (the persister writes them).
type MessageStore interface {
	// MessagesBefore returns up to limit messages with ids below before, newest first.
	MessagesBefore(ctx context.Context, group, before uuid.UUID, limit int) ([]store.Message, error)
	// MessagesAfter returns up to limit messages with ids above after, oldest first.
	MessagesAfter(ctx context.Context, group, after uuid.UUID, limit int) ([]store.Message, error)
}

// Sessions starts, renews and ends account sessions (refresh-token families).
type Sessions interface {
	Start(ctx context.Context, u store.User) (session.Session, error)
	Refresh(ctx context.Context, refreshToken string) (session.Session, error)
	Revoke(ctx context.Context, refreshToken string) error
}

// Hasher hashes passwords and passcodes and checks them against stored hashes.
type Hasher interface {
	Hash(ctx context.Context, secret string) (string, error)
	Verify(ctx context.Context, secret, hash string) (bool, error)
}

// Limiter counts one attempt for key under rule and fails with apperr.RateLimited when
// the key has used up its budget; what names the attempts in the client's message.
type Limiter interface {
	Take(ctx context.Context, key string, rule ratelimit.Rule, what string) error
}

// TokenSigner signs the member tokens the realtime service accepts.
type TokenSigner interface {
	Sign(c token.Claims, ttl time.Duration) (string, error)
}

// IdentityProvider runs the authorization-code flow with an OpenID Connect provider.
type IdentityProvider interface {
	AuthURL(ctx context.Context, state, nonce, pkceVerifier string) (string, error)
	Exchange(ctx context.Context, code, pkceVerifier, nonce string) (oidclogin.Identity, error)
}
