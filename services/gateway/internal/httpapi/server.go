package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/clientip"
	"github.com/quickchat-go/quickchat/pkg/ops"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/services/gateway/internal/oidclogin"
	"github.com/quickchat-go/quickchat/services/gateway/internal/password"
	"github.com/quickchat-go/quickchat/services/gateway/internal/ratelimit"
	"github.com/quickchat-go/quickchat/services/gateway/internal/session"
	"github.com/quickchat-go/quickchat/services/gateway/internal/web"
)

// Store is what the API needs from persistence.
type Store interface {
	CreateUser(ctx context.Context, u store.User) (store.User, error)
	UserByID(ctx context.Context, id uuid.UUID) (store.User, error)
	UserByEmail(ctx context.Context, email string) (store.User, error)
	UserByOIDC(ctx context.Context, issuer, subject string) (store.User, error)
	CreateGroupWithOwner(ctx context.Context, g store.Group, owner store.Member) (store.Group, store.Member, error)
	Group(ctx context.Context, id uuid.UUID) (store.Group, error)
	GroupsByOwner(ctx context.Context, owner uuid.UUID) ([]store.Group, error)
	UpdateGroup(ctx context.Context, id uuid.UUID, u store.GroupUpdate) (store.Group, error)
	DeleteGroup(ctx context.Context, id uuid.UUID) error
	CreateMember(ctx context.Context, m store.Member) (store.Member, error)
	Member(ctx context.Context, id uuid.UUID) (store.Member, error)
	MemberByUser(ctx context.Context, group, user uuid.UUID) (store.Member, error)
	Members(ctx context.Context, group uuid.UUID) ([]store.Member, error)
	MessagesBefore(ctx context.Context, group, before uuid.UUID, limit int) ([]store.Message, error)
	MessagesAfter(ctx context.Context, group, after uuid.UUID, limit int) ([]store.Message, error)
	CreateOIDCLogin(ctx context.Context, l store.OIDCLogin) error
	TakeOIDCLogin(ctx context.Context, stateHash []byte) (store.OIDCLogin, error)
}

// Sessions starts, renews and ends account sessions.
type Sessions interface {
	Start(ctx context.Context, u store.User) (session.Session, error)
	Refresh(ctx context.Context, refreshToken string) (session.Session, error)
	Revoke(ctx context.Context, refreshToken string) error
}

// Limiter counts attempts per key; see package ratelimit.
type Limiter interface {
	Take(ctx context.Context, key string, rule ratelimit.Rule, what string) error
}

// OIDC runs the sign-in flow with an external identity provider.
type OIDC interface {
	AuthURL(ctx context.Context, state, nonce, pkceVerifier string) (string, error)
	Exchange(ctx context.Context, code, pkceVerifier, nonce string) (oidclogin.Identity, error)
}

var (
	_ Store    = (*store.Store)(nil)
	_ Sessions = (*session.Manager)(nil)
	_ Limiter  = (*ratelimit.Limiter)(nil)
	_ OIDC     = (*oidclogin.Client)(nil)
)

// Limits are the abuse limits the API enforces.
type Limits struct {
	// PasscodePerIP and PasscodePerGroup bound join attempts (each checks a passcode).
	PasscodePerIP    ratelimit.Rule
	PasscodePerGroup ratelimit.Rule
	// LoginPerIP bounds sign-in and registration attempts from one client address;
	// LoginPerAccount bounds sign-in attempts for one email address.
	LoginPerIP      ratelimit.Rule
	LoginPerAccount ratelimit.Rule
}

// Deps are the Server's dependencies and settings.
type Deps struct {
	Store    Store
	Signer   *token.Signer
	Sessions Sessions
	Limiter  Limiter
	Limits   Limits
	Hasher   *password.Hasher
	// ClientIP finds the client address used for per-IP limits.
	ClientIP *clientip.Resolver
	// OIDC is nil when external sign-in is not configured.
	OIDC OIDC
	// PostLoginURL is where the browser goes after an OIDC sign-in (default "/").
	PostLoginURL string
	// SecureCookies marks cookies Secure (only sent over HTTPS or to localhost).
	SecureCookies bool
	Health        *ops.Health
	Log           *zap.Logger
	// AccessTokenTTL is reported to clients as the lifetime of access tokens.
	AccessTokenTTL time.Duration
	// MemberTokenTTL is the lifetime of group member tokens.
	MemberTokenTTL time.Duration
	// RealtimeURL is the WebSocket URL handed to clients that join a group.
	RealtimeURL string
	// MaxBodyBytes bounds every request body (default 64 KiB).
	MaxBodyBytes int64
}

// Server is the gateway's HTTP handler.
type Server struct {
	Deps
	verifier token.Verifier
	router   chi.Router
}

// NewServer builds the router. Store, Signer, Sessions, Limiter, Health and Log are
// required.
func NewServer(d Deps) *Server {
	if d.Hasher == nil {
		d.Hasher = password.NewHasher(password.DefaultParams)
	}
	if d.ClientIP == nil {
		d.ClientIP = clientip.New(nil)
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = 64 << 10
	}
	if d.PostLoginURL == "" {
		d.PostLoginURL = "/"
	}
	s := &Server{Deps: d, verifier: token.NewStaticVerifier(d.Signer.PublicKeys())}
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, apperr.New(apperr.NotFound, "no such route"))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, apperr.New(codeMethodNotAllowed, "method not allowed on this route"))
	})
	r.Use(middleware.RequestID, d.ClientIP.Middleware, s.recoverer, s.securityHeaders, middleware.RequestSize(d.MaxBodyBytes))
	d.Health.Register(r)
	r.Method(http.MethodGet, "/.well-known/jwks.json", d.Signer.JWKSHandler())
	// The browser UI: pages, /assets/* and /config.json (see package web).
	web.MustNew(web.Config{OIDCEnabled: d.OIDC != nil, RealtimeURLs: []string{d.RealtimeURL}}).Register(r)
	r.Route("/api", func(r chi.Router) {
		s.registerAuthRoutes(r)
		s.registerSessionRoutes(r)
		s.registerOIDCRoutes(r)
		s.registerGroupRoutes(r)
		s.registerChatRoutes(r)
	})
	s.router = r
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// Routes exposes the router for route-walking tests.
func (s *Server) Routes() chi.Routes { return s.router }

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Log.Error("panic in handler", zap.Any("panic", v), zap.String("path", r.URL.Path))
				writeJSON(w, http.StatusInternalServerError, errorBody{Error: errorDetail{Code: apperr.Internal, Message: "internal error"}})
			}
		}()
		next.ServeHTTP(w, r)
	})
}
