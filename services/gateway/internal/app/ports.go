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
	// ClaimUserForOIDC links an identity to the account id, which has none, removes its
	// password and ends its sessions; a gone or already linked account is NotFound.
	ClaimUserForOIDC(ctx context.Context, id uuid.UUID, issuer, subject string) (store.User, error)
}

// SignInAddressStore remembers the client addresses (rate-limit keys) accounts signed in
// from with their password.
type SignInAddressStore interface {
	RememberSignInAddress(ctx context.Context, user uuid.UUID, client string, until time.Time) error
	// SignInAddressKnown reports whether the address is remembered for the account at
	// now; the nil account has no addresses.
	SignInAddressKnown(ctx context.Context, user uuid.UUID, client string, now time.Time) (bool, error)
}

// OIDCLoginStore keeps a sign-in with an identity provider between the redirect to the
// provider and the callback. TakeOIDCLogin returns a pending sign-in at most once.
type OIDCLoginStore interface {
	CreateOIDCLogin(ctx context.Context, l store.OIDCLogin) error
	TakeOIDCLogin(ctx context.Context, stateHash []byte) (store.OIDCLogin, error)
}

// GroupStore keeps groups.
type GroupStore interface {
	// CreateGroupWithOwner stores g and makes the owner its first member, atomically; when
	// maxOwned is positive and the owner already owns that many groups it stores nothing
	// and fails with store.ErrTooManyGroups.
	CreateGroupWithOwner(ctx context.Context, g store.Group, owner store.Member, maxOwned int) (store.Group, store.Member, error)
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

// Limiter enforces rate limits and back-offs. Take counts one attempt for key under rule
// and fails with apperr.RateLimited when the key has used up its budget; CheckBackoff
// fails with apperr.RateLimited while key must still wait after its failures;
// RecordFailure counts a failure for key and returns its failures in a row; ClearFailures
// forgets them. what names the attempts in the client's message.
type Limiter interface {
	Take(ctx context.Context, key string, rule ratelimit.Rule, what string) error
	CheckBackoff(ctx context.Context, key string, b ratelimit.Backoff, what string) error
	RecordFailure(ctx context.Context, key string, b ratelimit.Backoff) (int, error)
	ClearFailures(ctx context.Context, key string) error
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
