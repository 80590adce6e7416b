package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/clientip"
	"github.com/quickchat-go/quickchat/pkg/gatewayapi"
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
	Log           *zap.Logger
	// RealtimeURL is the WebSocket URL handed to clients that join a group.
	RealtimeURL string
	// MaxBodyBytes bounds every request body (default 64 KiB).
	MaxBodyBytes int64
	// AllowedOrigins are browser origins (scheme://host[:port]) besides the gateway's own
	// that may call the routes of the session cookie (/api/auth/*); default none. Each
	// must pass CheckAllowedOrigins.
	AllowedOrigins []string
	// Attachments tells the web UI how to share files; nil when attachments are off.
	Attachments *web.Attachments
}

// Server is the gateway's HTTP handler.
type Server struct {
	Deps
	verifier token.Verifier
	origins  *http.CrossOriginProtection
	router   chi.Router
}

// NewServer builds the router of the public listener. App, Signer and Log are required.
// The ops endpoints (/healthz, /readyz, /metrics) are not here: they are served on the ops
// address (package ops), so the public port answers 404 for them.
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
	origins, err := newOriginCheck(d.AllowedOrigins)
	if err != nil {
		panic("httpapi: " + err.Error()) // Config.Validate refuses malformed origins first.
	}
	// Bearer tokens of both kinds reach the API: accounts send access tokens, guests their
	// member token (history, members, renewal). Each use case then requires the kind it
	// needs, which the verifier has tied to the token's audience.
	verifier := token.NewStaticVerifier(d.Signer.PublicKeys(), token.KindAccess, token.KindMember)
	s := &Server{Deps: d, verifier: verifier, origins: origins}
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, apperr.New(apperr.NotFound, "no such route"))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, apperr.New(codeMethodNotAllowed, "method not allowed on this route"))
	})
	r.Use(middleware.RequestID, d.ClientIP.Middleware, s.recoverer, s.securityHeaders, middleware.RequestSize(d.MaxBodyBytes))
	r.Method(http.MethodGet, "/.well-known/jwks.json", d.Signer.JWKSHandler())
	// The browser UI: pages, /assets/* and /config.json (see package web).
	web.MustNew(web.Config{
		OIDCEnabled: d.App.Accounts.OIDCEnabled(), RealtimeURLs: []string{d.RealtimeURL}, Attachments: d.Attachments,
	}).Register(r)
	r.Route("/api", func(r chi.Router) {
		r.Group(func(r chi.Router) {
			// The routes of the session cookie answer browsers of our own origin only.
			r.Use(s.sameOrigin)
			s.registerAuthRoutes(r)
			s.registerSessionRoutes(r)
			s.registerOIDCRoutes(r)
		})
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
