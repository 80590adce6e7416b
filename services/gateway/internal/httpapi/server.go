package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/ops"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/services/gateway/internal/password"
)

// Store is what the API needs from persistence.
type Store interface {
	CreateUser(ctx context.Context, u store.User) (store.User, error)
	UserByID(ctx context.Context, id uuid.UUID) (store.User, error)
	UserByEmail(ctx context.Context, email string) (store.User, error)
	CreateGroup(ctx context.Context, g store.Group) (store.Group, error)
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
}

var _ Store = (*store.Store)(nil)

// Deps are the Server's dependencies.
type Deps struct {
	Store          Store
	Signer         *token.Signer
	Health         *ops.Health
	Log            *zap.Logger
	Hasher         *password.Hasher
	AccessTokenTTL time.Duration
	MemberTokenTTL time.Duration
	// RealtimeURL is the WebSocket URL handed to clients that join a group.
	RealtimeURL string
}

// Server is the gateway's HTTP handler.
type Server struct {
	Deps
	verifier token.Verifier
	router   chi.Router
}

// maxBodyBytes bounds every JSON request body.
const maxBodyBytes = 64 << 10

// NewServer builds the router.
func NewServer(d Deps) *Server {
	if d.Hasher == nil {
		d.Hasher = password.NewHasher(password.DefaultParams)
	}
	s := &Server{Deps: d, verifier: token.NewStaticVerifier(d.Signer.PublicKeys())}
	r := chi.NewRouter()
	r.Use(middleware.RequestID, middleware.RealIP, s.recoverer, middleware.RequestSize(maxBodyBytes))
	d.Health.Register(r)
	r.Method(http.MethodGet, "/.well-known/jwks.json", d.Signer.JWKSHandler())
	r.Route("/api", func(r chi.Router) {
		s.registerAuthRoutes(r)
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
				writeJSON(w, http.StatusInternalServerError, errorBody{Error: errorDetail{Code: "internal", Message: "internal error"}})
			}
		}()
		next.ServeHTTP(w, r)
	})
}
