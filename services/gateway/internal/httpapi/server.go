package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/clientip"
	"github.com/quickchat-go/quickchat/pkg/gatewayapi"
	"github.com/quickchat-go/quickchat/pkg/ops"
	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/services/gateway/internal/app"
	"github.com/quickchat-go/quickchat/services/gateway/internal/web"
)

// Deps are the Server's dependencies and settings.
type Deps struct {
	// App holds the use cases every API route calls.
	App *app.App
	// Signer's public keys verify bearer tokens and are published as the JWKS.
	Signer *token.Signer
	// ClientIP finds the client address used for per-IP limits.
	ClientIP *clientip.Resolver
	// PostLoginURL is where the browser goes after an OIDC sign-in (default "/").
	PostLoginURL string
	// SecureCookies marks cookies Secure (only sent over HTTPS or to localhost).
	SecureCookies bool
	Health        *ops.Health
	Log           *zap.Logger
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

// NewServer builds the router. App, Signer, Health and Log are required.
func NewServer(d Deps) *Server {
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
	web.MustNew(web.Config{OIDCEnabled: d.App.Accounts.OIDCEnabled(), RealtimeURLs: []string{d.RealtimeURL}}).Register(r)
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
				writeJSON(w, http.StatusInternalServerError, gatewayapi.ErrorBody{Error: gatewayapi.ErrorDetail{Code: string(apperr.Internal), Message: "internal error"}})
			}
		}()
		next.ServeHTTP(w, r)
	})
}
