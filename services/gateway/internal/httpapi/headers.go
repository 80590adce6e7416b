package httpapi

import (
	"net/http"
)

// apiContentSecurityPolicy is the policy of every response that does not bring its own:
// JSON, errors, JWKS and redirects load nothing, run nothing and may not be framed, so a
// response that a browser is tricked into rendering as a page is inert. Handlers that
// serve the web UI set their own policy (the web package's), which this one never
// replaces or joins.
const apiContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// hstsMaxAge is one year, the usual value for sites that are only served over HTTPS.
const hstsMaxAge = "max-age=31536000"

// securityHeaders sets the headers every gateway response carries: no MIME sniffing (a
// JSON body is never run as script or rendered as HTML), no framing (clickjacking), no
// Referer leaking group ids in URLs, a separate browsing context group from any opener,
// and, when the gateway is served over HTTPS (secure cookies), HSTS. The default
// Content-Security-Policy is added only when the response has none of its own.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if s.SecureCookies {
			h.Set("Strict-Transport-Security", hstsMaxAge)
		}
		next.ServeHTTP(&defaultCSPWriter{ResponseWriter: w}, r)
	})
}

// defaultCSPWriter adds apiContentSecurityPolicy when the headers are written, unless the
// handler set a policy: setting it before the handler would force pages to replace it
// (and a handler that added a second policy would have both enforced).
type defaultCSPWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *defaultCSPWriter) WriteHeader(status int) {
	if !w.wrote {
		w.wrote = true
		if h := w.Header(); h.Get("Content-Security-Policy") == "" {
			h.Set("Content-Security-Policy", apiContentSecurityPolicy)
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *defaultCSPWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (Flush, deadlines).
func (w *defaultCSPWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
