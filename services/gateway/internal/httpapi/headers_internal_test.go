package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestSecurityHeadersLeaveAPagesOwnPolicyAlone: the web UI's pages set their own policy;
// the default must neither replace it nor be sent beside it (browsers enforce every
// policy they get, so a second, stricter one would break the page).
func TestSecurityHeadersLeaveAPagesOwnPolicyAlone(t *testing.T) {
	const pagePolicy = "default-src 'self'; script-src 'self'; frame-ancestors 'none'"
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"a page keeps the policy it set", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", pagePolicy)
			_, _ = w.Write([]byte("<!doctype html>"))
		}, pagePolicy},
		{"a body written without WriteHeader gets the default", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("{}"))
		}, apiContentSecurityPolicy},
		{"an empty answer gets the default", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		}, apiContentSecurityPolicy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{Deps: Deps{SecureCookies: true}}
			rec := httptest.NewRecorder()
			s.securityHeaders(tt.handler).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			if got := rec.Header().Values("Content-Security-Policy"); len(got) != 1 || got[0] != tt.want {
				t.Fatalf("Content-Security-Policy = %q, want exactly %q", got, tt.want)
			}
			if got := rec.Header().Get("Strict-Transport-Security"); got != hstsMaxAge {
				t.Fatalf("HSTS = %q over HTTPS, want %q", got, hstsMaxAge)
			}
		})
	}
}
