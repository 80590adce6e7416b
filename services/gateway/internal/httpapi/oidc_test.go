package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/quickchat-go/quickchat/services/gateway/internal/oidctest"
)

// oidcStart begins a sign-in at the gateway and follows the provider's redirect back,
// returning the callback path and the state cookie the browser would hold.
func oidcStart(t testing.TB, e *env) (callback string, state *http.Cookie) {
	t.Helper()
	r := e.do(t, req{method: "GET", path: "/api/auth/oidc/login"})
	want(t, r, http.StatusFound)
	state = findCookie(r.header, "qc_oidc_state")
	if state == nil || !state.HttpOnly || state.SameSite != http.SameSiteLaxMode {
		t.Fatalf("state cookie = %+v", state)
	}
	authURL, err := url.Parse(r.header.Get("Location"))
	if err != nil || !strings.HasPrefix(authURL.String(), e.oidc.Issuer+"/authorize") {
		t.Fatalf("redirected to %q, want the provider", r.header.Get("Location"))
	}
	q := authURL.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") != state.Value {
		t.Fatalf("authorization request lacks PKCE, nonce or state: %s", authURL)
	}
	resp, err := noRedirects.Get(authURL.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("provider answered %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return back.RequestURI(), state
}

func TestOIDCSignIn(t *testing.T) {
	t.Parallel()
	e := setup(t, withOIDC())
	e.oidc.SetUser(oidctest.User{Subject: "sub-123", Email: "Grace@Example.com", EmailVerified: true, Name: "Grace Hopper"})

	signIn := func(t *testing.T) sessionBody {
		t.Helper()
		callback, state := oidcStart(t, e)
		r := e.do(t, req{method: "GET", path: callback, cookies: []*http.Cookie{state}})
		want(t, r, http.StatusSeeOther)
		if r.header.Get("Location") != "/app" {
			t.Fatalf("landed on %q", r.header.Get("Location"))
		}
		refresh := findCookie(r.header, "qc_refresh")
		if refresh == nil || !refresh.HttpOnly || refresh.Path != "/api/auth" {
			t.Fatalf("refresh cookie = %+v", refresh)
		}
		r = e.do(t, req{method: "POST", path: "/api/auth/refresh", cookies: []*http.Cookie{refresh}})
		want(t, r, http.StatusOK)
		var s sessionBody
		r.decode(t, &s)
		return s
	}

	first := signIn(t)
	if first.User.Email != "grace@example.com" || first.User.Name != "Grace Hopper" {
		t.Fatalf("account = %+v", first.User)
	}
	t.Run("the session works on the API", func(t *testing.T) {
		want(t, e.do(t, req{method: "GET", path: "/api/auth/me", bearer: first.AccessToken}), http.StatusOK)
	})
	t.Run("signing in again reaches the same account", func(t *testing.T) {
		if again := signIn(t); again.User.ID != first.User.ID {
			t.Fatalf("second sign-in made account %s, want %s", again.User.ID, first.User.ID)
		}
	})
	t.Run("an OIDC-only account cannot sign in with a password", func(t *testing.T) {
		r := e.do(t, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": "grace@example.com", "password": "anything at all"}})
		want(t, r, http.StatusUnauthorized)
	})
}

func TestOIDCCallbackRejections(t *testing.T) {
	t.Parallel()
	e := setup(t, withOIDC())
	e.oidc.SetUser(oidctest.User{Subject: "sub-1", Email: "lin@example.com", EmailVerified: true, Name: "Lin"})

	t.Run("a callback without the state cookie is refused", func(t *testing.T) {
		callback, _ := oidcStart(t, e)
		want(t, e.do(t, req{method: "GET", path: callback}), http.StatusUnauthorized)
	})
	t.Run("a state cookie from another sign-in is refused", func(t *testing.T) {
		callback, _ := oidcStart(t, e)
		_, otherState := oidcStart(t, e)
		want(t, e.do(t, req{method: "GET", path: callback, cookies: []*http.Cookie{otherState}}), http.StatusUnauthorized)
	})
	t.Run("a callback is redeemed only once", func(t *testing.T) {
		callback, state := oidcStart(t, e)
		want(t, e.do(t, req{method: "GET", path: callback, cookies: []*http.Cookie{state}}), http.StatusSeeOther)
		want(t, e.do(t, req{method: "GET", path: callback, cookies: []*http.Cookie{state}}), http.StatusUnauthorized)
	})
	t.Run("a forged code is refused by the provider", func(t *testing.T) {
		callback, state := oidcStart(t, e)
		u, _ := url.Parse(callback)
		q := u.Query()
		q.Set("code", "forged")
		u.RawQuery = q.Encode()
		want(t, e.do(t, req{method: "GET", path: u.RequestURI(), cookies: []*http.Cookie{state}}), http.StatusUnauthorized)
	})
	t.Run("a provider error is reported", func(t *testing.T) {
		want(t, e.do(t, req{method: "GET", path: "/api/auth/oidc/callback?error=access_denied&state=x"}), http.StatusUnauthorized)
	})
	t.Run("a callback without code or state is invalid", func(t *testing.T) {
		want(t, e.do(t, req{method: "GET", path: "/api/auth/oidc/callback"}), http.StatusBadRequest)
	})
	t.Run("an unverified email is not accepted for a new account", func(t *testing.T) {
		e.oidc.SetUser(oidctest.User{Subject: "sub-2", Email: "unverified@example.com", EmailVerified: false, Name: "U"})
		callback, state := oidcStart(t, e)
		want(t, e.do(t, req{method: "GET", path: callback, cookies: []*http.Cookie{state}}), http.StatusForbidden)
	})
	// Regression: issue 13 L6 (a password account squatting the email blocked the
	// verified owner's OIDC sign-in with 409 for good).
	t.Run("a verified identity claims the password account with its email", func(t *testing.T) {
		a := e.register(t, "Pat")
		e.oidc.SetUser(oidctest.User{Subject: "sub-3", Email: a.email, EmailVerified: true, Name: "Pat"})
		callback, state := oidcStart(t, e)
		r := e.do(t, req{method: "GET", path: callback, cookies: []*http.Cookie{state}})
		want(t, r, http.StatusSeeOther)
		refresh := findCookie(r.header, "qc_refresh")
		r = e.do(t, req{method: "POST", path: "/api/auth/refresh", cookies: []*http.Cookie{refresh}})
		want(t, r, http.StatusOK)
		var s sessionBody
		r.decode(t, &s)
		if s.User.ID != a.id {
			t.Fatalf("the identity signed in to account %v, want the claimed %v", s.User.ID, a.id)
		}
		// The unverified password and the sessions it started are gone.
		want(t, e.do(t, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": a.email, "password": a.pass}}), http.StatusUnauthorized)
		want(t, e.do(t, req{method: "POST", path: "/api/auth/refresh", cookies: a.refreshCookie()}), http.StatusUnauthorized)
	})
	t.Run("an unverified email claims nothing", func(t *testing.T) {
		a := e.register(t, "Quinn")
		e.oidc.SetUser(oidctest.User{Subject: "sub-4", Email: a.email, EmailVerified: false, Name: "Quinn"})
		callback, state := oidcStart(t, e)
		want(t, e.do(t, req{method: "GET", path: callback, cookies: []*http.Cookie{state}}), http.StatusForbidden)
		want(t, e.do(t, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": a.email, "password": a.pass}}), http.StatusOK)
	})
}

func TestOIDCRoutesWithoutAProvider(t *testing.T) {
	t.Parallel()
	e := setup(t)
	want(t, e.do(t, req{method: "GET", path: "/api/auth/oidc/login"}), http.StatusNotFound)
	want(t, e.do(t, req{method: "GET", path: "/api/auth/oidc/callback?code=x&state=y"}), http.StatusNotFound)
}
