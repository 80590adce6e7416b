package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestEveryResponseCarriesTheSecurityHeaders checks successes, errors, redirects and the
// router's own 404 and 405: each forbids sniffing and framing and, having no page to
// protect, carries the inert default policy.
func TestEveryResponseCarriesTheSecurityHeaders(t *testing.T) {
	e := setup(t, withOIDC())
	a := e.register(t, "Headers")
	tests := []struct {
		name   string
		req    req
		status int
	}{
		{"the public keys", req{method: "GET", path: "/.well-known/jwks.json"}, http.StatusOK},
		{"a signed-in request", req{method: "GET", path: "/api/auth/me", bearer: a.access}, http.StatusOK},
		{"a refused sign-in", req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": a.email, "password": "wrong password"}}, http.StatusUnauthorized},
		{"a malformed body", req{method: "POST", path: "/api/auth/register", body: "{"}, http.StatusBadRequest},
		{"an unknown route", req{method: "GET", path: "/nope"}, http.StatusNotFound},
		{"a wrong method", req{method: "DELETE", path: "/api/auth/login"}, http.StatusMethodNotAllowed},
		{"a redirect to the identity provider", req{method: "GET", path: "/api/auth/oidc/login"}, http.StatusFound},
	}
	t.Run("a web UI page keeps its own policy, which allows no inline script", func(t *testing.T) {
		r := e.do(t, req{method: "GET", path: "/"})
		want(t, r, http.StatusOK)
		csp := r.header.Values("Content-Security-Policy")
		if len(csp) != 1 || !strings.Contains(csp[0], "script-src 'self'") || !strings.Contains(csp[0], "frame-ancestors 'none'") || strings.Contains(csp[0], "unsafe-") {
			t.Fatalf("Content-Security-Policy = %q, want the UI's one policy: scripts from the gateway only, no framing", csp)
		}
		if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("X-Frame-Options") != "DENY" {
			t.Fatalf("UI page lacks nosniff or X-Frame-Options: %v", r.header)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, tt.req)
			want(t, r, tt.status)
			for name, value := range map[string]string{
				"X-Content-Type-Options":     "nosniff",
				"X-Frame-Options":            "DENY",
				"Referrer-Policy":            "no-referrer",
				"Cross-Origin-Opener-Policy": "same-origin",
			} {
				if got := r.header.Values(name); len(got) != 1 || got[0] != value {
					t.Errorf("%s = %q, want exactly %q", name, got, value)
				}
			}
			csp := r.header.Values("Content-Security-Policy")
			if len(csp) != 1 || !strings.Contains(csp[0], "default-src 'none'") || !strings.Contains(csp[0], "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy = %q, want one policy with default-src 'none' and frame-ancestors 'none'", csp)
			}
			if strings.Contains(strings.Join(csp, ";"), "unsafe-inline") {
				t.Errorf("Content-Security-Policy allows inline script: %q", csp)
			}
			if got := r.header.Get("Strict-Transport-Security"); got != "" {
				t.Errorf("HSTS %q sent by a gateway that is not configured for HTTPS", got)
			}
		})
	}
}
