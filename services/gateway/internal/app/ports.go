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
	// UpdateGroupRemovingGuests is UpdateGroup that also deletes every guest membership
	// of the group, atomically, and returns the deleted members' ids.
	UpdateGroupRemovingGuests(ctx context.Context, id uuid.UUID, u store.GroupUpdate) (store.Group, []uuid.UUID, error)
	DeleteGroup(ctx context.Context, id uuid.UUID) error
}

// MemberStore keeps memberships. A membership that ends is deleted; a later join makes a
// new member with a new id. Lookups of missing members fail with apperr.NotFound.
type MemberStore interface {
	// CreateMemberWithPasscode stores a member who proved the passcode whose hash is
	// passcodeHash. It fails with store.ErrNameTaken when another member of the group
	// has m's NameKey, with store.ErrPasscodeChanged when the group's passcode is no
	// longer that one, with apperr.Conflict when the account or guest key is a member
	// already, and with apperr.NotFound when the group or account is gone.
	CreateMemberWithPasscode(ctx context.Context, m store.Member, passcodeHash string) (store.Member, error)
	Member(ctx context.Context, id uuid.UUID) (store.Member, error)
	MemberByUser(ctx context.Context, group, user uuid.UUID) (store.Member, error)
	MemberByGuestKey(ctx context.Context, group uuid.UUID, keyHash []byte) (store.Member, error)
	// MembersPage returns up to limit members of a group in joining order after the
	// cursor.
	MembersPage(ctx context.Context, group uuid.UUID, after store.MemberCursor, limit int) ([]store.Member, error)
	// TouchMember records a join or token renewal at now; passcode says the member
	// proved the passcode, which restarts its membership age.
	TouchMember(ctx context.Context, id uuid.UUID, now time.Time, passcode bool) (store.Member, error)
	// DeleteMember ends a membership of the group and returns it.
	DeleteMember(ctx context.Context, group, id uuid.UUID) (store.Member, error)
	// GuestMemberIDs lists the ids of the group's guests.
	GuestMemberIDs(ctx context.Context, group uuid.UUID) ([]uuid.UUID, error)
}

// BanStore keeps the bans of groups.
type BanStore interface {
	// BanMember deletes the membership and stores a ban of its account or guest key
	// with the id banID, atomically; a membership that ended already is
	// apperr.NotFound.
	BanMember(ctx context.Context, group, member, banID uuid.UUID) (store.Ban, error)
	// Bans lists a group's bans, oldest first.
	Bans(ctx context.Context, group uuid.UUID) ([]store.Ban, error)
	// DeleteBan lifts a ban; apperr.NotFound when the group has no such ban.
	DeleteBan(ctx context.Context, group, id uuid.UUID) error
	// Banned reports whether the group bans the account or the guest key hash (either
	// may be absent).
	Banned(ctx context.Context, group uuid.UUID, user uuid.NullUUID, guestKeyHash []byte) (bool, error)
}

// MessageStore reads a group's stored messages (the persister writes them).
type MessageStore interface {
	// MessagesBefore returns up to limit messages with ids below before, newest first.
	MessagesBefore(ctx context.Context, group, before uuid.UUID, limit int) ([]store.Message, error)
	// MessagesAfter returns up to limit messages with ids above after, oldest first.
	MessagesAfter(ctx context.Context, group, after uuid.UUID, limit int) ([]store.Message, error)
	// MessageCounts returns how many messages each sender has in the group; senders
	// without messages are absent.
	MessageCounts(ctx context.Context, group uuid.UUID, senders []uuid.UUID) (map[uuid.UUID]int64, error)
}

// Revoker ends memberships in the realtime service, on every instance: the members'
// sockets get a removed frame and leave the room, and their tokens can no longer join
// it or send to it. room and members are group and member ids; reason is one of the
// wire.Reason values. Revoking again is harmless.
type Revoker interface {
	Revoke(ctx context.Context, room string, members []string, reason string) error
}

// Presence tells which members of a room (member ids) have a live connection to the
// realtime service.
type Presence interface {
	Online(ctx context.Context, room string) (map[string]bool, error)
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
