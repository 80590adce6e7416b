package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/services/gateway/internal/oidclogin"
)

func oidcOnlyUser() store.User {
	return store.User{ID: uuid.New(), Email: "grace@example.test", Name: "Grace", OIDCIssuer: "https://idp.test", OIDCSubject: "grace"}
}

func TestOIDCSignIn(t *testing.T) {
	eachStore(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		// begin starts a sign-in and returns the callback the browser would bring back.
		begin := func(t *testing.T) OIDCCallback {
			t.Helper()
			start, err := b.Accounts.BeginOIDCSignIn(ctx, "c")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(start.AuthURL, "state="+start.State) {
				t.Fatalf("auth URL %q does not carry the state", start.AuthURL)
			}
			return OIDCCallback{Client: "c", State: start.State, Code: "good-code", BrowserState: start.State}
		}
		b.idp.id = oidclogin.Identity{Issuer: "https://idp.test", Subject: "lin", Email: "Lin@Example.test", EmailVerified: true, Name: "Lin"}

		first, err := b.Accounts.FinishOIDCSignIn(ctx, begin(t))
		if err != nil || !first.StateSpent || first.Session.User.Email != "lin@example.test" {
			t.Fatalf("first sign-in = %+v, %v", first, err)
		}
		t.Run("signing in again reaches the same account", func(t *testing.T) {
			again, err := b.Accounts.FinishOIDCSignIn(ctx, begin(t))
			if err != nil || again.Session.User.ID != first.Session.User.ID {
				t.Fatalf("second sign-in = %+v, %v", again.Session.User, err)
			}
		})
		t.Run("a state is redeemed only once", func(t *testing.T) {
			cb := begin(t)
			if _, err := b.Accounts.FinishOIDCSignIn(ctx, cb); err != nil {
				t.Fatal(err)
			}
			res, err := b.Accounts.FinishOIDCSignIn(ctx, cb)
			wantCode(t, err, apperr.Unauthorized)
			if !res.StateSpent {
				t.Fatal("a matching state was not reported spent")
			}
		})
		t.Run("an expired sign-in is refused", func(t *testing.T) {
			cb := begin(t)
			b.now = b.now.Add(OIDCSignInTTL + time.Second)
			defer func() { b.now = b.now.Add(-OIDCSignInTTL - time.Second) }()
			_, err := b.Accounts.FinishOIDCSignIn(ctx, cb)
			wantCode(t, err, apperr.Unauthorized)
		})
		refusals := []struct {
			name  string
			edit  func(*OIDCCallback)
			code  apperr.Code
			spent bool
		}{
			{"a callback from another browser is refused", func(c *OIDCCallback) { c.BrowserState = "other" }, apperr.Unauthorized, false},
			{"a callback without the browser's state is refused", func(c *OIDCCallback) { c.BrowserState = "" }, apperr.Unauthorized, false},
			{"a provider error is refused", func(c *OIDCCallback) { c.ProviderError = "access_denied" }, apperr.Unauthorized, false},
			{"a callback without a code is invalid", func(c *OIDCCallback) { c.Code = "" }, apperr.Invalid, false},
			{"a code the provider refuses is refused", func(c *OIDCCallback) { c.Code = "forged" }, apperr.Unauthorized, true},
		}
		for _, tt := range refusals {
			t.Run(tt.name, func(t *testing.T) {
				cb := begin(t)
				tt.edit(&cb)
				res, err := b.Accounts.FinishOIDCSignIn(ctx, cb)
				wantCode(t, err, tt.code)
				if res.StateSpent != tt.spent {
					t.Fatalf("StateSpent = %v, want %v", res.StateSpent, tt.spent)
				}
			})
		}
		identities := []struct {
			name string
			id   oidclogin.Identity
			code apperr.Code
			want string // the new account's name
		}{
			{"an unverified email makes no account", oidclogin.Identity{Subject: "u1", Email: "u1@example.test", Name: "U"}, apperr.Forbidden, ""},
			{"a missing email makes no account", oidclogin.Identity{Subject: "u2", EmailVerified: true, Name: "U"}, apperr.Forbidden, ""},
			{"a missing name falls back to the email's local part", oidclogin.Identity{Subject: "u4", Email: "kim.lee@example.test", EmailVerified: true}, "", "kim.lee"},
			{"an identity never takes an account linked to another identity", oidclogin.Identity{Subject: "u5", Email: "grace@example.test", EmailVerified: true}, apperr.Conflict, ""},
		}
		if _, err := b.st.CreateUser(ctx, oidcOnlyUser()); err != nil {
			t.Fatal(err)
		}
		for _, tt := range identities {
			t.Run(tt.name, func(t *testing.T) {
				tt.id.Issuer = "https://idp.test"
				b.idp.id = tt.id
				res, err := b.Accounts.FinishOIDCSignIn(ctx, begin(t))
				wantCode(t, err, tt.code)
				if err == nil && res.Session.User.Name != tt.want {
					t.Fatalf("account name %q, want %q", res.Session.User.Name, tt.want)
				}
			})
		}
	})
}

// Regression: issue 13 L6. A password account registered with someone's email blocked
// that person's OIDC sign-in for good. A verified email now claims the account: the
// identity is linked and the password, which nobody verified, stops working.
func TestAVerifiedIdentityClaimsThePasswordAccountWithItsEmail(t *testing.T) {
	eachStore(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		pat, _ := b.account(t, "Pat")
		start, err := b.Accounts.BeginOIDCSignIn(ctx, "c")
		if err != nil {
			t.Fatal(err)
		}
		b.idp.id = oidclogin.Identity{Issuer: "https://idp.test", Subject: "pat", Email: "PAT@example.test", EmailVerified: true, Name: "Pat"}
		res, err := b.Accounts.FinishOIDCSignIn(ctx, OIDCCallback{Client: "c", State: start.State, Code: "good-code", BrowserState: start.State})
		if err != nil || res.Session.User.ID != pat.ID {
			t.Fatalf("sign-in = %+v, %v; want Pat's account %v", res.Session.User, err, pat.ID)
		}
		u, err := b.st.UserByOIDC(ctx, "https://idp.test", "pat")
		if err != nil || u.ID != pat.ID || u.PasswordHash != "" {
			t.Fatalf("claimed account = %+v, %v; want Pat's, without a password", u, err)
		}
		_, err = b.Accounts.SignIn(ctx, PasswordSignIn{Client: "c", Email: "pat@example.test", Password: "password-Pat"})
		wantCode(t, err, apperr.Unauthorized)
	})
}

func TestOIDCSignInWhenNotConfigured(t *testing.T) {
	b := setup(t, newMemStore())
	b.Accounts.oidc = nil
	if b.Accounts.OIDCEnabled() {
		t.Fatal("OIDCEnabled without a provider")
	}
	_, err := b.Accounts.BeginOIDCSignIn(context.Background(), "c")
	wantCode(t, err, apperr.NotFound)
	_, err = b.Accounts.FinishOIDCSignIn(context.Background(), OIDCCallback{State: "s", Code: "c", BrowserState: "s"})
	wantCode(t, err, apperr.NotFound)
}

// Regression: issue 13 M5 (anyone could store pending sign-ins without limit).
func TestOIDCStartsCountPerAddress(t *testing.T) {
	eachStore(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		b.limiter.deny["oidc:ip:203.0.113.7"] = true
		_, err := b.Accounts.BeginOIDCSignIn(ctx, "203.0.113.7")
		wantCode(t, err, apperr.RateLimited)
		if _, err := b.Accounts.BeginOIDCSignIn(ctx, "198.51.100.1"); err != nil {
			t.Fatalf("another address was refused: %v", err)
		}
	})
}
