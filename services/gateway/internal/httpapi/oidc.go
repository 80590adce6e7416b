package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/quickchat-go/quickchat/services/gateway/internal/app"
)

// The state cookie carries the sign-in's state from the login route to the callback. It
// must be SameSite=Lax because the callback arrives as a cross-site top-level navigation.
const (
	oidcStateCookie = "qc_oidc_state"
	oidcCookiePath  = "/api/auth/oidc"
)

func (s *Server) registerOIDCRoutes(r chi.Router) {
	r.Get("/auth/oidc/login", s.handleOIDCLogin)
	r.Get("/auth/oidc/callback", s.handleOIDCCallback)
}

// handleOIDCLogin redirects the browser to the identity provider, keeping the state in a
// cookie.
func (s *Server) handleOIDCLogin(w http.ResponseWriter, r *http.Request) {
	start, err := s.App.Accounts.BeginOIDCSignIn(r.Context(), clientKey(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: oidcStateCookie, Value: start.State, Path: oidcCookiePath, MaxAge: int(app.OIDCSignInTTL.Seconds()),
		HttpOnly: true, Secure: s.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, start.AuthURL, http.StatusFound)
}

// handleOIDCCallback finishes the sign-in and sends the browser on with a refresh cookie.
func (s *Server) handleOIDCCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cb := app.OIDCCallback{Client: clientKey(r), ProviderError: q.Get("error"), State: q.Get("state"), Code: q.Get("code")}
	if c, err := r.Cookie(oidcStateCookie); err == nil {
		cb.BrowserState = c.Value
	}
	res, err := s.App.Accounts.FinishOIDCSignIn(r.Context(), cb)
	if res.StateSpent {
		s.clearCookie(w, oidcStateCookie, oidcCookiePath)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.setRefreshCookie(w, res.Session)
	http.Redirect(w, r, s.PostLoginURL, http.StatusSeeOther)
}
