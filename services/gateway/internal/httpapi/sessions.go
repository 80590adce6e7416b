package httpapi

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/gatewayapi"
	"github.com/quickchat-go/quickchat/services/gateway/internal/session"
)

// refreshCookie carries the refresh token for browser sessions started through OIDC. It is
// HttpOnly (scripts cannot read it), SameSite=Strict (other sites cannot make the browser
// send it) and scoped to the auth routes.
const (
	refreshCookie     = "qc_refresh"
	refreshCookiePath = "/api/auth"
)

func (s *Server) registerSessionRoutes(r chi.Router) {
	r.Post("/auth/refresh", s.handleRefresh)
	r.Post("/auth/logout", s.handleLogout)
}

// refreshTokenOf reads the refresh token from the JSON body or, failing that, the cookie,
// and reports whether it came from the cookie.
func refreshTokenOf(r *http.Request) (raw string, fromCookie bool, err error) {
	var in gatewayapi.RefreshRequest
	present, err := decodeOptional(r, &in)
	if err != nil {
		return "", false, err
	}
	if present && in.RefreshToken != "" {
		return in.RefreshToken, false, nil
	}
	if c, err := r.Cookie(refreshCookie); err == nil && c.Value != "" {
		return c.Value, true, nil
	}
	return "", false, apperr.New(apperr.Invalid, "refresh_token is required (in the body or the %s cookie)", refreshCookie)
}

// handleRefresh rotates the refresh token: the presented one stops working and a new one
// comes back the same way it was sent (body or cookie).
func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) {
	raw, fromCookie, err := refreshTokenOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sess, err := s.App.Accounts.Refresh(r.Context(), raw)
	if err != nil {
		if fromCookie && apperr.Is(err, apperr.Unauthorized) {
			s.clearCookie(w, refreshCookie, refreshCookiePath)
		}
		s.writeError(w, r, err)
		return
	}
	if fromCookie {
		s.setRefreshCookie(w, sess)
	}
	writeJSON(w, http.StatusOK, sessionOut(sess, !fromCookie))
}

// handleLogout revokes the session the refresh token belongs to (its whole family).
// Access tokens already issued stay valid until they expire, at most their short TTL.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	raw, _, err := refreshTokenOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.App.Accounts.SignOut(r.Context(), raw); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.clearCookie(w, refreshCookie, refreshCookiePath)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) setRefreshCookie(w http.ResponseWriter, sess session.Session) {
	http.SetCookie(w, &http.Cookie{
		Name: refreshCookie, Value: sess.RefreshToken, Path: refreshCookiePath,
		Expires: sess.RefreshExpiresAt, MaxAge: int(time.Until(sess.RefreshExpiresAt).Seconds()),
		HttpOnly: true, Secure: s.SecureCookies, SameSite: http.SameSiteStrictMode,
	})
}

func (s *Server) clearCookie(w http.ResponseWriter, name, path string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: path, MaxAge: -1,
		HttpOnly: true, Secure: s.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
}
