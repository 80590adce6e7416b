package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/services/gateway/internal/oidclogin"
)

// The state cookie binds a callback to the browser that started the sign-in, which stops
// an attacker from logging a victim into the attacker's account (login CSRF). It must be
// SameSite=Lax because the callback arrives as a cross-site top-level navigation.
const (
	oidcStateCookie = "qc_oidc_state"
	oidcCookiePath  = "/api/auth/oidc"
	oidcLoginTTL    = 10 * time.Minute
)

func (s *Server) registerOIDCRoutes(r chi.Router) {
	r.Get("/auth/oidc/login", s.handleOIDCLogin)
	r.Get("/auth/oidc/callback", s.handleOIDCCallback)
}

var errOIDCOff = apperr.New(apperr.NotFound, "OIDC sign-in is not configured")

// handleOIDCLogin starts an authorization-code flow with PKCE and redirects the browser to
// the identity provider.
func (s *Server) handleOIDCLogin(w http.ResponseWriter, r *http.Request) {
	if s.OIDC == nil {
		s.writeError(w, r, errOIDCOff)
		return
	}
	state, nonce := randomToken(), randomToken()
	verifier := oidclogin.NewVerifier()
	authURL, err := s.OIDC.AuthURL(r.Context(), state, nonce, verifier)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	err = s.Store.CreateOIDCLogin(r.Context(), store.OIDCLogin{
		StateHash: hashState(state), Nonce: nonce, PKCEVerifier: verifier, ExpiresAt: time.Now().Add(oidcLoginTTL),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: oidcStateCookie, Value: state, Path: oidcCookiePath, MaxAge: int(oidcLoginTTL.Seconds()),
		HttpOnly: true, Secure: s.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, authURL, http.StatusFound)
}

// handleOIDCCallback finishes the flow: it checks the state against the cookie, redeems
// the pending sign-in once, exchanges the code, finds or creates the account and sends
// the browser on with a refresh cookie.
func (s *Server) handleOIDCCallback(w http.ResponseWriter, r *http.Request) {
	if s.OIDC == nil {
		s.writeError(w, r, errOIDCOff)
		return
	}
	if err := s.Limiter.Take(r.Context(), "auth:ip:"+ipKey(r), s.Limits.LoginPerIP, "sign-in attempts"); err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	if q.Get("error") != "" {
		s.writeError(w, r, apperr.New(apperr.Unauthorized, "the identity provider did not sign you in"))
		return
	}
	state, code := q.Get("state"), q.Get("code")
	if state == "" || code == "" {
		s.writeError(w, r, apperr.New(apperr.Invalid, "state and code are required"))
		return
	}
	c, err := r.Cookie(oidcStateCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(state)) != 1 {
		s.writeError(w, r, apperr.New(apperr.Unauthorized, "this sign-in was not started in this browser; start again"))
		return
	}
	s.clearCookie(w, oidcStateCookie, oidcCookiePath)
	login, err := s.Store.TakeOIDCLogin(r.Context(), hashState(state))
	if apperr.Is(err, apperr.NotFound) || (err == nil && time.Now().After(login.ExpiresAt)) {
		err = apperr.New(apperr.Unauthorized, "this sign-in expired or was already used; start again")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := s.OIDC.Exchange(r.Context(), code, login.PKCEVerifier, login.Nonce)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.oidcAccount(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sess, err := s.Sessions.Start(r.Context(), u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.setRefreshCookie(w, sess)
	http.Redirect(w, r, s.PostLoginURL, http.StatusSeeOther)
}

// oidcAccount returns the account linked to an external identity, creating it on first
// sign-in. It never links an identity to an existing password account by email: whoever
// registered that email first might not own it (we do not verify emails), and linking
// would hand them the identity's sessions.
func (s *Server) oidcAccount(ctx context.Context, id oidclogin.Identity) (store.User, error) {
	u, err := s.Store.UserByOIDC(ctx, id.Issuer, id.Subject)
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
	u, err = s.Store.CreateUser(ctx, store.User{
		ID: uuid.New(), Email: email, Name: name, OIDCIssuer: id.Issuer, OIDCSubject: id.Subject,
	})
	if apperr.Is(err, apperr.Conflict) {
		// A concurrent callback may have created this very identity a moment ago.
		if again, err2 := s.Store.UserByOIDC(ctx, id.Issuer, id.Subject); err2 == nil {
			return again, nil
		}
		return store.User{}, apperr.New(apperr.Conflict, "an account with this email already exists; sign in with its password")
	}
	if err != nil {
		return store.User{}, fmt.Errorf("create account for OIDC identity: %w", err)
	}
	return u, nil
}

func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func hashState(state string) []byte {
	h := sha256.Sum256([]byte(state))
	return h[:]
}
