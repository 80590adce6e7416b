package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/services/gateway/internal/ratelimit"
)

func TestRegisterAndLogin(t *testing.T) {
	t.Parallel()
	e := setup(t)
	pass := "correct horse battery"
	e.remember(pass)

	r := e.do(t, req{method: "POST", path: "/api/auth/register", body: map[string]string{"email": "  Ada@Example.COM ", "password": pass, "name": "Ada"}})
	want(t, r, http.StatusCreated)
	var reg sessionBody
	r.decode(t, &reg)
	if reg.User.Email != "ada@example.com" || reg.User.Name != "Ada" || reg.TokenType != "Bearer" || reg.ExpiresIn != 900 {
		t.Fatalf("register body = %+v", reg)
	}
	if !strings.HasPrefix(reg.RefreshToken, "qcrt_") {
		t.Fatalf("refresh token %q lacks its prefix", reg.RefreshToken)
	}
	if c := e.verify(t, reg.AccessToken); c.Kind != token.KindAccess || c.Subject != reg.User.ID.String() {
		t.Fatalf("access claims = %+v", c)
	}

	tests := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"the same email in another case is a duplicate", map[string]string{"email": "ADA@example.com", "password": "another password", "name": "Eve"}, http.StatusConflict, "conflict"},
		{"a short password is refused", map[string]string{"email": "bob@example.com", "password": "short", "name": "Bob"}, http.StatusBadRequest, "invalid"},
		{"a malformed email is refused", map[string]string{"email": "not an email", "password": "long enough pw", "name": "Bob"}, http.StatusBadRequest, "invalid"},
		{"an email with a display name is refused", map[string]string{"email": "Bob <bob@example.com>", "password": "long enough pw", "name": "Bob"}, http.StatusBadRequest, "invalid"},
		{"a missing name is refused", map[string]string{"email": "bob@example.com", "password": "long enough pw"}, http.StatusBadRequest, "invalid"},
		{"unknown fields are refused", map[string]any{"email": "bob@example.com", "password": "long enough pw", "name": "Bob", "admin": true}, http.StatusBadRequest, "invalid"},
		{"trailing data is refused", `{"email":"bob@example.com","password":"long enough pw","name":"Bob"}{}`, http.StatusBadRequest, "invalid"},
		{"an oversized body is refused", `{"email":"bob@example.com","password":"` + strings.Repeat("x", 5000) + `","name":"Bob"}`, http.StatusRequestEntityTooLarge, "too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, req{method: "POST", path: "/api/auth/register", body: tt.body})
			want(t, r, tt.status)
			if got := r.errorCode(t); got != tt.code {
				t.Fatalf("code = %q, want %q", got, tt.code)
			}
		})
	}

	t.Run("a body that is not JSON by content type is refused", func(t *testing.T) {
		r := e.do(t, req{method: "POST", path: "/api/auth/login", body: `{"email":"ada@example.com","password":"x"}`, header: http.Header{"Content-Type": {"text/plain"}}})
		want(t, r, http.StatusBadRequest)
	})

	logins := []struct {
		name   string
		email  string
		pass   string
		status int
	}{
		{"the right password signs in, whatever the email's case", "ADA@example.com", pass, http.StatusOK},
		{"a wrong password is refused", "ada@example.com", "wrong password!", http.StatusUnauthorized},
		{"an unknown email is refused the same way", "nobody@example.com", pass, http.StatusUnauthorized},
		{"a malformed email is refused the same way", "nonsense", pass, http.StatusUnauthorized},
	}
	for _, tt := range logins {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": tt.email, "password": tt.pass}})
			want(t, r, tt.status)
			if tt.status != http.StatusOK {
				if r.errorCode(t) != "unauthorized" || r.header.Get("WWW-Authenticate") == "" {
					t.Fatalf("want an unauthorized error with WWW-Authenticate, got %s %v", r.body, r.header)
				}
				return
			}
			var s sessionBody
			r.decode(t, &s)
			if s.User.ID != reg.User.ID || s.RefreshToken == "" || s.RefreshToken == reg.RefreshToken {
				t.Fatalf("login body = %+v", s)
			}
		})
	}

	t.Run("me returns the signed-in account", func(t *testing.T) {
		r := e.do(t, req{method: "GET", path: "/api/auth/me", bearer: reg.AccessToken})
		want(t, r, http.StatusOK)
		var u struct{ Email string }
		r.decode(t, &u)
		if u.Email != "ada@example.com" {
			t.Fatalf("me = %s", r.body)
		}
	})
}

func TestRefreshRotationAndLogout(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a := e.register(t, "Ada")
	refresh := func(raw string) *response {
		return e.do(t, req{method: "POST", path: "/api/auth/refresh", body: map[string]string{"refresh_token": raw}})
	}

	r := refresh(a.refreshToken)
	want(t, r, http.StatusOK)
	var s1 sessionBody
	r.decode(t, &s1)
	if s1.RefreshToken == "" || s1.RefreshToken == a.refreshToken || s1.User.ID != a.id {
		t.Fatalf("first refresh = %+v", s1)
	}
	if c := e.verify(t, s1.AccessToken); c.Subject != a.id.String() {
		t.Fatalf("refreshed access token is for %q", c.Subject)
	}
	r = refresh(s1.RefreshToken)
	want(t, r, http.StatusOK)
	var s2 sessionBody
	r.decode(t, &s2)

	// A second session (another device) is a separate family.
	r = e.do(t, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": a.email, "password": a.pass}})
	want(t, r, http.StatusOK)
	var other sessionBody
	r.decode(t, &other)

	t.Run("replaying a rotated token is refused", func(t *testing.T) {
		want(t, refresh(a.refreshToken), http.StatusUnauthorized)
	})
	t.Run("the replay revoked the newest token of that family", func(t *testing.T) {
		want(t, refresh(s2.RefreshToken), http.StatusUnauthorized)
	})
	t.Run("another session's family is untouched", func(t *testing.T) {
		r := refresh(other.RefreshToken)
		want(t, r, http.StatusOK)
		r.decode(t, &other)
	})
	t.Run("garbage and missing tokens are refused", func(t *testing.T) {
		want(t, refresh("qcrt_nonsense"), http.StatusUnauthorized)
		want(t, refresh("nonsense"), http.StatusUnauthorized)
		want(t, e.do(t, req{method: "POST", path: "/api/auth/refresh"}), http.StatusBadRequest)
	})
	t.Run("logout revokes the session", func(t *testing.T) {
		want(t, e.do(t, req{method: "POST", path: "/api/auth/logout", body: map[string]string{"refresh_token": other.RefreshToken}}), http.StatusNoContent)
		want(t, refresh(other.RefreshToken), http.StatusUnauthorized)
	})
	t.Run("logging out twice is harmless", func(t *testing.T) {
		want(t, e.do(t, req{method: "POST", path: "/api/auth/logout", body: map[string]string{"refresh_token": other.RefreshToken}}), http.StatusNoContent)
	})
}

func TestRefreshWithCookie(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a := e.register(t, "Ada")
	cookie := &http.Cookie{Name: "qc_refresh", Value: a.refreshToken}

	r := e.do(t, req{method: "POST", path: "/api/auth/refresh", cookies: []*http.Cookie{cookie}})
	want(t, r, http.StatusOK)
	var s sessionBody
	r.decode(t, &s)
	if s.RefreshToken != "" {
		t.Fatal("a cookie refresh must not put the refresh token in the body")
	}
	rotated := findCookie(r.header, "qc_refresh")
	if rotated == nil || rotated.Value == "" || rotated.Value == a.refreshToken || !rotated.HttpOnly || rotated.SameSite != http.SameSiteStrictMode {
		t.Fatalf("rotated cookie = %+v", rotated)
	}
	r = e.do(t, req{method: "POST", path: "/api/auth/logout", cookies: []*http.Cookie{rotated}})
	want(t, r, http.StatusNoContent)
	if c := findCookie(r.header, "qc_refresh"); c == nil || c.MaxAge >= 0 {
		t.Fatalf("logout must clear the cookie, got %+v", c)
	}
	want(t, e.do(t, req{method: "POST", path: "/api/auth/refresh", cookies: []*http.Cookie{rotated}}), http.StatusUnauthorized)
}

func findCookie(h http.Header, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestLoginLimits(t *testing.T) {
	t.Parallel()
	e := setup(t, withLimits(withRules(generous, func(l *limitsEdit) {
		l.LoginPerAccount = ratelimit.Rule{Limit: 3, Per: 1e12}
		l.LoginPerIP = ratelimit.Rule{Limit: 100, Per: 1e12}
	})))
	a := e.register(t, "Ada")
	login := func(email, pass string) *response {
		return e.do(t, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": email, "password": pass}})
	}
	for range 3 {
		want(t, login(a.email, "wrong password"), http.StatusUnauthorized)
	}
	r := login(a.email, a.pass)
	want(t, r, http.StatusTooManyRequests)
	if r.errorCode(t) != "rate_limited" || r.header.Get("Retry-After") == "" {
		t.Fatalf("want rate_limited with Retry-After, got %s %v", r.body, r.header)
	}
	// The account limit counts the normalized email, so case games do not help.
	want(t, login(strings.ToUpper(a.email), a.pass), http.StatusTooManyRequests)
	// Other accounts are unaffected.
	b := e.register(t, "Bob")
	want(t, login(b.email, b.pass), http.StatusOK)
}

func TestLoginLimitPerIPIgnoresSpoofedForwardedFor(t *testing.T) {
	t.Parallel()
	e := setup(t, withLimits(withRules(generous, func(l *limitsEdit) {
		l.LoginPerIP = ratelimit.Rule{Limit: 2, Per: 1e12}
	})))
	for i := range 2 {
		r := e.do(t, req{method: "POST", path: "/api/auth/login", header: http.Header{"X-Forwarded-For": {"203.0.113." + string(rune('1'+i))}},
			body: map[string]string{"email": "x@example.com", "password": "whatever1"}})
		want(t, r, http.StatusUnauthorized)
	}
	r := e.do(t, req{method: "POST", path: "/api/auth/login", header: http.Header{"X-Forwarded-For": {"198.51.100.99"}},
		body: map[string]string{"email": "y@example.com", "password": "whatever1"}})
	want(t, r, http.StatusTooManyRequests)
}
