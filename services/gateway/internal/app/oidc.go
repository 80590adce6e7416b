package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/services/gateway/internal/oidclogin"
	"github.com/quickchat-go/quickchat/services/gateway/internal/session"
)

// OIDCSignInTTL is how long a sign-in started with the identity provider may take.
const OIDCSignInTTL = 10 * time.Minute

var errOIDCOff = apperr.New(apperr.NotFound, "OIDC sign-in is not configured")

// OIDCEnabled reports whether sign-in with an identity provider is configured.
func (a *Accounts) OIDCEnabled() bool { return a.oidc != nil }

// OIDCStart is a sign-in begun with the identity provider.
type OIDCStart struct {
	// AuthURL is where to send the browser.
	AuthURL string
	// State must come back with the callback from the same browser (transports keep it in
	// a cookie); it binds the callback to the browser that started the sign-in, which
	// stops an attacker from signing a victim in to the attacker's account (login CSRF).
	State string
}

// BeginOIDCSignIn starts an authorization-code flow with PKCE and a nonce, and records it
// for OIDCSignInTTL (the janitor deletes it after that). Anyone may start one, so starts
// are limited per client address (a rate-limit key, see clientip.Key): one address can
// keep at most about OIDCStartPerIP's burst plus what it refills in OIDCSignInTTL and a
// janitor interval pending.
func (a *Accounts) BeginOIDCSignIn(ctx context.Context, c string) (OIDCStart, error) {
	if a.oidc == nil {
		return OIDCStart{}, errOIDCOff
	}
	if err := a.guard.take(ctx, "oidc:ip:"+c, a.guard.limits.OIDCStartPerIP, "sign-ins started", "oidc_start_per_ip", client(c)); err != nil {
		return OIDCStart{}, err
	}
	state, nonce := randomToken(), randomToken()
	verifier := oidclogin.NewVerifier()
	authURL, err := a.oidc.AuthURL(ctx, state, nonce, verifier)
	if err != nil {
		return OIDCStart{}, err
	}
	err = a.logins.CreateOIDCLogin(ctx, store.OIDCLogin{
		StateHash: hashState(state), Nonce: nonce, PKCEVerifier: verifier, ExpiresAt: a.now().Add(OIDCSignInTTL),
	})
	if err != nil {
		return OIDCStart{}, err
	}
	return OIDCStart{AuthURL: authURL, State: state}, nil
}

// OIDCCallback is what the provider's redirect brings back to the browser and the
// browser to us.
type OIDCCallback struct {
	// Client is the client's address as a rate-limit key (see clientip.Key).
	Client string
	// ProviderError is the provider's error parameter; set when it did not sign the
	// person in.
	ProviderError string
	State         string
	Code          string
	// BrowserState is the State the browser kept from BeginOIDCSignIn; empty if none.
	BrowserState string
}

// OIDCSignIn is the outcome of a callback.
type OIDCSignIn struct {
	Session session.Session
	// StateSpent is true once the callback's state matched the browser's, even when the
	// sign-in then failed: the pending sign-in is redeemed, so the browser's copy of the
	// state is useless and should be forgotten.
	StateSpent bool
}

// FinishOIDCSignIn checks the state against the browser's, redeems the pending sign-in
// once, exchanges the code, finds or creates the account and starts a session.
func (a *Accounts) FinishOIDCSignIn(ctx context.Context, cb OIDCCallback) (OIDCSignIn, error) {
	var out OIDCSignIn
	if a.oidc == nil {
		return out, errOIDCOff
	}
	if err := a.limitSignIns(ctx, cb.Client); err != nil {
		return out, err
	}
	if cb.ProviderError != "" {
		return out, apperr.New(apperr.Unauthorized, "the identity provider did not sign you in")
	}
	if cb.State == "" || cb.Code == "" {
		return out, apperr.New(apperr.Invalid, "state and code are required")
	}
	if subtle.ConstantTimeCompare([]byte(cb.BrowserState), []byte(cb.State)) != 1 {
		return out, apperr.New(apperr.Unauthorized, "this sign-in was not started in this browser; start again")
	}
	out.StateSpent = true
	login, err := a.logins.TakeOIDCLogin(ctx, hashState(cb.State))
	if apperr.Is(err, apperr.NotFound) || (err == nil && a.now().After(login.ExpiresAt)) {
		err = apperr.New(apperr.Unauthorized, "this sign-in expired or was already used; start again")
	}
	if err != nil {
		return out, err
	}
	id, err := a.oidc.Exchange(ctx, cb.Code, login.PKCEVerifier, login.Nonce)
	if err != nil {
		return out, err
	}
	u, err := a.oidcAccount(ctx, id, cb.Client)
	if err != nil {
		return out, err
	}
	out.Session, err = a.sessions.Start(ctx, u)
	return out, err
}

// oidcAccount returns the account linked to an external identity, creating or claiming
// it on the identity's first sign-in. The rule, for an identity not linked yet:
//
//   - the provider must say the email is verified (email_verified), else nothing happens;
//   - no account has the email: a new account is created for the identity;
//   - an account with the email has no identity: the identity claims it. We never verify
//     emails ourselves, so whoever registered that email with a password may not own it
//     (a squatter waiting for its owner); the provider has verified that this person
//     does. The identity is linked, the password removed and every session of the
//     account revoked, so only the verified owner signs in to it from then on;
//   - an account with the email is linked to another identity: Conflict, since an
//     account never moves from one identity to another.
func (a *Accounts) oidcAccount(ctx context.Context, id oidclogin.Identity, c string) (store.User, error) {
	u, err := a.users.UserByOIDC(ctx, id.Issuer, id.Subject)
	if err == nil || !apperr.Is(err, apperr.NotFound) {
		return u, err
	}
	if !id.EmailVerified {
		return store.User{}, apperr.New(apperr.Forbidden, "the identity provider has not verified this account's email")
	}
	email, err := normalizeEmail(id.Email)
	if err != nil {
		return store.User{}, apperr.New(apperr.Forbidden, "the identity provider gave no usable email")
	}
	name, err := cleanName(id.Name, "name")
	if err != nil {
		local, _, _ := strings.Cut(email, "@")
		name = string([]rune(local)[:min(len([]rune(local)), maxNameLen)])
	}
	u, err = a.users.CreateUser(ctx, store.User{
		ID: uuid.New(), Email: email, Name: name, OIDCIssuer: id.Issuer, OIDCSubject: id.Subject,
	})
	if apperr.Is(err, apperr.Conflict) {
		return a.claimAccount(ctx, id, email, c)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("create account for OIDC identity: %w", err)
	}
	return u, nil
}

// claimAccount links a verified identity to the account that has its email (see
// oidcAccount).
func (a *Accounts) claimAccount(ctx context.Context, id oidclogin.Identity, email, c string) (store.User, error) {
	taken := apperr.New(apperr.Conflict, "an account with this email is linked to another sign-in")
	// A concurrent callback may have created or claimed the account for this very
	// identity a moment ago.
	if again, err := a.users.UserByOIDC(ctx, id.Issuer, id.Subject); err == nil {
		return again, nil
	}
	existing, err := a.users.UserByEmail(ctx, email)
	if err != nil {
		return store.User{}, fmt.Errorf("find account to claim: %w", err)
	}
	if existing.OIDCSubject != "" {
		return store.User{}, taken
	}
	u, err := a.users.ClaimUserForOIDC(ctx, existing.ID, id.Issuer, id.Subject)
	if apperr.Is(err, apperr.NotFound) || apperr.Is(err, apperr.Conflict) {
		// Linked or deleted in between: let the next sign-in start over.
		if again, err2 := a.users.UserByOIDC(ctx, id.Issuer, id.Subject); err2 == nil {
			return again, nil
		}
		return store.User{}, taken
	}
	if err != nil {
		return store.User{}, fmt.Errorf("claim account for OIDC identity: %w", err)
	}
	a.guard.log.event(true, "account_claimed_by_identity", client(c), zap.String("account", u.ID.String()),
		zap.String("issuer", id.Issuer), zap.Bool("had_password", existing.PasswordHash != ""))
	return u, nil
}

func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// hashState is what the store keeps of a state, so a database leak cannot finish
// sign-ins in progress.
func hashState(state string) []byte {
	h := sha256.Sum256([]byte(state))
	return h[:]
}
