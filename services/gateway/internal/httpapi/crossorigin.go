package httpapi

import (
	"fmt"
	"net/http"

	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/apperr"
)

// newOriginCheck returns the check for the cookie routes: browsers may send unsafe
// requests there only from the gateway's own origin or one of allowed (scheme://host[:port]).
// net/http decides cross-origin from Sec-Fetch-Site, falling back to comparing Origin
// with Host; requests with neither header (non-browser clients) pass.
func newOriginCheck(allowed []string) (*http.CrossOriginProtection, error) {
	c := http.NewCrossOriginProtection()
	for _, o := range allowed {
		if err := c.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("allowed origin %q: %w", o, err)
		}
	}
	return c, nil
}

// CheckAllowedOrigins reports whether every origin is of the form scheme://host[:port],
// as Deps.AllowedOrigins must be.
func CheckAllowedOrigins(origins []string) error {
	_, err := newOriginCheck(origins)
	return err
}

// sameOrigin guards the routes that set, read or clear the session cookie: sign-in,
// registration, refresh and sign-out. The cookie is SameSite=Strict, but a sibling origin
// of the same site (another port, another subdomain) would still get it sent along with
// a simple POST, signing the victim out or into the attacker's account; this refuses
// such requests from a browser before they reach the handler.
func (s *Server) sameOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.origins.Check(r); err != nil {
			s.securityEvent(r, true, "cross_origin_refused",
				zap.String("origin", r.Header.Get("Origin")), zap.String("sec_fetch_site", r.Header.Get("Sec-Fetch-Site")))
			s.writeError(w, r, apperr.New(apperr.Forbidden, "cross-origin request refused"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// securityEvent logs a security event seen at the HTTP layer with the client's address
// and the path; never a token or a secret.
func (s *Server) securityEvent(r *http.Request, warn bool, name string, fields ...zap.Field) {
	fields = append([]zap.Field{zap.String("event", name), zap.String("client", clientKey(r)), zap.String("path", r.URL.Path)}, fields...)
	if warn {
		s.Log.Warn("security event", fields...)
	} else {
		s.Log.Info("security event", fields...)
	}
}
