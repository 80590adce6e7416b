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
			start, err := b.Accounts.BeginOIDCSignIn(ctx)
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
			{"an identity is never linked to a password account by email", oidclogin.Identity{Subject: "u3", Email: "pat@example.test", EmailVerified: true, Name: "Pat"}, apperr.Conflict, ""},
			{"a missing name falls back to the email's local part", oidclogin.Identity{Subject: "u4", Email: "kim.lee@example.test", EmailVerified: true}, "", "kim.lee"},
		}
		b.account(t, "Pat")
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

func TestOIDCSignInWhenNotConfigured(t *testing.T) {
	b := setup(t, newMemStore())
	b.Accounts.oidc = nil
	if b.Accounts.OIDCEnabled() {
		t.Fatal("OIDCEnabled without a provider")
	}
	_, err := b.Accounts.BeginOIDCSignIn(context.Background())
	wantCode(t, err, apperr.NotFound)
	_, err = b.Accounts.FinishOIDCSignIn(context.Background(), OIDCCallback{State: "s", Code: "c", BrowserState: "s"})
	wantCode(t, err, apperr.NotFound)
}
