package app

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/services/gateway/internal/session"
)

// Accounts registers accounts, signs them in and out (with a password or an identity
// provider) and renews their sessions.
type Accounts struct {
	users    UserStore
	logins   OIDCLoginStore
	sessions Sessions
	hasher   Hasher
	limiter  Limiter
	limits   Limits
	oidc     IdentityProvider
	now      func() time.Time
}

// Registration is a request to create an account.
type Registration struct {
	// Client is the client's address as a rate-limit key (see clientip.Key).
	Client   string
	Email    string
	Password string
	Name     string
}

// Register creates a password account and signs it in. The email is trimmed and
// lower-cased; a taken email is a Conflict.
func (a *Accounts) Register(ctx context.Context, in Registration) (session.Session, error) {
	// Registration hashes a password, so it shares the per-address sign-in budget.
	if err := a.limitSignIns(ctx, in.Client); err != nil {
		return session.Session{}, err
	}
	email, err := normalizeEmail(in.Email)
	if err != nil {
		return session.Session{}, err
	}
	if err := checkPassword(in.Password); err != nil {
		return session.Session{}, err
	}
	name, err := cleanName(in.Name, "name")
	if err != nil {
		return session.Session{}, err
	}
	hash, err := a.hasher.Hash(ctx, in.Password)
	if err != nil {
		return session.Session{}, err
	}
	u, err := a.users.CreateUser(ctx, store.User{ID: uuid.New(), Email: email, Name: name, PasswordHash: hash})
	if err != nil {
		if apperr.Is(err, apperr.Conflict) {
			err = apperr.New(apperr.Conflict, "an account with this email already exists")
		}
		return session.Session{}, err
	}
	return a.sessions.Start(ctx, u)
}

// PasswordSignIn is a request to sign in with email and password.
type PasswordSignIn struct {
	// Client is the client's address as a rate-limit key (see clientip.Key).
	Client   string
	Email    string
	Password string
}

// SignIn checks an email and password and starts a session. A malformed or unknown
// email, an OIDC-only account and a wrong password all get the same Unauthorized error
// after the same hashing work, so answers reveal nothing about which accounts exist.
func (a *Accounts) SignIn(ctx context.Context, in PasswordSignIn) (session.Session, error) {
	if err := a.limitSignIns(ctx, in.Client); err != nil {
		return session.Session{}, err
	}
	bad := apperr.New(apperr.Unauthorized, "email or password is wrong")
	email, err := normalizeEmail(in.Email)
	if err != nil {
		return session.Session{}, bad
	}
	// Keyed by email whether or not the account exists, so the limit reveals nothing.
	if err := a.limiter.Take(ctx, "auth:account:"+email, a.limits.LoginPerAccount, "sign-in attempts for this account"); err != nil {
		return session.Session{}, err
	}
	u, err := a.users.UserByEmail(ctx, email)
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		return session.Session{}, err
	}
	if u.PasswordHash == "" {
		// Hash anyway so unknown emails and OIDC-only accounts take as long as wrong
		// passwords.
		_, _ = a.hasher.Hash(ctx, in.Password)
		return session.Session{}, bad
	}
	ok, err := a.hasher.Verify(ctx, in.Password, u.PasswordHash)
	if err != nil {
		return session.Session{}, err
	}
	if !ok {
		return session.Session{}, bad
	}
	return a.sessions.Start(ctx, u)
}

// Me returns the signed-in caller's account.
func (a *Accounts) Me(ctx context.Context, c Caller) (store.User, error) {
	id, err := c.account()
	if err != nil {
		return store.User{}, err
	}
	u, err := a.users.UserByID(ctx, id)
	if apperr.Is(err, apperr.NotFound) {
		return store.User{}, apperr.New(apperr.Unauthorized, "account no longer exists")
	}
	return u, err
}

// Refresh exchanges a refresh token for a new session; the token stops working.
func (a *Accounts) Refresh(ctx context.Context, refreshToken string) (session.Session, error) {
	return a.sessions.Refresh(ctx, refreshToken)
}

// SignOut revokes the session a refresh token belongs to (its whole family). Access
// tokens already issued stay valid until they expire, at most their short lifetime.
func (a *Accounts) SignOut(ctx context.Context, refreshToken string) error {
	return a.sessions.Revoke(ctx, refreshToken)
}

// limitSignIns counts a sign-in attempt (password, registration or identity provider)
// against the client's address.
func (a *Accounts) limitSignIns(ctx context.Context, client string) error {
	return a.limiter.Take(ctx, "auth:ip:"+client, a.limits.LoginPerIP, "sign-in attempts")
}
