package app

import (
	"context"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/services/gateway/internal/session"
)

// Accounts registers accounts, signs them in and out (with a password or an identity
// provider) and renews their sessions.
type Accounts struct {
	users     UserStore
	addresses SignInAddressStore
	logins    OIDCLoginStore
	sessions  Sessions
	hasher    Hasher
	guard     guard
	oidc      IdentityProvider
	now       func() time.Time
}

// Registration is a request to create an account.
type Registration struct {
	// Client is the client's address as a rate-limit key (see clientip.Key).
	Client   string
	Email    string
	Password string
	Name     string
}

// Register creates a password account; the caller then signs in with SignIn. The email is
// trimmed and lower-cased.
//
// A taken email is not an error: the existing account stays exactly as it was and the
// answer is the same as for a new account, after the same hashing and the same insert
// attempt, so registration tells nobody which emails have accounts. Whoever registered
// a taken email finds out only by failing to sign in with the password they chose, which
// is what a typo looks like too.
func (a *Accounts) Register(ctx context.Context, in Registration) error {
	// Registration hashes a password, so it shares the per-address sign-in budget.
	if err := a.limitSignIns(ctx, in.Client); err != nil {
		return err
	}
	email, err := normalizeEmail(in.Email)
	if err != nil {
		return err
	}
	if err := checkPassword(in.Password); err != nil {
		return err
	}
	name, err := cleanName(in.Name, "name")
	if err != nil {
		return err
	}
	hash, err := a.hasher.Hash(ctx, in.Password)
	if err != nil {
		return err
	}
	_, err = a.users.CreateUser(ctx, store.User{ID: uuid.New(), Email: email, Name: name, PasswordHash: hash})
	if apperr.Is(err, apperr.Conflict) {
		a.guard.log.event(false, "registration_for_taken_email", client(in.Client))
		return nil
	}
	return err
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
//
// Attempts count per client address, per email and address, and per email; the
// per-email ceiling spares addresses the account signed in from within KnownAddressTTL,
// so however many wrong passwords others send, the owner signs in from home.
func (a *Accounts) SignIn(ctx context.Context, in PasswordSignIn) (session.Session, error) {
	if err := a.limitSignIns(ctx, in.Client); err != nil {
		return session.Session{}, err
	}
	bad := apperr.New(apperr.Unauthorized, "email or password is wrong")
	email, err := normalizeEmail(in.Email)
	if err != nil {
		a.guard.log.event(false, "sign_in_failed", client(in.Client), zap.String("reason", "malformed email"))
		return session.Session{}, bad
	}
	// Keyed by email whether or not the account exists, so the limits reveal nothing.
	if err := a.guard.take(ctx, "auth:account-ip:"+email+"|"+in.Client, a.guard.limits.LoginPerAccountAddress,
		"sign-in attempts for this account", "login_per_account_address", client(in.Client)); err != nil {
		return session.Session{}, err
	}
	u, err := a.users.UserByEmail(ctx, email)
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		return session.Session{}, err
	}
	// Unknown emails ask too (as the nil account, which has no addresses), so both paths
	// do the same work.
	known, err := a.addresses.SignInAddressKnown(ctx, u.ID, in.Client, a.now())
	if err != nil {
		return session.Session{}, err
	}
	if !known {
		if err := a.guard.take(ctx, "auth:account:"+email, a.guard.limits.LoginPerAccount,
			"sign-in attempts for this account", "login_per_account", client(in.Client), accountField(u)); err != nil {
			return session.Session{}, err
		}
	}
	if u.PasswordHash == "" {
		// Hash anyway so unknown emails and OIDC-only accounts take as long as wrong
		// passwords.
		_, _ = a.hasher.Hash(ctx, in.Password)
		reason := "unknown email"
		if u.ID != uuid.Nil {
			reason = "account without a password"
		}
		a.guard.log.event(false, "sign_in_failed", client(in.Client), accountField(u), zap.String("reason", reason))
		return session.Session{}, bad
	}
	ok, err := a.hasher.Verify(ctx, in.Password, u.PasswordHash)
	if err != nil {
		return session.Session{}, err
	}
	if !ok {
		a.guard.log.event(false, "sign_in_failed", client(in.Client), accountField(u), zap.String("reason", "wrong password"), zap.Bool("known_address", known))
		return session.Session{}, bad
	}
	if err := a.addresses.RememberSignInAddress(ctx, u.ID, in.Client, a.now().Add(KnownAddressTTL)); err != nil {
		return session.Session{}, err
	}
	return a.sessions.Start(ctx, u)
}

// accountField names the account in a security event, or says there is none.
func accountField(u store.User) zap.Field {
	if u.ID == uuid.Nil {
		return zap.String("account", "none")
	}
	return zap.String("account", u.ID.String())
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
func (a *Accounts) limitSignIns(ctx context.Context, c string) error {
	return a.guard.take(ctx, "auth:ip:"+c, a.guard.limits.LoginPerIP, "sign-in attempts", "login_per_ip", client(c))
}
