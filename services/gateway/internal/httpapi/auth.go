package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/clientip"
	"github.com/quickchat-go/quickchat/pkg/gatewayapi"
	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/services/gateway/internal/app"
)

func (s *Server) registerAuthRoutes(r chi.Router) {
	r.Post("/auth/register", s.handleRegister)
	r.Post("/auth/login", s.handleLogin)
	r.With(s.authenticate).Get("/auth/me", s.handleMe)
}

// clientKey is the per-client part of a rate-limit key.
func clientKey(r *http.Request) string { return clientip.Key(clientip.FromContext(r.Context())) }

func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	var in gatewayapi.Credentials
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	err := s.App.Accounts.Register(r.Context(), app.Registration{
		Client: clientKey(r), Email: in.Email, Password: in.Password, Name: in.Name,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, gatewayapi.RegistrationAccepted{
		Message: "registration received; sign in with this email and password",
	})
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var in gatewayapi.Credentials
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	sess, err := s.App.Accounts.SignIn(r.Context(), app.PasswordSignIn{Client: clientKey(r), Email: in.Email, Password: in.Password})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.setRefreshCookie(w, sess)
	writeJSON(w, http.StatusOK, sessionOut(sess))
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	u, err := s.App.Accounts.Me(r.Context(), callerOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userOut(u))
}

type ctxKey struct{}

// authenticate verifies the bearer token if present and stores its claims in the context.
// It rejects bad tokens but lets anonymous requests through; the use cases decide what
// they need.
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
			s.securityEvent(r, false, "token_refused", zap.String("reason", apperr.MessageOf(err)))
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, c)))
	})
}

// callerOf returns who makes the request, as authenticate found it.
func callerOf(r *http.Request) app.Caller {
	if c, ok := r.Context().Value(ctxKey{}).(token.Claims); ok {
		return app.Bearer(c)
	}
	return app.Caller{}
}
