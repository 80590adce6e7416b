package httpapi

import (
	"context"
	"net/http"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/clientip"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/services/gateway/internal/session"
)

func (s *Server) registerAuthRoutes(r chi.Router) {
	r.Post("/auth/register", s.handleRegister)
	r.Post("/auth/login", s.handleLogin)
	r.With(s.authenticate).Get("/auth/me", s.handleMe)
}

type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name,omitempty"`
}

type userJSON struct {
	ID        uuid.UUID `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

func userOut(u store.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, CreatedAt: u.CreatedAt}
}

// sessionJSON is returned by register, login and refresh. RefreshToken is left out when
// the refresh token travels in the HttpOnly cookie instead.
type sessionJSON struct {
	User             userJSON  `json:"user"`
	AccessToken      string    `json:"access_token"`
	TokenType        string    `json:"token_type"`
	ExpiresIn        int       `json:"expires_in"`
	RefreshToken     string    `json:"refresh_token,omitempty"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at"`
}

const (
	minPasswordLen = 8
	maxPasswordLen = 256
	maxNameLen     = 100
)

func normalizeEmail(raw string) (string, error) {
	addr, err := mail.ParseAddress(strings.TrimSpace(raw))
	if err != nil || addr.Name != "" || len(addr.Address) > 254 || strings.ContainsAny(addr.Address, "<> ") {
		return "", apperr.New(apperr.Invalid, "email is not a valid address")
	}
	return strings.ToLower(addr.Address), nil
}

// ipKey is the per-client part of a rate-limit key.
func ipKey(r *http.Request) string { return clientip.Key(clientip.FromContext(r.Context())) }

func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	// Registration hashes a password, so it shares the per-address sign-in budget.
	if err := s.Limiter.Take(r.Context(), "auth:ip:"+ipKey(r), s.Limits.LoginPerIP, "sign-in attempts"); err != nil {
		s.writeError(w, r, err)
		return
	}
	var in credentials
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	email, err := normalizeEmail(in.Email)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if n := utf8.RuneCountInString(in.Password); n < minPasswordLen || len(in.Password) > maxPasswordLen || !utf8.ValidString(in.Password) {
		s.writeError(w, r, apperr.New(apperr.Invalid, "password must be %d to %d characters", minPasswordLen, maxPasswordLen))
		return
	}
	name, err := cleanName(in.Name, "name")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	hash, err := s.Hasher.Hash(r.Context(), in.Password)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.Store.CreateUser(r.Context(), store.User{ID: uuid.New(), Email: email, Name: name, PasswordHash: hash})
	if err != nil {
		if apperr.Is(err, apperr.Conflict) {
			err = apperr.New(apperr.Conflict, "an account with this email already exists")
		}
		s.writeError(w, r, err)
		return
	}
	s.startSession(w, r, http.StatusCreated, u)
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if err := s.Limiter.Take(r.Context(), "auth:ip:"+ipKey(r), s.Limits.LoginPerIP, "sign-in attempts"); err != nil {
		s.writeError(w, r, err)
		return
	}
	var in credentials
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	bad := apperr.New(apperr.Unauthorized, "email or password is wrong")
	email, err := normalizeEmail(in.Email)
	if err != nil {
		s.writeError(w, r, bad)
		return
	}
	// Keyed by email whether or not the account exists, so the limit reveals nothing.
	if err := s.Limiter.Take(r.Context(), "auth:account:"+email, s.Limits.LoginPerAccount, "sign-in attempts for this account"); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.Store.UserByEmail(r.Context(), email)
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		s.writeError(w, r, err)
		return
	}
	if u.PasswordHash == "" {
		// Hash anyway so unknown emails and OIDC-only accounts take as long as wrong
		// passwords.
		_, _ = s.Hasher.Hash(r.Context(), in.Password)
		s.writeError(w, r, bad)
		return
	}
	ok, err := s.Hasher.Verify(r.Context(), in.Password, u.PasswordHash)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !ok {
		s.writeError(w, r, bad)
		return
	}
	s.startSession(w, r, http.StatusOK, u)
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	id, err := requireAccount(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.Store.UserByID(r.Context(), id)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			err = apperr.New(apperr.Unauthorized, "account no longer exists")
		}
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userOut(u))
}

// startSession opens a session for u and returns it with its refresh token in the body.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, status int, u store.User) {
	sess, err := s.Sessions.Start(r.Context(), u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, status, sessionOut(sess, true))
}

func sessionOut(sess session.Session, withRefresh bool) sessionJSON {
	out := sessionJSON{
		User: userOut(sess.User), AccessToken: sess.AccessToken, TokenType: "Bearer",
		ExpiresIn: int(sess.AccessTTL.Seconds()), RefreshExpiresAt: sess.RefreshExpiresAt,
	}
	if withRefresh {
		out.RefreshToken = sess.RefreshToken
	}
	return out
}

type ctxKey struct{}

// authenticate verifies the bearer token if present and stores its claims in the context.
// It rejects bad tokens but lets anonymous requests through; handlers decide what they need.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		scheme, raw, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			s.writeError(w, r, apperr.New(apperr.Unauthorized, "Authorization header must be a Bearer token"))
			return
		}
		c, err := s.verifier.Verify(r.Context(), strings.TrimSpace(raw))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, c)))
	})
}

// claimsFrom returns the verified claims of the request, if any.
func claimsFrom(ctx context.Context) (token.Claims, bool) {
	c, ok := ctx.Value(ctxKey{}).(token.Claims)
	return c, ok
}

// requireAccount returns the signed-in account's id or an Unauthorized error.
func requireAccount(ctx context.Context) (uuid.UUID, error) {
	c, ok := claimsFrom(ctx)
	if !ok || c.Kind != token.KindAccess {
		return uuid.Nil, apperr.New(apperr.Unauthorized, "sign in required")
	}
	id, err := uuid.Parse(c.Subject)
	if err != nil {
		return uuid.Nil, apperr.New(apperr.Unauthorized, "token subject is not an account")
	}
	return id, nil
}

// cleanName trims a display name or title and checks its length and encoding.
func cleanName(raw, field string) (string, error) {
	name := strings.TrimSpace(raw)
	if !utf8.ValidString(name) {
		return "", apperr.New(apperr.Invalid, "%s must be valid UTF-8", field)
	}
	if n := utf8.RuneCountInString(name); n == 0 || n > maxNameLen {
		return "", apperr.New(apperr.Invalid, "%s must be 1 to %d characters", field, maxNameLen)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", apperr.New(apperr.Invalid, "%s must not contain control characters", field)
		}
	}
	return name, nil
}
