package app

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/token"
)

func TestRegister(t *testing.T) {
	eachStore(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		valid := Registration{Client: "198.51.100.7", Email: " Ada@Example.com ", Password: "correct horse", Name: " Ada "}
		if err := b.Accounts.Register(ctx, valid); err != nil {
			t.Fatal(err)
		}
		t.Run("the account is stored normalized with a hashed password", func(t *testing.T) {
			u, err := b.st.UserByEmail(ctx, "ada@example.com")
			if err != nil || u.Name != "Ada" || u.PasswordHash != "plain:correct horse" {
				t.Fatalf("stored %+v, %v", u, err)
			}
		})
		t.Run("the attempt counts against the client's address", func(t *testing.T) {
			if !slices.Contains(b.limiter.keys, "auth:ip:198.51.100.7") {
				t.Fatalf("limiter keys = %v", b.limiter.keys)
			}
		})
		// Regression: issue 13 L6 (a taken email was a 409, so registration told anyone
		// which emails have accounts).
		t.Run("a taken email answers as a new one would, after the same work, and changes nothing", func(t *testing.T) {
			hashes := b.hasher.hashes
			err := b.Accounts.Register(ctx, Registration{Client: "203.0.113.5", Email: "ADA@example.com", Password: "squatter password", Name: "Eve"})
			if err != nil || b.hasher.hashes != hashes+1 {
				t.Fatalf("Register = %v after %d hashes; want nil after one, as for a new email", err, b.hasher.hashes-hashes)
			}
			u, err := b.st.UserByEmail(ctx, "ada@example.com")
			if err != nil || u.Name != "Ada" || u.PasswordHash != "plain:correct horse" {
				t.Fatalf("the existing account became %+v, %v", u, err)
			}
		})
		tests := []struct {
			name string
			edit func(*Registration)
			code apperr.Code
		}{
			{"a malformed email is invalid", func(r *Registration) { r.Email = "ada" }, apperr.Invalid},
			{"a short password is invalid", func(r *Registration) { r.Email, r.Password = "b@example.com", "short" }, apperr.Invalid},
			{"an empty name is invalid", func(r *Registration) { r.Email, r.Name = "c@example.com", " " }, apperr.Invalid},
			{"a limited address is refused before anything else", func(r *Registration) { r.Client, r.Email = "203.0.113.9", "ada" }, apperr.RateLimited},
		}
		b.limiter.deny["auth:ip:203.0.113.9"] = true
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				in := valid
				tt.edit(&in)
				hashes := b.hasher.hashes
				err := b.Accounts.Register(ctx, in)
				wantCode(t, err, tt.code)
				if b.hasher.hashes != hashes {
					t.Fatal("a refused registration hashed the password")
				}
			})
		}
	})
}

func TestSignIn(t *testing.T) {
	eachStore(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		ada, _ := b.account(t, "Ada")
		if _, err := b.st.CreateUser(ctx, oidcOnlyUser()); err != nil {
			t.Fatal(err)
		}

		t.Run("the right password signs in", func(t *testing.T) {
			sess, err := b.Accounts.SignIn(ctx, PasswordSignIn{Client: "c", Email: "ADA@example.test", Password: "password-Ada"})
			if err != nil || sess.User.ID != ada.ID {
				t.Fatalf("SignIn = %+v, %v", sess.User, err)
			}
		})
		refusals := []struct{ name, email, password string }{
			{"a wrong password is refused", "ada@example.test", "password-Bob"},
			{"an unknown email is refused alike", "nobody@example.test", "password-Ada"},
			{"an account without a password is refused alike", "grace@example.test", "anything"},
			{"a malformed email is refused alike", "not an email", "password-Ada"},
		}
		for _, tt := range refusals {
			t.Run(tt.name, func(t *testing.T) {
				work := b.hasher.hashes + b.hasher.checks
				_, err := b.Accounts.SignIn(ctx, PasswordSignIn{Client: "c", Email: tt.email, Password: tt.password})
				wantCode(t, err, apperr.Unauthorized)
				if apperr.MessageOf(err) != "email or password is wrong" {
					t.Fatalf("message %q tells refusals apart", apperr.MessageOf(err))
				}
				if tt.email != "not an email" && b.hasher.hashes+b.hasher.checks != work+1 {
					t.Fatal("the refusal did not cost one hash, so its timing tells refusals apart")
				}
			})
		}
		t.Run("attempts count per normalized email, existing or not", func(t *testing.T) {
			b.limiter.deny["auth:account:ada@example.test"] = true
			defer delete(b.limiter.deny, "auth:account:ada@example.test")
			_, err := b.Accounts.SignIn(ctx, PasswordSignIn{Client: "elsewhere", Email: " Ada@Example.test", Password: "password-Ada"})
			wantCode(t, err, apperr.RateLimited)
			if !slices.Contains(b.limiter.keys, "auth:account:nobody@example.test") {
				t.Fatalf("unknown emails were not counted: %v", b.limiter.keys)
			}
		})
		// Regression: issue 13 M7 (failures from anywhere locked the owner out).
		t.Run("an address the account signed in from is spared the per-account limit", func(t *testing.T) {
			b.limiter.deny["auth:account:ada@example.test"] = true
			defer delete(b.limiter.deny, "auth:account:ada@example.test")
			sess, err := b.Accounts.SignIn(ctx, PasswordSignIn{Client: "c", Email: "ada@example.test", Password: "password-Ada"})
			if err != nil || sess.User.ID != ada.ID {
				t.Fatalf("SignIn from the owner's address = %+v, %v", sess.User, err)
			}
		})
		t.Run("the limit per account and address holds at known addresses too", func(t *testing.T) {
			key := "auth:account-ip:ada@example.test|c"
			b.limiter.deny[key] = true
			defer delete(b.limiter.deny, key)
			_, err := b.Accounts.SignIn(ctx, PasswordSignIn{Client: "c", Email: "ada@example.test", Password: "password-Ada"})
			wantCode(t, err, apperr.RateLimited)
		})
		t.Run("a wrong password does not make an address known", func(t *testing.T) {
			_, _ = b.Accounts.SignIn(ctx, PasswordSignIn{Client: "guesser", Email: "ada@example.test", Password: "wrong one"})
			if known, err := b.st.SignInAddressKnown(ctx, ada.ID, "guesser", b.now); err != nil || known {
				t.Fatalf("SignInAddressKnown = %v, %v", known, err)
			}
		})
	})
}

func TestMe(t *testing.T) {
	eachStore(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		ada, adaCaller := b.account(t, "Ada")
		tests := []struct {
			name   string
			caller Caller
			code   apperr.Code
		}{
			{"a signed-in account gets itself", adaCaller, ""},
			{"an anonymous caller must sign in", Caller{}, apperr.Unauthorized},
			{"a member token is not an account", Bearer(token.Claims{Subject: uuid.NewString(), Kind: token.KindMember}), apperr.Unauthorized},
			{"a deleted account is no longer signed in", Bearer(token.Claims{Subject: uuid.NewString(), Kind: token.KindAccess}), apperr.Unauthorized},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				u, err := b.Accounts.Me(ctx, tt.caller)
				wantCode(t, err, tt.code)
				if err == nil && u.ID != ada.ID {
					t.Fatalf("Me = %+v", u)
				}
			})
		}
	})
}
