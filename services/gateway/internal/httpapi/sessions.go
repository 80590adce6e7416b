package httpapi

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/services/gateway/internal/session"
)

// refreshCookie carries the refresh token of every session, and nothing else does: it is
// HttpOnly (scripts, and so injected scripts, cannot read it), SameSite=Strict (other
// sites cannot make the browser send it) and scoped to the auth routes, which also check
// that requests come from our own origin (see crossOrigin).
const (
	refreshCookie     = "qc_refresh"
	refreshCookiePath = "/api/auth"
)

func (s *Server) registerSessionRoutes(r chi.Router) {
	r.Post("/auth/refresh", s.handleRefresh)
	r.Post("/auth/logout", s.handleLogout)
}

// refreshTokenOf reads the refresh token from the cookie; "" when there is none.
func refreshTokenOf(r *http.Request) string {
	if c, err := r.Cookie(refreshCookie); err == nil {
		return c.Value
	}
	return ""
}

// handleRefresh rotates the refresh token in the cookie: the presented one stops working
// and the new one replaces it.
func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) {
	raw := refreshTokenOf(r)
	if raw == "" {
		s.writeError(w, r, apperr.New(apperr.Unauthorized, "not signed in (no %s cookie)", refreshCookie))
		return
	}
	sess, err := s.App.Accounts.Refresh(r.Context(), raw)
	if err != nil {
		if apperr.Is(err, apperr.Unauthorized) {
			s.clearCookie(w, refreshCookie, refreshCookiePath)
		}
		s.writeError(w, r, err)
		return
	}
	s.setRefreshCookie(w, sess)
	writeJSON(w, http.StatusOK, sessionOut(sess))
}

// handleLogout revokes the session of the cookie's refresh token (its whole family) and
// clears the cookie; without a cookie there is nothing to end. Access tokens already
// issued stay valid until they expire, at most their short TTL.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if raw := refreshTokenOf(r); raw != "" {
		if err := s.App.Accounts.SignOut(r.Context(), raw); err != nil {
			s.writeError(w, r, err)
			return
		}
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
