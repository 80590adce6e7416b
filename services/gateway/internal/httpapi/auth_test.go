package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/services/gateway/internal/ratelimit"
	"github.com/quickchat-go/quickchat/services/gateway/internal/session"
)

func TestRegisterAndLogin(t *testing.T) {
	t.Parallel()
	e := setup(t)
	pass := "correct horse battery"
	e.remember(pass)

	r := e.do(t, req{method: "POST", path: "/api/auth/register", body: map[string]string{"email": "  Ada@Example.COM ", "password": pass, "name": "Ada"}})
	want(t, r, http.StatusAccepted)
	if findCookie(r.header, "qc_refresh") != nil {
		t.Fatal("registration started a session; only sign-in may")
	}
	r = e.do(t, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": "ada@example.com", "password": pass}})
	want(t, r, http.StatusOK)
	var reg sessionBody
	r.decode(t, &reg)
	if reg.User.Email != "ada@example.com" || reg.User.Name != "Ada" || reg.TokenType != "Bearer" || reg.ExpiresIn != 900 {
		t.Fatalf("login body = %+v", reg)
	}
	if c := findCookie(r.header, "qc_refresh"); c == nil || !strings.HasPrefix(c.Value, "qcrt_") || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Fatalf("refresh cookie %+v lacks its prefix or protection", c)
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
			if s.User.ID != reg.User.ID || s.RefreshToken != "" || findCookie(r.header, "qc_refresh") == nil {
				t.Fatalf("login body = %+v, cookies %v", s, r.header["Set-Cookie"])
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
	// refresh rotates the cookie's token and returns the rotated one ("" when refused).
	refresh := func(raw string) (*response, string) {
		r := e.do(t, req{method: "POST", path: "/api/auth/refresh", cookies: []*http.Cookie{{Name: "qc_refresh", Value: raw}}})
		if c := findCookie(r.header, "qc_refresh"); c != nil && c.MaxAge > 0 {
			return r, c.Value
		}
		return r, ""
	}

	r, first := refresh(a.refreshToken)
	want(t, r, http.StatusOK)
	var s1 sessionBody
	r.decode(t, &s1)
	if first == "" || first == a.refreshToken || s1.User.ID != a.id || s1.RefreshToken != "" {
		t.Fatalf("first refresh = %+v, cookie %q", s1, first)
	}
	if c := e.verify(t, s1.AccessToken); c.Subject != a.id.String() {
		t.Fatalf("refreshed access token is for %q", c.Subject)
	}
	r, second := refresh(first)
	want(t, r, http.StatusOK)

	// A second session (another device) is a separate family.
	other := a
	e.login(t, &other)

	t.Run("replaying a rotated token is refused and clears the cookie", func(t *testing.T) {
		r, rotated := refresh(a.refreshToken)
		want(t, r, http.StatusUnauthorized)
		if c := findCookie(r.header, "qc_refresh"); rotated != "" || c == nil || c.MaxAge >= 0 {
			t.Fatalf("a refused refresh left the cookie: %+v", c)
		}
	})
	t.Run("the replay revoked the newest token of that family", func(t *testing.T) {
		r, _ := refresh(second)
		want(t, r, http.StatusUnauthorized)
	})
	t.Run("another session's family is untouched", func(t *testing.T) {
		r, next := refresh(other.refreshToken)
		want(t, r, http.StatusOK)
		other.refreshToken = next
	})
	t.Run("garbage and missing tokens are refused", func(t *testing.T) {
		r, _ := refresh("qcrt_nonsense")
		want(t, r, http.StatusUnauthorized)
		r, _ = refresh("nonsense")
		want(t, r, http.StatusUnauthorized)
		want(t, e.do(t, req{method: "POST", path: "/api/auth/refresh"}), http.StatusUnauthorized)
	})
	t.Run("logout revokes the session and clears the cookie", func(t *testing.T) {
		r := e.do(t, req{method: "POST", path: "/api/auth/logout", cookies: other.refreshCookie()})
		want(t, r, http.StatusNoContent)
		if c := findCookie(r.header, "qc_refresh"); c == nil || c.MaxAge >= 0 {
			t.Fatalf("logout must clear the cookie, got %+v", c)
		}
		r, _ = refresh(other.refreshToken)
		want(t, r, http.StatusUnauthorized)
	})
	t.Run("logging out twice, or without a cookie, is harmless", func(t *testing.T) {
		want(t, e.do(t, req{method: "POST", path: "/api/auth/logout", cookies: other.refreshCookie()}), http.StatusNoContent)
		want(t, e.do(t, req{method: "POST", path: "/api/auth/logout"}), http.StatusNoContent)
	})
}

// Regression: issue 13 L5. Password sign-ins handed the refresh token to scripts in the
// JSON body (the UI kept it in localStorage) and refresh took it from a body too. Now the
// token lives only in the HttpOnly cookie: no body carries it and no body is read for it.
func TestTheRefreshTokenTravelsOnlyInTheCookie(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a := e.register(t, "Ada")
	answers := []struct {
		name string
		req  func() req
	}{
		{"a sign-in", func() req {
			return req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": a.email, "password": a.pass}}
		}},
		{"a refresh", func() req { return req{method: "POST", path: "/api/auth/refresh", cookies: a.refreshCookie()} }},
	}
	for _, tt := range answers {
		t.Run(tt.name+" answers without the refresh token in the body", func(t *testing.T) {
			r := e.do(t, tt.req())
			want(t, r, http.StatusOK)
			if strings.Contains(string(r.body), "refresh_token") || strings.Contains(string(r.body), "qcrt_") {
				t.Fatalf("body %s carries the refresh token", r.body)
			}
			if c := findCookie(r.header, "qc_refresh"); c == nil || !c.HttpOnly {
				t.Fatalf("cookie = %+v", c)
			}
			a.refreshToken = findCookie(r.header, "qc_refresh").Value
		})
	}
	t.Run("a refresh token in a body is not accepted", func(t *testing.T) {
		r := e.do(t, req{method: "POST", path: "/api/auth/refresh", body: map[string]string{"refresh_token": a.refreshToken}})
		want(t, r, http.StatusUnauthorized)
	})
}

// Regression: issue 13 L5. Rotation extended a session by the refresh TTL every time;
// now a session ends at its absolute end fixed at sign-in, and the cookie says when.
func TestASessionEndsAtItsMaxAgeWhateverTheRotations(t *testing.T) {
	t.Parallel()
	e := setup(t, withSessions(session.Config{AccessTTL: time.Minute, RefreshTTL: time.Hour, MaxAge: 2 * time.Second}))
	a := e.register(t, "Ada")
	signedIn := time.Now()
	r := e.do(t, req{method: "POST", path: "/api/auth/refresh", cookies: a.refreshCookie()})
	want(t, r, http.StatusOK)
	c := findCookie(r.header, "qc_refresh")
	if c == nil || c.Expires.After(signedIn.Add(3*time.Second)) {
		t.Fatalf("the rotated cookie %+v outlives the session's max age", c)
	}
	time.Sleep(time.Until(signedIn.Add(2500 * time.Millisecond)))
	r = e.do(t, req{method: "POST", path: "/api/auth/refresh", cookies: []*http.Cookie{{Name: "qc_refresh", Value: c.Value}}})
	want(t, r, http.StatusUnauthorized)
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
	a := account{email: "limited@example.test", pass: "the right password"}
	want(t, e.do(t, req{method: "POST", path: "/api/auth/register", body: map[string]string{"email": a.email, "password": a.pass, "name": "Ada"}}), http.StatusAccepted)
	login := func(email, pass string) *response {
		return e.do(t, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": email, "password": pass}})
	}
	// Never signed in from here yet, so the per-account ceiling counts this address.
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
	e.register(t, "Bob")
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
